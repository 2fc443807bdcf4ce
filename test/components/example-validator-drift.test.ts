import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ANOMALIES_FILE_NAME, ExampleAnomaliesSchema, type ExampleAnomalies, type FeatureComparison } from '../../components/example-validator/payload';
import { ExampleValidator } from '../../components/example-validator/spec';
import { ExampleGen } from '../../components/example-gen/spec';
import { SchemaGen } from '../../components/schema-gen/spec';
import { SCHEMA_FILE_NAME, type SchemaPayload } from '../../components/schema-gen/payload';
import { StatisticsGen } from '../../components/statistics-gen/spec';
import { pipeline } from '../../dsl/compile';
import { startTestStack, type TestStack } from '../pipeline/harness';
import { runExecutorForTest, type TestArtifact } from '../support/executor-harness';
import { tempDir } from '../support/tmp';
import { rejects } from '../support/user-input-errors';
import { readAnomalies, statisticsOf, type Penguin } from './example-validator-drift-inputs';
import { readParquet } from './parquet-rows';
import { vegaFile } from './vega-data';

const MEASURED = ['Island', 'Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Body Mass (g)', 'Sex', 'Species'];

/** The train split's body masses, from the Examples' Parquet. */
async function massesOf(examplesDir: string): Promise<number[]> {
  const rows = await readParquet(path.join(examplesDir, 'Split-train', '*.parquet'), '"Body Mass (g)" AS m');
  return rows.map((r) => r.m).filter((m): m is number => m !== null).map(Number);
}

/** ∫|F − G| of two samples' empirical CDFs, walking their sorted union. */
function wasserstein1(a: number[], b: number[]): number {
  const xs = [...a, ...b].sort((x, y) => x - y);
  const below = (sorted: number[], x: number) => sorted.filter((v) => v <= x).length / sorted.length;
  let w = 0;
  for (let i = 0; i + 1 < xs.length; i++) w += Math.abs(below(a, xs[i]!) - below(b, xs[i]!)) * (xs[i + 1]! - xs[i]!);
  return w;
}

function populationStd(xs: number[]): number {
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  return Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length);
}

const comparisonOf = (payload: ExampleAnomalies, feature: string): FeatureComparison => payload.comparisons!.find((c) => c.feature === feature)!;

describe('ExampleValidator skew on real data', function () {
  let penguins: Penguin[];
  let resplit: { examples: string; statistics: TestArtifact; schema: TestArtifact };
  let schema: SchemaPayload;

  before(async () => {
    penguins = JSON.parse(await readFile(vegaFile('penguins.json'), 'utf8')) as Penguin[];
    resplit = await statisticsOf(penguins, 'skew-resplit');
    schema = JSON.parse(await readFile(path.join(resplit.schema.localDir, SCHEMA_FILE_NAME), 'utf8')) as SchemaPayload;
  });

  it("SchemaGen writes the default thresholds: TFDV's two on categorical features, JSD, PSI and Wasserstein on numeric ones", () => {
    const island = schema.features.find((f) => f.name === 'Island')!;
    const mass = schema.features.find((f) => f.name === 'Body Mass (g)')!;
    const expectedCategorical = { infinityNorm: { threshold: 0.2 }, jensenShannonDivergence: { threshold: 0.1 }, populationStabilityIndex: { threshold: 0.35 } };
    const expectedNumeric = { jensenShannonDivergence: { threshold: 0.1 }, populationStabilityIndex: { threshold: 0.35 }, normalizedWasserstein: { threshold: 0.35 } };
    assert.deepEqual([island.skewComparator, island.driftComparator], [expectedCategorical, expectedCategorical]);
    assert.deepEqual([mass.skewComparator, mass.driftComparator], [expectedNumeric, expectedNumeric]);
  });

  it('a random re-split (ExampleGen hash split of penguins): every measure recorded, no skew anomaly, the small sample of Sex flagged', async () => {
    const run = await runExecutorForTest(ExampleValidator, {
      parameters: { skew: { baseline: 'train', compare: ['eval'] } },
      inputs: { statistics: [resplit.statistics], schema: [resplit.schema] },
    });
    const payload = await readAnomalies(run.outputDirs.anomalies!);
    assert.deepEqual(payload.splits.flatMap((s) => s.anomalies), [], 'no anomaly of any kind');
    assert.equal(run.result.block, undefined);
    assert.deepEqual(payload.comparisons!.map((c) => c.feature).sort(), [...MEASURED].sort());
    const island = comparisonOf(payload, 'Island');
    assert.deepEqual(Object.keys(island.measures), ['infinityNorm', 'jensenShannonDivergence', 'populationStabilityIndex', 'chiSquare']);
    assert.equal(island.measures.infinityNorm!.source, 'exact value counts');
    assert.equal(island.measures.infinityNorm!.threshold, 0.2);
    const mass = comparisonOf(payload, 'Body Mass (g)');
    assert.deepEqual(Object.keys(mass.measures), ['jensenShannonDivergence', 'populationStabilityIndex', 'normalizedWasserstein', 'kolmogorovSmirnov']);
    assert.ok(mass.measures.kolmogorovSmirnov!.pValue! > 0.05, `a re-split is not a different distribution: p ${mass.measures.kolmogorovSmirnov!.pValue}`);
    assert.equal(mass.smallSample, false);
    // Sex has one '.' among 334 values: its cells expect under 5, more than Cochran's rule allows.
    const sex = comparisonOf(payload, 'Sex');
    assert.deepEqual([sex.smallSample, sex.smallSampleReasons], [true, ["33% of the chi-square table's expected counts are below 5 (Cochran's rule allows 20%)"]]);
    for (const c of payload.comparisons!) {
      assert.deepEqual([c.kind, c.baseline, c.compared], ['skew', { statistics: 'statistics', split: 'train', span: 0 }, { statistics: 'statistics', split: 'eval', span: 0 }]);
      for (const [name, m] of Object.entries(c.measures)) assert.ok(m.value !== null && Number.isFinite(m.value), `${c.feature} ${name}: ${m.value}`);
    }
  });

  it('skewStatistics with Body Mass +20%: COMPARATOR anomalies name Body Mass and no other feature, W1 as computed from the rows', async () => {
    const shifted = await statisticsOf(penguins.map((p) => ({ ...p, 'Body Mass (g)': p['Body Mass (g)'] === null ? null : Number(p['Body Mass (g)']) * 1.2 })), 'skew-shifted');
    // skewStatistics: the shifted penguins, each of its splits against train of the unshifted ones.
    const run = await runExecutorForTest(ExampleValidator, {
      parameters: { skew: {} },
      inputs: { statistics: [resplit.statistics], schema: [resplit.schema], skewStatistics: [shifted.statistics] },
    });
    const payload = await readAnomalies(run.outputDirs.anomalies!);
    const anomalies = payload.splits.flatMap((s) => s.anomalies);
    assert.deepEqual(new Set(anomalies.map((a) => a.feature)), new Set(['Body Mass (g)']));
    assert.deepEqual(
      anomalies.filter((a) => a.comparedWith === 'split train' && a.description.includes('split eval of skewStatistics')).map((a) => a.kind),
      ['COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH', 'COMPARATOR_POPULATION_STABILITY_INDEX_HIGH', 'COMPARATOR_NORMALIZED_WASSERSTEIN_HIGH'],
    );
    assert.deepEqual(new Set(anomalies.map((a) => a.split)), new Set(['train']), 'skew against skewStatistics: anomalies on the baseline split');
    const mass = payload.comparisons!.find((c) => c.feature === 'Body Mass (g)' && c.compared.split === 'train')!;
    // Independently: W1 of the two splits' rows as read from the Examples, by sorting, over the baseline's std.
    const [before, after] = await Promise.all([resplit.examples, shifted.examples].map((dir) => massesOf(dir)));
    const expected = wasserstein1(before, after) / populationStd(before);
    assert.ok(Math.abs(mass.measures.normalizedWasserstein!.value! - expected) < 1e-9, `${mass.measures.normalizedWasserstein!.value} vs ${expected}`);
    assert.equal(mass.measures.normalizedWasserstein!.source, 'exact value counts');
    assert.deepEqual(mass.values, { baseline: before.length, compared: after.length });
    assert.ok(mass.measures.kolmogorovSmirnov!.pValue! < 1e-6);
    assert.match(anomalies[0]!.description, /^Body Mass \(g\): the approximate Jensen-Shannon divergence between split \w+ of skewStatistics and split train is [\d.]+, above the threshold 0\.1 \(skewComparator\.jensenShannonDivergence\); from exact value counts in the STANDARD histograms' aligned buckets$/);
  });

  it('refuses a skew baseline or compared split the statistics lack', async () => {
    await rejects(
      runExecutorForTest(ExampleValidator, { parameters: { skew: { baseline: 'training' } }, inputs: { statistics: [resplit.statistics], schema: [resplit.schema] } }),
      /ExampleValidator skew\.baseline: the statistics have no split "training" \(they have train, eval\)/,
    );
    await rejects(
      runExecutorForTest(ExampleValidator, { parameters: { skew: { compare: ['serving'] } }, inputs: { statistics: [resplit.statistics], schema: [resplit.schema] } }),
      /ExampleValidator skew\.compare: the statistics have no split "serving" \(they have train, eval\)/,
    );
  });
});

async function writeSpan(dir: string, span: number, rows: Penguin[]): Promise<void> {
  await mkdir(path.join(dir, `span-${span}`), { recursive: true });
  await writeFile(path.join(dir, `span-${span}`, 'rows.json'), JSON.stringify(rows));
}

describe('ExampleValidator drift through the pipeline: the previous span found in the metadata store', function () {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack();
    await stack.addWorkers(['control', 'cpu']);
  });
  after(() => stack?.stop());

  it('span 1 has nothing to compare with; span 2, Beak Length +20% and a third fewer rows: drift named on Beak Length and the row count, nothing else', async () => {
    // Penguins measured in full, so that span 2 holds no gap or value span 1's frozen schema has not seen.
    const penguins = (JSON.parse(await readFile(vegaFile('penguins.json'), 'utf8')) as Penguin[]).filter((p) => Object.values(p).every((v) => v !== null && v !== '.'));
    const dir = await tempDir('drift-spans');
    const definition = () => {
      const examples = ExampleGen('example_gen', { parameters: { input: path.join(dir, 'span-{SPAN}', '*.json') } });
      const statistics = StatisticsGen('statistics_gen', { inputs: { examples: examples.outputs.examples } });
      const schema = SchemaGen('schema_gen', {
        parameters: { freeze: true, label: 'Species', datasetConstraints: { numExamplesDriftComparator: { minFractionThreshold: 0.8, maxFractionThreshold: 1.25 } } },
        inputs: { statistics: statistics.outputs.statistics },
      });
      const validator = ExampleValidator('example_validator', { parameters: { splits: ['train'], drift: {} }, inputs: { statistics: statistics.outputs.statistics, schema: schema.outputs.schema } });
      return pipeline({ name: 'drifting', nodes: [examples, statistics, schema, validator] });
    };
    // The file lists penguins by species: every fifth row's place decides the span, so both spans hold every species.
    await writeSpan(dir, 1, penguins.filter((_, i) => i % 5 < 3));
    const first = await stack.run(definition());
    assert.equal(first.status.state, 'succeeded', first.error);
    assert.deepEqual(first.status.nodes.example_validator!.summary?.comparisonNotes, ['drift: no earlier span of this pipeline has statistics (this is span 1); nothing to compare with']);

    const shifted = penguins.filter((_, i) => i % 5 >= 3).map((p) => ({ ...p, 'Beak Length (mm)': p['Beak Length (mm)'] === null ? null : Number(p['Beak Length (mm)']) * 1.2 }));
    await writeSpan(dir, 2, shifted);
    const second = await stack.run(definition());
    assert.equal(second.status.nodes.example_validator!.state, 'blocked', second.error);
    const [uri] = second.status.nodes.example_validator!.outputs!.anomalies!;
    const payload = ExampleAnomaliesSchema.parse(JSON.parse((await stack.store.getObjectBuffer(`${stack.store.keyFor(uri!)}/${ANOMALIES_FILE_NAME}`)).toString('utf8')));
    const anomalies = payload.splits.flatMap((s) => s.anomalies);
    assert.deepEqual(
      anomalies.map((a) => [a.kind, a.feature, a.comparedWith]),
      [
        ['COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH', 'Beak Length (mm)', 'split train of the previous span (1)'],
        ['COMPARATOR_POPULATION_STABILITY_INDEX_HIGH', 'Beak Length (mm)', 'split train of the previous span (1)'],
        ['COMPARATOR_NORMALIZED_WASSERSTEIN_HIGH', 'Beak Length (mm)', 'split train of the previous span (1)'],
        ['COMPARATOR_LOW_NUM_EXAMPLES', null, 'split train of the previous span (1)'],
      ],
    );
    const firstStatistics = first.status.nodes.statistics_gen!.outputs!.statistics![0]!;
    assert.deepEqual(payload.comparisons!.map((c) => [c.kind, c.feature, c.baseline, c.compared]).slice(0, 1), [
      ['drift', 'Species', { statistics: 'previousSpan', split: 'train', span: 1, uri: firstStatistics }, { statistics: 'statistics', split: 'train', span: 2 }],
    ]);
    const [counts] = payload.datasetComparisons!;
    assert.equal(counts!.ratio, counts!.numExamples / counts!.baselineNumExamples);
    assert.ok(counts!.ratio! < 0.8);

    const run = await stack.metadata.getRun((await second.handle.describe()).runId);
    const execution = run!.executions.find((e) => e.nodeId === 'example_validator')!;
    assert.deepEqual(execution.inputs.previousSpan?.map((a) => a.uri), [firstStatistics], "lineage: the previous span's statistics are an input of the drift check");
  });
});
