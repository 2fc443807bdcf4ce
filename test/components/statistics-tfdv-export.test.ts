import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import * as protobuf from 'protobufjs';
import type { DuckDBConnection } from '@duckdb/node-api';
import { sqlString } from '../../components/data/sql';
import { writeTfdvExport } from '../../components/statistics-gen/tfdv-export';
import { ExampleStatisticsSchema, STATISTICS_FILE_NAME, type ExampleStatistics, type FeatureStatistics, type Histogram, type SplitStatistics } from '../../components/statistics-gen/payload';
import { ExampleGen } from '../../components/example-gen/spec';
import { StatisticsGen } from '../../components/statistics-gen/spec';
import { runExecutorForTest } from '../support/executor-harness';
import { REPO_ROOT } from '../support/repo-root';
import { tempDir } from '../support/tmp';
import { openTestDb, splitStatistics, statisticsPayload } from './example-validator-statistics';
import { vegaFile } from './vega-data';

const PROTO_ROOT = path.join(REPO_ROOT, 'components/statistics-gen/proto');

/** The list message from the vendored .proto, loaded here on its own: what Facets and TFDV parse. */
function listType(): protobuf.Type {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith('google/') ? target : path.join(PROTO_ROOT, target));
  root.loadSync('tensorflow_metadata/proto/v0/statistics.proto');
  return root.lookupType('tensorflow.metadata.v0.DatasetFeatureStatisticsList');
}

/* The decoded messages, as protobufjs's toObject gives them with `longs: Number, enums: String`. */
interface DecodedHistogram {
  type?: string;
  numNan?: number;
  numUndefined?: number;
  buckets?: Array<{ lowValue?: number; highValue?: number; sampleCount?: number }>;
}
interface DecodedCommon {
  numValuesHistogram?: DecodedHistogram;
  numNonMissing?: number;
  numMissing?: number;
  minNumValues?: number;
  maxNumValues?: number;
  avgNumValues?: number;
  totNumValues?: number;
  weightedCommonStats?: { numNonMissing?: number; numMissing?: number };
}
interface DecodedFeature {
  path?: { step?: string[] };
  type?: string;
  numStats?: {
    commonStats?: DecodedCommon;
    mean?: number;
    stdDev?: number;
    numZeros?: number;
    min?: number;
    median?: number;
    max?: number;
    histograms?: DecodedHistogram[];
    weightedNumericStats?: { mean?: number; stdDev?: number; median?: number };
  };
  stringStats?: {
    commonStats?: DecodedCommon;
    unique?: number;
    topValues?: Array<{ value?: string; frequency?: number }>;
    avgLength?: number;
    rankHistogram?: { buckets?: Array<{ lowRank?: number; highRank?: number; label?: string; sampleCount?: number }> };
    weightedStringStats?: { topValues?: Array<{ value?: string; frequency?: number }> };
  };
}
interface DecodedDataset {
  name?: string;
  numExamples?: number;
  weightedNumExamples?: number;
  features?: DecodedFeature[];
}

/** proto3 leaves a frequency of 0 (a weight of 0) off the wire. */
const pairs = (values: Array<{ value?: string; frequency?: number }> | undefined) => (values ?? []).map((t) => [t.value, t.frequency ?? 0]);

function assertHistogram(actual: DecodedHistogram | undefined, expected: Histogram, what: string): void {
  assert.equal(actual?.type ?? 'STANDARD', expected.type, `${what} type`);
  assert.equal(actual?.numNan ?? 0, expected.numNan, `${what} num_nan`);
  assert.equal(actual?.numUndefined ?? 0, expected.numUndefined, `${what} num_undefined`);
  assert.deepEqual(
    (actual?.buckets ?? []).map((b) => [b.lowValue ?? 0, b.highValue ?? 0, b.sampleCount ?? 0]),
    expected.buckets.map((b) => [b.low, b.high, b.count]),
    `${what} buckets`,
  );
}

function assertCommon(actual: DecodedCommon | undefined, f: FeatureStatistics): void {
  assert.equal(actual?.numNonMissing ?? 0, f.count, `${f.name} num_non_missing`);
  assert.equal(actual?.numMissing ?? 0, f.missing, `${f.name} num_missing`);
  assert.equal(actual?.minNumValues ?? 0, f.valueCounts.min, `${f.name} min_num_values`);
  assert.equal(actual?.maxNumValues ?? 0, f.valueCounts.max, `${f.name} max_num_values`);
  assert.equal(actual?.totNumValues ?? 0, f.valueCounts.total, `${f.name} tot_num_values`);
  // avg_num_values is a proto float (32 bits).
  assert.equal(actual?.avgNumValues ?? 0, Math.fround(f.valueCounts.mean ?? 0), `${f.name} avg_num_values`);
  assertHistogram(actual?.numValuesHistogram, { type: 'QUANTILES', buckets: f.valueCounts.histogram, numNan: 0, numUndefined: 0 }, `${f.name} num_values_histogram`);
  if (f.weighted) {
    const w = actual?.weightedCommonStats;
    assert.deepEqual([w?.numNonMissing ?? 0, w?.numMissing ?? 0], [f.weighted.count, f.weighted.missing], `${f.name} weighted common stats`);
  }
}

/** Every figure of statistics.json that TFDV's proto has a field for, compared field by field. */
function assertDataset(actual: DecodedDataset, expected: { numExamples: number; weightedNumExamples?: number; features: FeatureStatistics[] }, name: string): void {
  assert.equal(actual.name, name);
  assert.equal(actual.numExamples, expected.numExamples, `${name} num_examples`);
  assert.equal(actual.weightedNumExamples ?? 0, expected.weightedNumExamples ?? 0, `${name} weighted_num_examples`);
  assert.deepEqual(actual.features?.map((f) => f.path?.step), expected.features.map((f) => [f.name]));
  expected.features.forEach((f, i) => {
    const p = actual.features![i]!;
    if (f.type === 'INT' || f.type === 'FLOAT' || f.type === 'TEMPORAL') {
      const n = f.numeric!;
      assert.equal(p.type ?? 'INT', f.type === 'FLOAT' ? 'FLOAT' : 'INT', `${f.name} type (dates as INT microseconds)`);
      const s = p.numStats!;
      assertCommon(s.commonStats, f);
      assert.deepEqual(
        // proto3 leaves zeros (and our nulls, which it cannot hold) off the wire.
        [s.mean, s.stdDev, s.min, s.median, s.max, s.numZeros].map((v) => v ?? 0),
        [n.mean, n.std, n.min, n.median, n.max, n.numZeros].map((v) => v ?? 0),
        `${f.name} mean, std_dev, min, median, max, num_zeros`,
      );
      assertHistogram(s.histograms?.[0], n.standardHistogram, `${f.name} standard histogram`);
      assertHistogram(s.histograms?.[1], n.quantilesHistogram, `${f.name} quantiles histogram`);
      if (f.weighted) {
        const w = s.weightedNumericStats;
        assert.deepEqual([w?.mean, w?.stdDev, w?.median].map((v) => v ?? 0), [f.weighted.mean, f.weighted.std, f.weighted.median].map((v) => v ?? 0), `${f.name} weighted numeric stats`);
      }
    } else {
      assert.equal(p.type, 'STRING', `${f.name} type`);
      const s = p.stringStats!;
      assertCommon(s.commonStats, f);
      assert.equal(s.unique, f.distinct, `${f.name} unique`);
      assert.equal(s.avgLength, Math.fround(f.stringLength!.mean!), `${f.name} avg_length (a proto float)`);
      assert.deepEqual(pairs(s.topValues), f.topValues.map((t) => [t.value, t.count]), `${f.name} top_values`);
      assert.deepEqual(
        s.rankHistogram?.buckets?.map((b) => [b.lowRank ?? 0, b.highRank ?? 0, b.label, b.sampleCount]),
        f.rankHistogram.map((r) => [r.rank - 1, r.rank - 1, r.value, r.count]),
        `${f.name} rank_histogram (ranks from 0, as TFDV's)`,
      );
      if (f.weighted?.topValues) {
        assert.deepEqual(pairs(s.weightedStringStats?.topValues), f.weighted.topValues.map((t) => [t.value, t.count]), `${f.name} weighted top values`);
      }
    }
  });
}

describe('StatisticsGen TFDV export: DatasetFeatureStatisticsList per split, as TFX lays it out', function () {
  let db: DuckDBConnection;
  let close: () => void;
  let statistics: ExampleStatistics;
  let outDir: string;

  /** Weighted figures by weight = Flipper Length (mm), from DuckDB: mean, population std, weighted top values. */
  async function withWeights(split: SplitStatistics, relation: string): Promise<SplitStatistics> {
    const w = '"Flipper Length (mm)"';
    const total = Number((await db.runAndReadAll(`SELECT SUM(${w}) AS s FROM ${relation}`)).getRowObjectsJS()[0]!.s);
    const features: FeatureStatistics[] = [];
    for (const f of split.features) {
      const c = `"${f.name}"`;
      const r = (await db.runAndReadAll(`SELECT SUM(${w}) FILTER (${c} IS NOT NULL) AS present, SUM(${w}) FILTER (${c} IS NULL) AS missing FROM ${relation}`)).getRowObjectsJS()[0]!;
      const weighted: NonNullable<FeatureStatistics['weighted']> = { count: Number(r.present ?? 0), missing: Number(r.missing ?? 0), mean: null, std: null, median: null, quantiles: null };
      if (f.type === 'FLOAT' || f.type === 'INT') {
        const m = (
          await db.runAndReadAll(`SELECT SUM(${w} * ${c}) / SUM(${w}) AS mean, SQRT(SUM(${w} * ${c} * ${c}) / SUM(${w}) - POW(SUM(${w} * ${c}) / SUM(${w}), 2)) AS std FROM ${relation} WHERE ${c} IS NOT NULL AND ${w} IS NOT NULL`)
        ).getRowObjectsJS()[0]!;
        Object.assign(weighted, { mean: Number(m.mean), std: Number(m.std), median: Number(m.mean) });
      } else {
        const top = (await db.runAndReadAll(`SELECT ${c} AS value, SUM(${w}) AS n FROM ${relation} WHERE ${c} IS NOT NULL GROUP BY 1 ORDER BY n DESC, value LIMIT 3`)).getRowObjectsJS();
        weighted.topValues = top.map((t) => ({ value: String(t.value), count: Number(t.n) }));
      }
      features.push({ ...f, weighted });
    }
    return { ...split, weightedNumExamples: total, features };
  }

  before(async () => {
    ({ db, close } = await openTestDb());
    await db.run(`CREATE TABLE penguins AS SELECT * FROM read_json(${sqlString(vegaFile('penguins.json'))})`);
    // eval carries NaN and ±Infinity, which the proto keeps out of the buckets (num_nan, num_undefined).
    await db.run(`CREATE TABLE penguins_eval AS SELECT * REPLACE (CASE WHEN "Body Mass (g)" > 5500 THEN 'NaN'::DOUBLE WHEN "Body Mass (g)" < 3000 THEN '-Infinity'::DOUBLE ELSE "Beak Depth (mm)" END AS "Beak Depth (mm)") FROM penguins`);
    const train = await withWeights(await splitStatistics(db, 'train', 'penguins'), 'penguins');
    const slices = [];
    for (const island of ['Biscoe', 'Dream', 'Torgersen']) {
      const rows = `(SELECT * FROM penguins WHERE Island = '${island}')`;
      const { name: _name, slices: _none, ...slice } = await splitStatistics(db, island, rows);
      slices.push({ ...slice, key: { Island: island } });
    }
    statistics = statisticsPayload([{ ...train, slices }, await splitStatistics(db, 'eval', 'penguins_eval')]);
    outDir = await tempDir('tfdv-export');
    await writeTfdvExport(outDir, statistics);
  });
  after(() => close());

  it("writes TFX's layout: Split-<name>/FeatureStats.pb and its JSON form", async () => {
    assert.deepEqual((await readdir(outDir)).sort(), ['Split-eval', 'Split-train']);
    for (const split of ['Split-eval', 'Split-train']) assert.deepEqual((await readdir(path.join(outDir, split))).sort(), ['FeatureStats.json', 'FeatureStats.pb']);
  });

  it('the binary proto parses against statistics.proto and carries every figure of statistics.json, slices named as TFDV names them', async () => {
    const type = listType();
    const decode = async (split: string) =>
      type.toObject(type.decode(await readFile(path.join(outDir, `Split-${split}`, 'FeatureStats.pb'))), { longs: Number, enums: String }) as { datasets: DecodedDataset[] };
    const [train, evalSplit] = statistics.splits;
    const trainList = await decode('train');
    assert.deepEqual(trainList.datasets.map((d) => d.name), ['All Examples', 'Island_Biscoe', 'Island_Dream', 'Island_Torgersen']);
    assertDataset(trainList.datasets[0]!, train!, 'All Examples');
    train!.slices.forEach((s, i) => assertDataset(trainList.datasets[i + 1]!, s, `Island_${s.key.Island}`));
    const evalList = await decode('eval');
    assertDataset(evalList.datasets[0]!, evalSplit!, 'eval');

    // The figures are the data's: a few straight from DuckDB.
    const depth = evalList.datasets[0]!.features!.find((f) => f.path?.step?.[0] === 'Beak Depth (mm)')!.numStats!;
    const counts = (await db.runAndReadAll(`SELECT COUNT(*) FILTER (isnan("Beak Depth (mm)")) AS nan, COUNT(*) FILTER (isinf("Beak Depth (mm)")) AS inf FROM penguins_eval`)).getRowObjectsJS()[0]!;
    assert.ok(Number(counts.nan) > 0 && Number(counts.inf) > 0);
    assert.equal(depth.histograms![0]!.numNan, Number(counts.nan));
    assert.equal(depth.histograms![0]!.numUndefined, Number(counts.inf));
    assert.equal(trainList.datasets[1]!.numExamples, 168, 'Biscoe has 168 penguins');
  });

  it('the JSON form is the same message in proto3 JSON (camelCase fields, int64 as strings)', async () => {
    const type = listType();
    for (const split of ['train', 'eval']) {
      const binary = await readFile(path.join(outDir, `Split-${split}`, 'FeatureStats.pb'));
      const json = JSON.parse(await readFile(path.join(outDir, `Split-${split}`, 'FeatureStats.json'), 'utf8')) as { datasets: Array<{ numExamples: unknown }> };
      assert.equal(typeof json.datasets[0]!.numExamples, 'string');
      assert.deepEqual(Buffer.from(type.encode(type.fromObject(json)).finish()), binary, `${split}: JSON and binary hold the same message`);
    }
  });
});

describe('StatisticsGen writes the TFDV export beside statistics.json', function () {
  it('seattle-weather through ExampleGen and StatisticsGen (sliced by weather, weighted by precipitation): the same numbers in FeatureStats.pb', async () => {
    const examples = await runExecutorForTest(ExampleGen, { parameters: { input: vegaFile('seattle-weather.csv') } });
    const run = await runExecutorForTest(StatisticsGen, {
      parameters: { slices: ['weather'], weightFeature: 'precipitation' },
      inputs: { examples: [examples.artifact('examples')] },
    });
    const dir = run.outputDirs.statistics!;
    const statistics = ExampleStatisticsSchema.parse(JSON.parse(await readFile(path.join(dir, STATISTICS_FILE_NAME), 'utf8')));
    const type = listType();
    for (const split of statistics.splits) {
      const list = type.toObject(type.decode(await readFile(path.join(dir, `Split-${split.name}`, 'FeatureStats.pb'))), { longs: Number, enums: String }) as { datasets: DecodedDataset[] };
      const sliceNames = split.slices.map((s) => `weather_${s.key.weather}`);
      assert.deepEqual(list.datasets.map((d) => d.name), ['All Examples', ...sliceNames]);
      assert.deepEqual([...sliceNames].sort(), ['weather_drizzle', 'weather_fog', 'weather_rain', 'weather_snow', 'weather_sun']);
      assertDataset(list.datasets[0]!, split, 'All Examples');
      split.slices.forEach((s, i) => assertDataset(list.datasets[i + 1]!, s, sliceNames[i]!));
      assert.ok(split.features.some((f) => f.weighted), 'weighted figures are there to compare');
    }
  });
});
