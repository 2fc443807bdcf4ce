import assert from 'node:assert/strict';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { compareDatasets, type DatasetSide } from '../../components/example-validator/drift/comparisons';
import type { ComparedData, ExampleAnomalies, FeatureComparison } from '../../components/example-validator/payload';
import { ExampleValidator } from '../../components/example-validator/spec';
import { withDuckDb } from '../../components/data/duckdb-session';
import { sqlString } from '../../components/data/sql';
import { SCHEMA_FILE_NAME, type SchemaPayload } from '../../components/schema-gen/payload';
import { DEFAULT_COMPARATOR_THRESHOLDS } from '../../components/schema-gen/infer-schema';
import { writeSchemaArtifact } from '../../components/schema-gen/schema-file';
import { finalizeStatistics } from '../../components/statistics-gen/finalize';
import { PARTIAL_STATISTICS_FILE_NAME, TOP_SUMMARY_SIZE, VALUE_COUNT_CAP, type PartialStatistics } from '../../components/statistics-gen/partial-statistics';
import { DDSKETCH_RELATIVE_ACCURACY, ddsketchIndexOf } from '../../components/statistics-gen/sketches/ddsketch';
import { STATISTICS_FILE_NAME, type SplitStatistics } from '../../components/statistics-gen/payload';
import { StatisticsGenParametersSchema } from '../../components/statistics-gen/spec';
import { runExecutorForTest, type TestArtifact } from '../support/executor-harness';
import { tempDir } from '../support/tmp';
import { readAnomalies, statisticsOf, type Penguin } from './example-validator-drift-inputs';
import { openTestDb, splitStatistics } from './example-validator-statistics';
import { flightsSample, partialStatisticsOf, rowRangeSql, type Cut } from './partial-statistics-sample';
import { vegaFile } from './vega-data';

describe('ExampleValidator drift: rows of this span over the previous span (datasetConstraints.numExamplesDriftComparator)', function () {
  const previous: ComparedData = { statistics: 'previousSpan', split: 'train', span: 1, uri: 'file:///statistics/span-1' };
  const current: ComparedData = { statistics: 'statistics', split: 'train', span: 2 };
  let firstRows: (n: number) => Promise<SplitStatistics>;
  let closeDb: (() => void) | undefined;

  before(async () => {
    const test = await openTestDb();
    closeDb = test.close;
    await test.db.run(`CREATE TABLE penguins AS SELECT * FROM read_json(${sqlString(vegaFile('penguins.json'))})`);
    firstRows = (n) => splitStatistics(test.db, 'train', `(SELECT * FROM penguins LIMIT ${n})`);
  });
  after(() => closeDb?.());

  /** Span 1 with `before` penguins, span 2 with `now`, compared under `limits` as the executor's drift does. */
  async function drift(limits: { minFractionThreshold?: number; maxFractionThreshold?: number }, before: number, now: number) {
    const schema: SchemaPayload = { version: 1, features: [], datasetConstraints: { numExamplesDriftComparator: limits } };
    return compareDatasets(schema, 'drift', { data: previous, split: await firstRows(before), partial: undefined }, { data: current, split: await firstRows(now), partial: undefined });
  }
  const comparedWith = 'split train of the previous span (1)';

  it('COMPARATOR_HIGH_NUM_EXAMPLES above maxFractionThreshold, with both counts, the ratio and the threshold; not at or just under it', async () => {
    const far = await drift({ maxFractionThreshold: 1.5 }, 100, 344);
    assert.deepEqual(far.findings, [
      {
        kind: 'COMPARATOR_HIGH_NUM_EXAMPLES',
        feature: null,
        comparedWith,
        description: `split train has 344 rows, ${comparedWith} 100: a ratio of 3.44, above the threshold 1.5 (datasetConstraints.numExamplesDriftComparator.maxFractionThreshold)`,
      },
    ]);
    assert.deepEqual(far.dataset, { kind: 'drift', baseline: previous, compared: current, baselineNumExamples: 100, numExamples: 344, ratio: 3.44, maxFractionThreshold: 1.5 });
    assert.match((await drift({ maxFractionThreshold: 1.5 }, 200, 301)).findings[0]?.description ?? '', /: a ratio of 1\.505, above the threshold 1\.5 /);
    for (const now of [300, 299]) assert.deepEqual((await drift({ maxFractionThreshold: 1.5 }, 200, now)).findings, [], `${now} rows after 200: a ratio of ${now / 200}`);
  });

  it('COMPARATOR_LOW_NUM_EXAMPLES below minFractionThreshold; not at it; a previous span of no rows is HIGH only', async () => {
    assert.deepEqual((await drift({ minFractionThreshold: 0.75 }, 344, 100)).findings, [
      {
        kind: 'COMPARATOR_LOW_NUM_EXAMPLES',
        feature: null,
        comparedWith,
        description: `split train has 100 rows, ${comparedWith} 344: a ratio of 0.290698, below the threshold 0.75 (datasetConstraints.numExamplesDriftComparator.minFractionThreshold)`,
      },
    ]);
    assert.deepEqual((await drift({ minFractionThreshold: 0.75 }, 200, 149)).findings.map((f) => f.kind), ['COMPARATOR_LOW_NUM_EXAMPLES']);
    assert.deepEqual((await drift({ minFractionThreshold: 0.75, maxFractionThreshold: 1.5 }, 200, 150)).findings, [], 'a ratio of 0.75 is not below 0.75');
    // TFDV (dataset_constraints_util.cc): with no rows before, HIGH whenever a max is set, and no ratio to be LOW.
    const empty = await drift({ minFractionThreshold: 0.75, maxFractionThreshold: 1.5 }, 0, 301);
    assert.deepEqual(
      empty.findings.map((f) => [f.kind, f.description]),
      [['COMPARATOR_HIGH_NUM_EXAMPLES', `split train has 301 rows, ${comparedWith} 0: the previous span has none (datasetConstraints.numExamplesDriftComparator.maxFractionThreshold)`]],
    );
    assert.equal(empty.dataset?.ratio, null);
  });
});

describe('ExampleValidator skew: a schema feature the baseline lacks (COMPARATOR_CONTROL_DATA_MISSING)', function () {
  const DEPTH = 'Beak Depth (mm)';
  let penguins: Penguin[];
  let full: Awaited<ReturnType<typeof statisticsOf>>;
  let withoutDepth: Awaited<ReturnType<typeof statisticsOf>>;

  before(async () => {
    penguins = JSON.parse(await readFile(vegaFile('penguins.json'), 'utf8')) as Penguin[];
    full = await statisticsOf(penguins, 'control-full');
    withoutDepth = await statisticsOf(
      penguins.map(({ [DEPTH]: _, ...rest }) => rest),
      'control-without-depth',
    );
  });

  /** Skew of every split of the full penguins' statistics against train of the penguins without Beak Depth. */
  async function skewAgainstBaselineWithoutDepth(schema: TestArtifact): Promise<ExampleAnomalies> {
    const run = await runExecutorForTest(ExampleValidator, { parameters: { skew: {} }, inputs: { statistics: [withoutDepth.statistics], schema: [schema], skewStatistics: [full.statistics] } });
    return readAnomalies(run.outputDirs.anomalies!);
  }
  const comparatorAnomalies = (payload: ExampleAnomalies) => payload.splits.flatMap((s) => s.anomalies).filter((a) => a.kind.startsWith('COMPARATOR_'));
  const comparedFeatures = (payload: ExampleAnomalies, split: string) => payload.comparisons!.filter((c: FeatureComparison) => c.compared.split === split).map((c) => c.feature).sort();
  const others = () => Object.keys(penguins[0]!).filter((f) => f !== DEPTH).sort();

  it("TFDV's condition (g3doc/anomalies.md): the control data is there, lacks the feature, and the schema sets a threshold on it: one anomaly per compared split, naming the feature", async () => {
    const schema = JSON.parse(await readFile(path.join(full.schema.localDir, SCHEMA_FILE_NAME), 'utf8')) as SchemaPayload;
    assert.ok(schema.features.find((f) => f.name === DEPTH)?.skewComparator?.jensenShannonDivergence, 'SchemaGen set a skew threshold on Beak Depth');
    const payload = await skewAgainstBaselineWithoutDepth(full.schema);
    assert.deepEqual(
      comparatorAnomalies(payload).map((a) => [a.kind, a.severity, a.feature, a.split, a.comparedWith, a.description]),
      ['train', 'eval'].map((split) => [
        'COMPARATOR_CONTROL_DATA_MISSING',
        'ERROR',
        DEPTH,
        'train',
        'split train',
        `${DEPTH}: split train has no values of this feature to compare split ${split} of skewStatistics with (skewComparator)`,
      ]),
    );
    for (const split of ['train', 'eval']) assert.deepEqual(comparedFeatures(payload, split), others(), `split ${split}: every other feature compared`);
  });

  it('no anomaly when the schema sets no skew threshold on the feature (its drift thresholds do not count for skew)', async () => {
    const schema = JSON.parse(await readFile(path.join(full.schema.localDir, SCHEMA_FILE_NAME), 'utf8')) as SchemaPayload;
    const unthresholded: SchemaPayload = { ...schema, features: schema.features.map(({ skewComparator, ...f }) => (f.name === DEPTH ? f : { ...f, skewComparator })) };
    assert.ok(unthresholded.features.find((f) => f.name === DEPTH)?.driftComparator);
    const dir = await tempDir('control-unthresholded-schema');
    await writeSchemaArtifact(dir, unthresholded);
    const payload = await skewAgainstBaselineWithoutDepth({ localDir: dir });
    assert.deepEqual(comparatorAnomalies(payload), []);
    assert.deepEqual(comparedFeatures(payload, 'eval'), others());
  });
});

describe('ExampleValidator skew beyond the exact-count cap: numeric measures from the DDSketch bins', function () {
  /** Within the production cap every value of a 10,000-row split is counted; at 150 both columns are sketched. */
  const EXACT: Cut = { valueCountCap: VALUE_COUNT_CAP, topSummarySize: TOP_SUMMARY_SIZE };
  const SKETCHED: Cut = { valueCountCap: 150, topSummarySize: 40 };
  const FEATURES = ['delay', 'distance'];
  let file: string;
  let schema: string;
  let schemaPayload: SchemaPayload;
  let exact: Skew;
  let sketched: Skew;

  interface Skew {
    dir: string;
    partial: PartialStatistics;
    comparisons: Map<string, FeatureComparison>;
    anomalies: Map<string, string[]>;
  }

  before(async () => {
    file = await flightsSample(20_000, 'drift-sketches');
    schema = await tempDir('drift-sketches-schema');
    const skewComparator = {
      jensenShannonDivergence: { threshold: DEFAULT_COMPARATOR_THRESHOLDS.jensenShannonDivergence },
      populationStabilityIndex: { threshold: DEFAULT_COMPARATOR_THRESHOLDS.populationStabilityIndex },
      normalizedWasserstein: { threshold: DEFAULT_COMPARATOR_THRESHOLDS.normalizedWasserstein },
    };
    schemaPayload = { version: 1, features: FEATURES.map((name) => ({ name, type: 'INT' as const, skewComparator })) };
    await writeSchemaArtifact(schema, schemaPayload);
    [exact, sketched] = [await skewWith(EXACT), await skewWith(SKETCHED)];
  });

  const halfOf20k = (parity: 0 | 1) => `(SELECT delay, distance FROM read_parquet(${sqlString(file)}, file_row_number = true) WHERE file_row_number < 20000 AND hash(file_row_number) % 2 = ${parity})`;

  /** Skew of `compare` against `baseline` through the executor, keyed `feature split`, with the anomalies' descriptions by split. */
  async function validate(dir: string, baseline: string, compare: string[]): Promise<Pick<Skew, 'comparisons' | 'anomalies'>> {
    const run = await runExecutorForTest(ExampleValidator, { parameters: { skew: { baseline, compare } }, inputs: { statistics: [dir], schema: [schema] } });
    const result = await readAnomalies(run.outputDirs.anomalies!);
    return {
      comparisons: new Map(result.comparisons!.map((c) => [`${c.feature} ${c.compared.split}`, c])),
      anomalies: new Map(compare.map((split) => [split, result.splits.find((s) => s.name === split)!.anomalies.map((a) => a.description)])),
    };
  }

  /**
   * Statistics of the first 10,000 flights (train), the next 10,000 (eval: an afternoon later), those
   * with delays 10 minutes longer and distances 20% longer (shifted), and a random re-split of the
   * 20,000 (even, odd), as StatisticsGen writes them with `cut`; then the skew of eval and shifted
   * against train and of odd against even (skewOf).
   */
  async function skewWith(cut: Cut): Promise<Skew> {
    const dir = await tempDir('drift-sketches-statistics');
    const splits = [
      { name: 'train', relationSql: rowRangeSql(file, [0, 10_000], 'delay, distance') },
      { name: 'eval', relationSql: rowRangeSql(file, [10_000, 20_000], 'delay, distance') },
      { name: 'shifted', relationSql: rowRangeSql(file, [10_000, 20_000], 'delay + 10 AS delay, CAST(round(distance * 1.2) AS BIGINT) AS distance') },
      { name: 'even', relationSql: halfOf20k(0) },
      { name: 'odd', relationSql: halfOf20k(1) },
    ];
    const partial = await withDuckDb({ tmpDir: dir, signal: new AbortController().signal }, (db) => partialStatisticsOf(db, splits, cut));
    await writeFile(path.join(dir, PARTIAL_STATISTICS_FILE_NAME), JSON.stringify(partial));
    await writeFile(path.join(dir, STATISTICS_FILE_NAME), JSON.stringify(finalizeStatistics(partial, StatisticsGenParametersSchema.parse({}))));
    return { dir, partial, ...(await skewOf(dir)) };
  }

  /** Eval and shifted against train, odd against even. */
  async function skewOf(dir: string): Promise<Pick<Skew, 'comparisons' | 'anomalies'>> {
    const [drift, resplit] = [await validate(dir, 'train', ['eval', 'shifted']), await validate(dir, 'even', ['odd'])];
    return { comparisons: new Map([...drift.comparisons, ...resplit.comparisons]), anomalies: new Map([...drift.anomalies, ...resplit.anomalies]) };
  }

  const sources = (c: FeatureComparison) => Object.values(c.measures).map((m) => m.source);

  /** A split's finite values of a feature with their counts, from its exact counts (the cap of EXACT keeps them all). */
  const countsOf = (split: string, feature: string): Array<[number, number]> => {
    const d = exact.partial.splits.find((s) => s.name === split)!.features.find((f) => f.name === feature)!.values.distribution;
    assert.equal(d.kind, 'exact');
    return d.kind === 'exact' ? d.entries.flatMap(([, x, n]): Array<[number, number]> => (x === null ? [] : [[x, n]])) : [];
  };
  const meanOf = (counts: Array<[number, number]>, f: (x: number) => number): number => counts.reduce((s, [x, n]) => s + f(x) * n, 0) / counts.reduce((s, [, n]) => s + n, 0);

  /**
   * The largest share of a split's values that a DDSketch bin holding more than one distinct value has.
   * Where a bin holds one value, its representative only relabels that value, the same on both sides.
   */
  function largestSharedBinShare(split: string, feature: string): number {
    const counts = countsOf(split, feature);
    const total = counts.reduce((s, [, n]) => s + n, 0);
    const bins = new Map<string, { distinct: number; count: number }>();
    for (const [x, n] of counts.filter(([x]) => x !== 0)) {
      const key = `${Math.sign(x)} ${ddsketchIndexOf(x)}`;
      const bin = bins.get(key) ?? { distinct: 0, count: 0 };
      bins.set(key, { distinct: bin.distinct + 1, count: bin.count + n });
    }
    return Math.max(0, ...[...bins.values()].filter((b) => b.distinct > 1).map((b) => b.count / total));
  }

  /** α (E|X| + E|Y|) / σ_X: how far moving every value by at most α of itself can move the normalised W1. */
  function wassersteinBound(baseline: string, compared: string, feature: string): number {
    const [x, y] = [countsOf(baseline, feature), countsOf(compared, feature)];
    const mean = meanOf(x, (v) => v);
    const sigma = Math.sqrt(meanOf(x, (v) => (v - mean) ** 2));
    return (DDSKETCH_RELATIVE_ACCURACY * (meanOf(x, Math.abs) + meanOf(y, Math.abs))) / sigma;
  }

  const baselineOf = (split: string): string => (split === 'odd' ? 'even' : 'train');
  const value = (c: FeatureComparison, measure: keyof FeatureComparison['measures']): number => c.measures[measure]!.value!;

  it("every measure names the DDSketch bins and lies within the bins' error of the exact counts on the same rows", () => {
    assert.equal(sketched.comparisons.size, 6);
    const sketch = 'DDSketch bins (relative accuracy 0.01)';
    for (const [key, s] of sketched.comparisons) {
      const e = exact.comparisons.get(key)!;
      const [feature, split] = key.split(' ') as [string, string];
      assert.deepEqual(sources(e), ["exact value counts in the STANDARD histograms' aligned buckets", 'exact value counts', 'exact value counts', 'exact value counts'], key);
      assert.deepEqual(sources(s), [`${sketch} in the STANDARD histograms' aligned buckets`, sketch, sketch, sketch], key);
      const near = (measure: keyof FeatureComparison['measures'], tolerance: number) => {
        const [got, want] = [value(s, measure), value(e, measure)];
        assert.ok(Math.abs(got - want) <= tolerance, `${key}: ${measure} ${got} from the bins, ${want} exact, tolerance ${tolerance}`);
      };
      // Both CDFs from the bins equal the exact ones at every bin's edges; a bin holding one distinct
      // value only relabels it, alike on both sides, so KS can miss at most what one bin holding several
      // values has of a side (bins are 2% wide, so integers share them above 50: 2% of distance's
      // flights, 0.6% of delay's).
      const shared = Math.max(largestSharedBinShare(split, feature), largestSharedBinShare(baselineOf(split), feature));
      near('kolmogorovSmirnov', shared);
      // Each value moves by at most α of itself, so W1 by at most α (E|X| + E|Y|): 0.011 to 0.029 of σ here.
      near('normalizedWasserstein', wassersteinBound(baselineOf(split), split, feature));
      // PSI (baseline deciles) and JSD (STANDARD buckets) count values per bin of their own: only what
      // a DDSketch bin at one of their edges holds (at most `shared`) can land on the wrong side of it,
      // which moves a bin's term (q − p) ln(q / p) by about 2·shared·|q − p| / p: thousandths where the
      // sides agree, growing with the shift; measured at most 3e-4 (PSI) and 1.2e-3 (JSD, 6% of its value).
      near('populationStabilityIndex', 0.01 + 0.1 * value(e, 'populationStabilityIndex'));
      near('jensenShannonDivergence', 0.005 + 0.1 * value(e, 'jensenShannonDivergence'));
    }
  });

  it('a random re-split and the next 10,000 flights raise no anomaly at cap 150; the shift raises the ones the exact counts raise, from the bins', () => {
    assert.deepEqual(sketched.anomalies.get('odd'), []);
    assert.deepEqual(sketched.anomalies.get('eval'), []);
    const shifted = sketched.anomalies.get('shifted')!;
    assert.deepEqual(
      shifted.map((d) => d.replace(/ is [\d.]+,/, ' is …,')),
      exact.anomalies.get('shifted')!.map((d) => d.replace(/ is [\d.]+,/, ' is …,').replace('from exact value counts', 'from DDSketch bins (relative accuracy 0.01)')),
    );
    assert.deepEqual(
      shifted.map((d) => d.split(':')[0]),
      ['delay', 'delay'],
      'delay 10 minutes later moves PSI and W1 past their thresholds; distance 20% longer stays under them',
    );
  });

  it("statistics without partial_statistics.json (an older artifact): the 10-bucket histograms, the last resort, whose spreading raises false anomalies on the next 10,000 flights", async () => {
    const dir = await tempDir('drift-sketches-histograms');
    await copyFile(path.join(sketched.dir, STATISTICS_FILE_NAME), path.join(dir, STATISTICS_FILE_NAME));
    const histograms = await skewOf(dir);
    assert.equal(histograms.comparisons.size, 6);
    for (const [key, h] of histograms.comparisons) assert.deepEqual(sources(h), ['STANDARD histograms', 'QUANTILES histograms', 'QUANTILES histograms', 'QUANTILES histograms'], key);
    // Delay's top decile (46 to 1,191 minutes) spread evenly: W1 0.49 and JSD 0.11 where the exact counts give 0.12 and 0.003.
    const [h, e] = [histograms.comparisons.get('delay eval')!, exact.comparisons.get('delay eval')!];
    assert.ok(value(h, 'normalizedWasserstein') > 3 * value(e, 'normalizedWasserstein'), `W1 ${value(h, 'normalizedWasserstein')} from the histograms`);
    assert.deepEqual(
      histograms.anomalies.get('eval')!.map((d) => d.replace(/ is [\d.]+,.*/, '')),
      ['delay: the approximate Jensen-Shannon divergence between split eval and split train', 'delay: the normalized Wasserstein distance between split eval and split train'],
    );
  });

  it('an exact baseline against a sketched split: the baseline counted in DDSketch bins too, within the bins\' error of the exact counts', () => {
    const sideOf = (skew: Skew, split: string): DatasetSide => ({
      data: { statistics: 'statistics', split },
      split: finalizeStatistics(skew.partial, StatisticsGenParametersSchema.parse({})).splits.find((x) => x.name === split)!,
      partial: skew.partial.splits.find((x) => x.name === split),
    });
    const { comparisons } = compareDatasets(schemaPayload, 'skew', sideOf(exact, 'train'), sideOf(sketched, 'shifted'));
    const sketch = 'DDSketch bins (relative accuracy 0.01)';
    assert.equal(comparisons.length, 2);
    for (const c of comparisons) {
      const e = exact.comparisons.get(`${c.feature} shifted`)!;
      assert.deepEqual(sources(c), [`${sketch} in the STANDARD histograms' aligned buckets`, sketch, sketch, sketch], c.feature);
      const shared = Math.max(largestSharedBinShare('shifted', c.feature), largestSharedBinShare('train', c.feature));
      assert.ok(Math.abs(value(c, 'kolmogorovSmirnov') - value(e, 'kolmogorovSmirnov')) <= shared, `${c.feature}: KS ${value(c, 'kolmogorovSmirnov')}, ${value(e, 'kolmogorovSmirnov')} exact`);
      assert.ok(Math.abs(value(c, 'normalizedWasserstein') - value(e, 'normalizedWasserstein')) <= wassersteinBound('train', 'shifted', c.feature), `${c.feature}: W1 ${value(c, 'normalizedWasserstein')}, ${value(e, 'normalizedWasserstein')} exact`);
    }
  });
});
