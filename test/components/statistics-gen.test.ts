import assert from 'node:assert/strict';
import { rejects } from '../support/user-input-errors';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sqlString } from '../../components/data/sql';
import {
  ExampleStatisticsSchema,
  STATISTICS_FILE_NAME,
  type ExampleStatistics,
  type FeatureStatistics,
  type SplitStatistics,
} from '../../components/statistics-gen/payload';
import { ExampleGen } from '../../components/example-gen/spec';
import { StatisticsGen } from '../../components/statistics-gen/spec';
import { runExecutorForTest, type ExecutorTestRun, type TestArtifact } from '../support/executor-harness';
import { tempDir } from '../support/tmp';
import { recordKey, splitOf, type Scalar } from './hash-split-reference';
import { duckQuery } from './parquet-rows';
import { vegaFile } from './vega-data';

type Row = Record<string, Scalar>;
const PENGUINS = vegaFile('penguins.json');

async function statisticsOf(run: ExecutorTestRun): Promise<ExampleStatistics> {
  return ExampleStatisticsSchema.parse(JSON.parse(await readFile(path.join(run.outputDirs.statistics!, STATISTICS_FILE_NAME), 'utf8')));
}

function feature(split: SplitStatistics | undefined, name: string): FeatureStatistics {
  const found = split?.features.find((f) => f.name === name);
  assert.ok(found, `feature ${name} in split ${split?.name}`);
  return found;
}

/** Plain TypeScript statistics of one column, the independent side of every comparison. */
function expectedNumeric(values: Scalar[]) {
  const present = values.filter((v): v is number => v !== null).map(Number);
  const mean = present.reduce((a, b) => a + b, 0) / present.length;
  return {
    count: present.length,
    missing: values.length - present.length,
    distinct: new Set(present).size,
    min: Math.min(...present),
    max: Math.max(...present),
    mean,
    std: Math.sqrt(present.reduce((a, b) => a + (b - mean) ** 2, 0) / present.length),
  };
}

function expectedTopValues(values: Scalar[], k: number) {
  const counts = new Map<string, number>();
  for (const v of values) if (v !== null) counts.set(String(v), (counts.get(String(v)) ?? 0) + 1);
  return [...counts]
    .sort(([va, a], [vb, b]) => b - a || (va < vb ? -1 : 1))
    .slice(0, k)
    .map(([value, count]) => ({ value, count }));
}

function assertClose(actual: number | null, expected: number, what: string): void {
  assert.ok(actual !== null && Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);
}

function assertNumericFeature(f: FeatureStatistics, values: Scalar[]): void {
  assert.ok(f.type === 'INT' || f.type === 'FLOAT', `${f.name} is numeric`);
  const e = expectedNumeric(values);
  assert.equal(f.count, e.count, `${f.name} count`);
  assert.equal(f.missing, e.missing, `${f.name} missing`);
  assert.equal(f.distinct, e.distinct, `${f.name} distinct`);
  assert.equal(f.min, e.min, `${f.name} min`);
  assert.equal(f.max, e.max, `${f.name} max`);
  assertClose(f.mean, e.mean, `${f.name} mean`);
  assertClose(f.std, e.std, `${f.name} std (population)`);
}

function assertStringFeature(f: FeatureStatistics, values: Scalar[], k = 10): void {
  assert.equal(f.type, 'STRING', `${f.name} is a string feature`);
  if (f.type !== 'STRING') return;
  const present = values.filter((v): v is string => v !== null);
  assert.equal(f.count, present.length, `${f.name} count`);
  assert.equal(f.missing, values.length - present.length, `${f.name} missing`);
  assert.equal(f.distinct, new Set(present).size, `${f.name} distinct`);
  assert.deepEqual(f.topValues, expectedTopValues(values, k), `${f.name} top values`);
  assertClose(f.avgLength, present.reduce((a, s) => a + [...s].length, 0) / present.length, `${f.name} avgLength`);
}

async function runStatistics(examples: TestArtifact, parameters: { topK?: number; excludeSplits?: string[] } = {}) {
  return runExecutorForTest(StatisticsGen, { parameters, inputs: { examples: [examples] } });
}

describe('StatisticsGen', function () {
  let penguins: Row[];
  let splitExamples: ExecutorTestRun;

  before(async function () {
    penguins = JSON.parse(await readFile(PENGUINS, 'utf8')) as Row[];
    splitExamples = await runExecutorForTest(ExampleGen, { parameters: { input: PENGUINS } });
  });

  it('matches statistics computed in plain TypeScript over all of penguins.json', async function () {
    const whole = await runExecutorForTest(ExampleGen, { parameters: { input: PENGUINS, splits: [{ name: 'all', hashBuckets: 1 }] } });
    const stats = await statisticsOf(await runStatistics(whole.artifact('examples')));
    const all = stats.splits[0];
    assert.equal(all?.name, 'all');
    assert.equal(all?.numExamples, penguins.length);
    assert.deepEqual(
      all?.features.map((f) => `${f.name}:${f.type}`),
      ['Species:STRING', 'Island:STRING', 'Beak Length (mm):FLOAT', 'Beak Depth (mm):FLOAT', 'Flipper Length (mm):INT', 'Body Mass (g):INT', 'Sex:STRING'],
    );
    for (const name of ['Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Body Mass (g)']) {
      assertNumericFeature(feature(all, name), penguins.map((r) => r[name] ?? null));
    }
    for (const name of ['Species', 'Island', 'Sex']) assertStringFeature(feature(all, name), penguins.map((r) => r[name] ?? null));
    const bodyMass = feature(all, 'Body Mass (g)');
    assert.equal(bodyMass.missing, 2, 'the two all-null penguins');
  });

  it('computes each split over exactly the rows the hash split put there', async function () {
    const stats = await statisticsOf(await runStatistics(splitExamples.artifact('examples')));
    assert.deepEqual(stats.splits.map((s) => s.name), ['train', 'eval'], 'split order follows split_names');
    const splits = [
      { name: 'train', hashBuckets: 2 },
      { name: 'eval', hashBuckets: 1 },
    ];
    for (const split of stats.splits) {
      const rows = penguins.filter((r) => splitOf(recordKey(r), splits) === split.name);
      assert.equal(split.numExamples, rows.length, `${split.name} numExamples`);
      assertNumericFeature(feature(split, 'Body Mass (g)'), rows.map((r) => r['Body Mass (g)'] ?? null));
      assertStringFeature(feature(split, 'Sex'), rows.map((r) => r.Sex ?? null));
    }
    assert.deepEqual(stats.conventions, { std: 'population (ddof 0)', distinct: 'exact count of non-null values', topValues: 10 });
  });

  it('reports DATE ranges and categorical counts of seattle-weather.csv', async function () {
    const examples = await runExecutorForTest(ExampleGen, {
      parameters: { input: vegaFile('seattle-weather.csv'), splits: [{ name: 'all', hashBuckets: 1 }] },
    });
    const stats = await statisticsOf(await runStatistics(examples.artifact('examples')));
    const [header, ...lines] = (await readFile(vegaFile('seattle-weather.csv'), 'utf8')).trim().split('\n');
    const columns = header!.split(',');
    const rows = lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [columns[i]!, v])));
    const all = stats.splits[0];
    const date = feature(all, 'date');
    assert.equal(date.type, 'TEMPORAL');
    if (date.type === 'TEMPORAL') {
      const days = rows.map((r) => r.date!).sort();
      assert.equal(date.min, days[0]);
      assert.equal(date.max, days.at(-1));
      assert.equal(date.distinct, new Set(days).size);
    }
    assertStringFeature(feature(all, 'weather'), rows.map((r) => r.weather!));
    assertNumericFeature(feature(all, 'temp_max'), rows.map((r) => Number(r.temp_max)));
  });

  it('counts NaN and infinities apart, and gives booleans and nested values their own kinds', async function () {
    const dir = await tempDir('statistics-edge');
    await mkdir(path.join(dir, 'Split-all'));
    await duckQuery(
      `COPY (SELECT * FROM (VALUES (1.5::DOUBLE, true, [1, 2]), ('nan'::DOUBLE, false, NULL), ('inf'::DOUBLE, true, [3]), (NULL, NULL, [1, 2]), (-2.5, true, []))
        t(x, flag, tags)) TO ${sqlString(path.join(dir, 'Split-all', 'data-00000.parquet'))} (FORMAT parquet)`,
    );
    const [all] = (await statisticsOf(await runStatistics({ localDir: dir }))).splits;
    assert.deepEqual(feature(all, 'x'), {
      name: 'x',
      type: 'FLOAT',
      physicalType: 'DOUBLE',
      count: 4,
      missing: 1,
      distinct: 4,
      min: -2.5,
      max: 1.5,
      mean: -0.5,
      std: 2,
      nonFinite: 2,
    });
    assert.deepEqual(feature(all, 'flag'), {
      name: 'flag',
      type: 'BOOL',
      physicalType: 'BOOLEAN',
      count: 4,
      missing: 1,
      distinct: 2,
      topValues: [
        { value: 'true', count: 3 },
        { value: 'false', count: 1 },
      ],
    });
    assert.deepEqual(feature(all, 'tags'), { name: 'tags', type: 'OTHER', physicalType: 'INTEGER[]', count: 4, missing: 1, distinct: 3 });
  });

  it('gives a split that received no rows zero counts and null moments', async function () {
    const dir = await tempDir('statistics-one-row');
    const input = path.join(dir, 'one.jsonl');
    await writeFile(input, `${JSON.stringify(penguins[0])}\n`);
    const examples = await runExecutorForTest(ExampleGen, { parameters: { input } });
    const empty = [examples.result.properties?.examples?.num_examples_train, examples.result.properties?.examples?.num_examples_eval].indexOf(0);
    assert.notEqual(empty, -1, 'one row leaves one of two splits empty');
    const stats = await statisticsOf(await runStatistics(examples.artifact('examples')));
    const split = stats.splits[empty];
    assert.equal(split?.numExamples, 0);
    assert.deepEqual(feature(split, 'Body Mass (g)'), {
      name: 'Body Mass (g)',
      type: 'INT',
      physicalType: 'BIGINT',
      count: 0,
      missing: 0,
      distinct: 0,
      min: null,
      max: null,
      mean: null,
      std: null,
      nonFinite: 0,
    });
    const species = feature(split, 'Species');
    assert.deepEqual(species.type === 'STRING' ? [species.topValues, species.avgLength] : undefined, [[], null]);
  });

  it('keeps topK values and leaves out excluded splits', async function () {
    const run = await runStatistics(splitExamples.artifact('examples'), { topK: 2, excludeSplits: ['eval'] });
    const stats = await statisticsOf(run);
    assert.deepEqual(stats.splits.map((s) => s.name), ['train']);
    const species = feature(stats.splits[0], 'Species');
    assert.equal(species.type === 'STRING' ? species.topValues.length : -1, 2);
    assert.equal(stats.conventions.topValues, 2);
    assert.equal(run.result.properties?.statistics?.split_names, '["train"]');
  });

  it('reports progress per split up to completion', async function () {
    const run = await runStatistics(splitExamples.artifact('examples'));
    const last = run.progress.at(-1);
    assert.equal(last?.fraction, 1);
    assert.equal(last?.counters?.rowsRead, penguins.length);
  });

  describe('bad input', function () {
    it('no Examples on the input', async function () {
      await rejects(runExecutorForTest(StatisticsGen, {}), /needs an Examples artifact on its "examples" input/);
    });

    it('a directory without Split-<name>/ directories', async function () {
      await rejects(runStatistics({ localDir: await tempDir('statistics-empty') }), /has no split directories \(expected Split-<name>\/\)/);
    });

    it('a split without Parquet files', async function () {
      const dir = await tempDir('statistics-no-parquet');
      await mkdir(path.join(dir, 'Split-train'));
      await rejects(runStatistics({ localDir: dir }), /split "train" has no Parquet files/);
    });

    it('excludeSplits naming a split the examples do not have', async function () {
      await rejects(runStatistics(splitExamples.artifact('examples'), { excludeSplits: ['test'] }), /excludeSplits names splits the examples do not have: test \(they have train, eval\)/);
    });

    it('a topK out of range', async function () {
      await rejects(runStatistics(splitExamples.artifact('examples'), { topK: 0 }), /StatisticsGen parameters: topK: /);
    });
  });
});
