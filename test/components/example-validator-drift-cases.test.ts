import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { compareDatasets } from '../../components/example-validator/drift/comparisons';
import type { ComparedData, ExampleAnomalies, FeatureComparison } from '../../components/example-validator/payload';
import { ExampleValidator } from '../../components/example-validator/spec';
import { withDuckDb } from '../../components/data/duckdb-session';
import { sqlString } from '../../components/data/sql';
import { SCHEMA_FILE_NAME, type SchemaPayload } from '../../components/schema-gen/payload';
import { writeSchemaArtifact } from '../../components/schema-gen/schema-file';
import { finalizeStatistics } from '../../components/statistics-gen/finalize';
import { PARTIAL_STATISTICS_FILE_NAME, TOP_SUMMARY_SIZE, VALUE_COUNT_CAP } from '../../components/statistics-gen/partial-statistics';
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

describe('ExampleValidator skew beyond the exact-count cap: numeric measures from the statistics histograms', function () {
  /** Within the production cap every value of a 10,000-row split is counted; at 150 both columns are sketched. */
  const EXACT: Cut = { valueCountCap: VALUE_COUNT_CAP, topSummarySize: TOP_SUMMARY_SIZE };
  const SKETCHED: Cut = { valueCountCap: 150, topSummarySize: 40 };
  const FEATURES = ['delay', 'distance'];
  let file: string;
  let schema: string;

  before(async () => {
    file = await flightsSample(20_000, 'drift-histograms');
    schema = await tempDir('drift-histograms-schema');
    await writeSchemaArtifact(schema, { version: 1, features: FEATURES.map((name) => ({ name, type: 'INT' as const })) });
  });

  /**
   * Statistics of the first 10,000 flights (train), the next 10,000 (eval: an afternoon later) and
   * those with delays 10 minutes longer and distances 20% longer (shifted), as StatisticsGen writes
   * them with `cut`, then the skew of eval and shifted against train.
   */
  async function skewWith(cut: Cut): Promise<Map<string, FeatureComparison>> {
    const dir = await tempDir('drift-histograms-statistics');
    const splits = [
      { name: 'train', relationSql: rowRangeSql(file, [0, 10_000], 'delay, distance') },
      { name: 'eval', relationSql: rowRangeSql(file, [10_000, 20_000], 'delay, distance') },
      { name: 'shifted', relationSql: rowRangeSql(file, [10_000, 20_000], 'delay + 10 AS delay, CAST(round(distance * 1.2) AS BIGINT) AS distance') },
    ];
    const partial = await withDuckDb({ tmpDir: dir, signal: new AbortController().signal }, (db) => partialStatisticsOf(db, splits, cut));
    await writeFile(path.join(dir, PARTIAL_STATISTICS_FILE_NAME), JSON.stringify(partial));
    await writeFile(path.join(dir, STATISTICS_FILE_NAME), JSON.stringify(finalizeStatistics(partial, StatisticsGenParametersSchema.parse({}))));
    const run = await runExecutorForTest(ExampleValidator, { parameters: { skew: { baseline: 'train', compare: ['eval', 'shifted'] } }, inputs: { statistics: [dir], schema: [schema] } });
    const { comparisons } = await readAnomalies(run.outputDirs.anomalies!);
    return new Map(comparisons!.map((c) => [`${c.feature} ${c.compared.split}`, c]));
  }

  it('every measure says it comes from the histograms; Kolmogorov-Smirnov within 0.02 of the exact counts on the same rows', async () => {
    const [exact, sketched] = [await skewWith(EXACT), await skewWith(SKETCHED)];
    assert.equal(sketched.size, 4);
    for (const [key, h] of sketched) {
      const e = exact.get(key)!;
      const sources = (c: FeatureComparison) => Object.values(c.measures).map((m) => m.source);
      assert.deepEqual(sources(e), ["exact value counts in the STANDARD histograms' aligned buckets", 'exact value counts', 'exact value counts', 'exact value counts'], key);
      assert.deepEqual(sources(h), ['STANDARD histograms', 'QUANTILES histograms', 'QUANTILES histograms', 'QUANTILES histograms'], key);
      // A QUANTILES histogram holds each split's deciles (from its DDSketch, values within 1%) with the
      // CDF taken as linear between them, so each side's CDF is off at most by how unevenly a tenth of
      // the values lies within one bucket; a fifth of that tenth covers delay and distance, whose
      // buckets hold no spike of a tenth (measured: at most 0.017 on re-splits and shifts of this sample).
      // PSI and W1 are held to no tolerance: spreading a tenth of the values evenly over delay's top
      // decile (46 to 1,191 minutes) makes W1 of a re-split 0.44 where the exact counts give 0.02.
      const [ks, exactKs] = [h.measures.kolmogorovSmirnov!.value!, e.measures.kolmogorovSmirnov!.value!];
      assert.ok(Math.abs(ks - exactKs) <= 0.02, `${key}: KS ${ks} from the histograms, ${exactKs} exact`);
    }
    assert.ok(exact.get('delay shifted')!.measures.kolmogorovSmirnov!.value! > 0.2, 'the shift is one KS sees, far beyond the tolerance');
  });
});
