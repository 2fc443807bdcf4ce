import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ExampleGen } from '../../components/example-gen/spec';
import { SchemaGen } from '../../components/schema-gen/spec';
import { StatisticsGen } from '../../components/statistics-gen/spec';
import { bucketize, fillMissing, labelIds, scaleTo01, scaleToZScore, transform, vocabulary } from '../../components/transform/dsl';
import { TRANSFORM_IR_FILE } from '../../components/transform/executor';
import { AnalyzersFileSchema } from '../../components/transform/payload';
import {
  ANALYZERS_FILE,
  SERVING_GRAPH_FILE,
  SIGNATURE_FILE,
  TRANSFORM_GRAPH_FILE,
  TransformSignatureSchema,
} from '../../components/transform/signature';
import { Transform } from '../../components/transform/spec';
import { runExecutorForTest, type TestArtifact } from '../support/executor-harness';
import { rejects } from '../support/user-input-errors';
import { readParquet } from './parquet-rows';
import { vegaFile } from './vega-data';

const BEAK = 'Beak Length (mm)';
const FLIPPER = 'Flipper Length (mm)';
const MASS = 'Body Mass (g)';
const KINDS = { Species: 'string', Island: 'string', [BEAK]: 'number', [FLIPPER]: 'number', [MASS]: 'number', Sex: 'string' } as const;

const penguinsTransform = () =>
  transform(
    ({ f }) => ({
      beak: scaleToZScore(f[BEAK]),
      flipper: scaleTo01(fillMissing(f[FLIPPER], 'mean')),
      island: vocabulary(f.Island).oneHot(),
      sex: vocabulary(fillMissing(f.Sex, { constant: 'unknown' })).ids(),
      mass: bucketize(f[MASS], 4),
      species: labelIds(f.Species),
    }),
    KINDS,
  );

type Row = Record<string, unknown>;
const num = (v: unknown): number => (v === null || v === undefined ? NaN : Number(v));
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const f32 = Math.fround;

/** TFT's counts-then-reverse-lexicographic vocabulary, over non-missing values. */
function vocabularyOf(values: Array<string | null>): string[] {
  const counts = new Map<string, number>();
  for (const v of values) if (v !== null && v !== '') counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? 1 : -1)).map(([v]) => v);
}

describe('Transform component (executor on penguins)', function () {
  let examples: TestArtifact;
  let schema: TestArtifact;
  let train: Row[];
  let evalRows: Row[];

  before(async () => {
    const gen = await runExecutorForTest(ExampleGen, { parameters: { input: vegaFile('penguins.json') } });
    examples = gen.artifact('examples');
    const statistics = (await runExecutorForTest(StatisticsGen, { inputs: { examples: [examples] } })).artifact('statistics');
    schema = (await runExecutorForTest(SchemaGen, { parameters: { label: 'Species' }, inputs: { statistics: [statistics] } })).artifact('schema');
    const rowsOf = async (split: string) => {
      const dir = path.join(examples.localDir, `Split-${split}`);
      const files = (await readdir(dir)).filter((f) => f.endsWith('.parquet')).sort();
      return (await Promise.all(files.map((f) => readParquet(path.join(dir, f))))).flat();
    };
    train = await rowsOf('train');
    evalRows = await rowsOf('eval');
  });

  it('writes the graph, its signature and readable analyzer values, and every split transformed by the train split\'s values', async () => {
    const ir = penguinsTransform();
    const run = await runExecutorForTest(Transform, { parameters: { transform: ir }, inputs: { examples: [examples], schema: [schema] } });
    const graphDir = run.outputDirs.transformGraph!;
    assert.deepEqual((await readdir(graphDir)).sort(), [ANALYZERS_FILE, SIGNATURE_FILE, SERVING_GRAPH_FILE, TRANSFORM_GRAPH_FILE, TRANSFORM_IR_FILE].sort());
    assert.deepEqual(JSON.parse(await readFile(path.join(graphDir, TRANSFORM_IR_FILE), 'utf8')), ir);

    // Independent values from the train split's rows.
    const beaks = train.map((r) => num(r[BEAK])).filter(Number.isFinite);
    const beakMean = mean(beaks);
    const beakStd = Math.sqrt(mean(beaks.map((x) => (x - beakMean) ** 2)));
    const flippers = train.map((r) => num(r[FLIPPER])).filter(Number.isFinite);
    const flipperMean = mean(flippers);
    const islands = vocabularyOf(train.map((r) => r.Island as string | null));
    const sexes = vocabularyOf(train.map((r) => (r.Sex === null ? 'unknown' : (r.Sex as string))));
    const species = [...new Set(train.map((r) => r.Species as string))].sort();

    const analyzers = AnalyzersFileSchema.parse(JSON.parse(await readFile(path.join(graphDir, ANALYZERS_FILE), 'utf8')));
    assert.equal(analyzers.split, 'train');
    assert.equal(analyzers.rows, train.length);
    const valueOf = (analyzer: string, of: string) => {
      const found = analyzers.analyzers.find((a) => a.analyzer === analyzer && a.of === of);
      assert.ok(found, `analyzers.json has ${analyzer} of ${of}: ${JSON.stringify(analyzers.analyzers.map((a) => [a.analyzer, a.of]))}`);
      return found.value;
    };
    assert.ok(Math.abs((valueOf('mean', JSON.stringify(BEAK)) as number) - beakMean) < 1e-9 * beakMean);
    assert.ok(Math.abs((valueOf('var', JSON.stringify(BEAK)) as number) - beakStd ** 2) < 1e-9 * beakStd ** 2);
    assert.deepEqual(valueOf('vocabulary', JSON.stringify('Island')), islands);
    assert.deepEqual(valueOf('vocabulary', `fillMissing("unknown", ${JSON.stringify('Sex')})`), sexes);
    assert.deepEqual(analyzers.analyzers.find((a) => a.analyzer === 'mean' && a.of === JSON.stringify(BEAK))!.usedBy, ['beak']);

    const signature = TransformSignatureSchema.parse(JSON.parse(await readFile(path.join(graphDir, SIGNATURE_FILE), 'utf8')));
    assert.deepEqual(signature.labels, [{ output: 'species', feature: 'Species', classes: species }]);
    assert.deepEqual(
      signature.serving.outputs.map((o) => o.name),
      ['beak', 'flipper', 'island', 'sex', 'mass'],
    );
    assert.ok(!signature.serving.inputs.some((i) => i.name === 'Species'), 'serving never reads the label');
    assert.deepEqual(signature.training.outputs.find((o) => o.name === 'island')!.shape, [-1, islands.length]);

    // Every split, row by row in ExampleGen's order, transformed with the train split's values.
    const transformed = run.outputDirs.transformedExamples!;
    assert.deepEqual((await readdir(transformed)).sort(), ['Split-eval', 'Split-train']);
    assert.equal(run.result.properties?.transformedExamples?.split_names, JSON.stringify(['train', 'eval']));
    for (const [split, raw] of [['train', train], ['eval', evalRows]] as const) {
      const dir = path.join(transformed, `Split-${split}`);
      const files = (await readdir(dir)).filter((f) => f.endsWith('.parquet')).sort();
      const out = (await Promise.all(files.map((f) => readParquet(path.join(dir, f))))).flat();
      assert.equal(out.length, raw.length, `split ${split}: one transformed row per example`);
      raw.forEach((r, i) => {
        const o = out[i]!;
        const x = num(r[BEAK]);
        const beak = Number.isFinite(x) ? f32(f32(f32(x) - f32(beakMean)) / f32(beakStd)) : NaN;
        assert.ok(Object.is(f32(num(o.beak)), beak) || Math.abs(num(o.beak) - beak) <= 1e-6 * Math.abs(beak), `${split} row ${i} beak: ${o.beak} vs ${beak}`);
        const filled = Number.isFinite(num(r[FLIPPER])) ? num(r[FLIPPER]) : flipperMean;
        const unit = (filled - Math.min(...flippers)) / (Math.max(...flippers) - Math.min(...flippers));
        assert.ok(Math.abs(num(o.flipper) - unit) <= 1e-6, `${split} row ${i} flipper: ${o.flipper} vs ${unit}`);
        const islandId = islands.indexOf(r.Island as string);
        assert.deepEqual((o.island as number[]).map(Number), islands.map((_, k) => (k === islandId ? 1 : 0)), `${split} row ${i} island`);
        assert.equal(Number(o.sex), sexes.indexOf(r.Sex === null ? 'unknown' : (r.Sex as string)), `${split} row ${i} sex`);
        assert.equal(Number(o.species), species.indexOf(r.Species as string), `${split} row ${i} species`);
      });
    }
    assert.equal(run.result.summary?.rowsPerSplit && (run.result.summary.rowsPerSplit as Record<string, number>).eval, evalRows.length);
    assert.ok(run.progress.some((p) => p.message?.startsWith('transforming split eval')), 'progress names the split being transformed');
  });

  it('refuses a transform that reads a feature the schema lacks before reading any row, and an unknown split', async () => {
    const wingspan = transform(({ f }) => ({ wing: scaleToZScore(f.Wingspan) }));
    await rejects(
      runExecutorForTest(Transform, { parameters: { transform: wingspan }, inputs: { examples: [examples], schema: [schema] } }),
      /output "wing" reads feature "Wingspan", which the schema lacks/,
    );
    await rejects(
      runExecutorForTest(Transform, { parameters: { transform: penguinsTransform(), analyzeSplit: 'test' }, inputs: { examples: [examples], schema: [schema] } }),
      /analyzeSplit "test" is not a split of the examples \(they have train, eval\)/,
    );
    await rejects(
      runExecutorForTest(Transform, { parameters: { transform: penguinsTransform(), excludeSplits: ['holdout'] }, inputs: { examples: [examples], schema: [schema] } }),
      /excludeSplits names splits the examples do not have: holdout/,
    );
  });
});
