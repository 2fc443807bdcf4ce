import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sqlString } from '../../components/data/sql';
import { ExampleGen } from '../../components/example-gen/spec';
import { PARTIAL_STATISTICS_FILE_NAME, PartialStatisticsSchema } from '../../components/statistics-gen/partial-statistics';
import { ExampleStatisticsSchema, STATISTICS_FILE_NAME, type DatasetStatisticsSchema, type ExampleStatistics } from '../../components/statistics-gen/payload';
import { StatisticsGen, StatisticsGenParametersSchema } from '../../components/statistics-gen/spec';
import { runExecutorForTest, type ExecutorTestRun, type TestArtifact } from '../support/executor-harness';
import { tempDir } from '../support/tmp';
import { rejects } from '../support/user-input-errors';
import { duckQuery } from './parquet-rows';
import { assertStatisticsClose, expectedFeature, type ExpectedFeatureOptions } from './statistics-expected';
import { vegaFile } from './vega-data';
import type { z } from 'zod';

type Dataset = z.infer<typeof DatasetStatisticsSchema>;

async function statisticsOf(run: ExecutorTestRun): Promise<ExampleStatistics> {
  return ExampleStatisticsSchema.parse(JSON.parse(await readFile(path.join(run.outputDirs.statistics!, STATISTICS_FILE_NAME), 'utf8')));
}

/** An Examples artifact with one split `all` holding the rows of `selectSql`, and the relation to read them back. */
async function examplesOf(name: string, selectSql: string): Promise<{ artifact: TestArtifact; relation: string }> {
  const dir = await tempDir(`statistics-${name}`);
  await mkdir(path.join(dir, 'Split-all'));
  const file = path.join(dir, 'Split-all', 'data-00000.parquet');
  await duckQuery(`COPY (${selectSql}) TO ${sqlString(file)} (FORMAT parquet)`);
  return { artifact: { localDir: dir }, relation: `read_parquet(${sqlString(file)})` };
}

const runStatistics = (examples: TestArtifact, parameters: z.input<typeof StatisticsGenParametersSchema> = {}) =>
  runExecutorForTest(StatisticsGen, { parameters, inputs: { examples: [examples] } });

/** Every feature of `dataset` against the independent computation over `relation`. */
async function assertDataset(dataset: Dataset | undefined, relation: string, options: Partial<ExpectedFeatureOptions> = {}): Promise<void> {
  assert.ok(dataset);
  const [{ n }] = (await duckQuery(`SELECT count(*)::DOUBLE AS n FROM ${relation}`)) as [{ n: number }];
  assert.equal(dataset.numExamples, n, 'numExamples');
  for (const f of dataset.features) {
    const expected = await expectedFeature(relation, { ...options, name: f.name, type: f.type, physicalType: f.physicalType, valency: f.valency });
    assertStatisticsClose({ ...f, approximations: undefined }, expected, f.name);
    assert.equal(f.approximations, undefined, `${f.name}: exact`);
  }
}

const PENGUINS = `SELECT * FROM read_json(${sqlString(vegaFile('penguins.json'))})`;

describe('StatisticsGen', function () {
  it('gives every figure of every penguins feature exactly, as DuckDB and TypeScript compute them over the rows', async function () {
    const { artifact, relation } = await examplesOf('penguins', PENGUINS);
    const run = await runStatistics(artifact);
    const stats = await statisticsOf(run);
    const [all] = stats.splits;
    assert.deepEqual(
      all?.features.map((f) => `${f.name}:${f.type}`),
      ['Species:STRING', 'Island:STRING', 'Beak Length (mm):FLOAT', 'Beak Depth (mm):FLOAT', 'Flipper Length (mm):INT', 'Body Mass (g):INT', 'Sex:STRING'],
    );
    await assertDataset(all, relation);
    assert.equal(all?.features.find((f) => f.name === 'Body Mass (g)')?.missing, 2, 'the two all-null penguins');
    assert.match(stats.conventions.quantiles, /Hyndman-Fan type 7/);
    assert.equal(all?.features[4]?.numeric?.quantiles?.definition, stats.conventions.quantiles);
    assert.deepEqual([stats.conventions.topValues, stats.conventions.rankHistogramSize, stats.conventions.slices], [10, 1000, []]);
    const partial = PartialStatisticsSchema.parse(JSON.parse(await readFile(path.join(run.outputDirs.statistics!, PARTIAL_STATISTICS_FILE_NAME), 'utf8')));
    assert.equal(partial.splits[0]?.numExamples, all?.numExamples, 'the mergeable state is written beside the statistics');
  });

  it('weighs rows by weightFeature and slices by Island and Sex (missing Sex a slice of its own)', async function () {
    // Weights 0, 0.5, 1 and 1.5 in turn: zero weights too.
    const { artifact, relation } = await examplesOf('penguins-weighted', `SELECT *, (row_number() OVER () % 4) * 0.5 AS w FROM (${PENGUINS})`);
    const stats = await statisticsOf(await runStatistics(artifact, { weightFeature: 'w', slices: ['Island', 'Sex'] }));
    const [all] = stats.splits;
    assert.equal(stats.conventions.weightFeature, 'w');
    assert.match(stats.conventions.quantiles, /weighted: the smallest value whose cumulative weight/);
    const [{ total }] = (await duckQuery(`SELECT sum(w) AS total FROM ${relation}`)) as [{ total: number }];
    assert.equal(all?.weightedNumExamples, total);
    await assertDataset(all, relation, { weight: 'w' });
    assert.deepEqual(
      all?.slices.map((s) => s.key),
      [{ Island: 'Biscoe' }, { Island: 'Dream' }, { Island: 'Torgersen' }, { Sex: '.' }, { Sex: 'FEMALE' }, { Sex: 'MALE' }, { Sex: null }],
    );
    for (const slice of all!.slices) {
      const [[feature, value]] = Object.entries(slice.key) as [[string, string | null]];
      const where = value === null ? `"${feature}" IS NULL` : `"${feature}" = ${sqlString(value)}`;
      await assertDataset(slice, `(SELECT * FROM ${relation} WHERE ${where})`, { weight: 'w' });
    }
  });

  it('gives dates of seattle-weather.csv microsecond figures and ISO extremes, and its numbers and strings in full', async function () {
    const { artifact, relation } = await examplesOf('seattle', `SELECT * FROM read_csv(${sqlString(vegaFile('seattle-weather.csv'))})`);
    const [all] = (await statisticsOf(await runStatistics(artifact))).splits;
    await assertDataset(all, relation);
    const date = all?.features.find((f) => f.name === 'date');
    assert.deepEqual([date?.type, date?.physicalType, date?.temporalMin, date?.temporalMax], ['TEMPORAL', 'DATE', '2012-01-01', '2015-12-31']);
    assert.equal(date?.numeric?.min, Date.UTC(2012, 0, 1) * 1000, 'microseconds since the epoch');
  });

  it('gives timestamps, delays, distances and airports of 20,000 flights in full', async function () {
    const { artifact, relation } = await examplesOf('flights', `SELECT * FROM read_parquet(${sqlString(vegaFile('flights-3m.parquet'))}) LIMIT 20000`);
    const [all] = (await statisticsOf(await runStatistics(artifact, { topK: 5, rankHistogramSize: 50 }))).splits;
    await assertDataset(all, relation, { topK: 5, rankHistogramSize: 50 });
  });

  it('counts NaN, ±inf and zeros apart from the figures over finite values; lists by their lengths and their elements', async function () {
    const { artifact, relation } = await examplesOf(
      'edge',
      `SELECT * FROM (VALUES (1.5::DOUBLE, true, [1, 2, 2], ['a', 'b'], {'k': 1}), ('nan', false, NULL, [], {'k': 2}), ('inf', true, [3], ['a'], NULL), ` +
        `(NULL, NULL, [1, 2, NULL], NULL, {'k': 1}), (-2.5, true, [], ['c', 'a', 'a'], {'k': 3}), ('-inf', NULL, [0], ['b'], NULL), (0, false, [5, 5], ['a'], NULL), (-0.0, true, [7], ['d'], NULL)) t(x, flag, tags, words, s)`,
    );
    const [all] = (await statisticsOf(await runStatistics(artifact))).splits;
    await assertDataset(all, relation);
    const byName = (name: string) => all!.features.find((f) => f.name === name)!;
    assert.deepEqual(
      [byName('x').numeric?.numNan, byName('x').numeric?.numPosInf, byName('x').numeric?.numNegInf, byName('x').numeric?.numZeros, byName('x').numeric?.min],
      [1, 1, 1, 2, -2.5],
    );
    const tags = byName('tags');
    assert.deepEqual([tags.valency, tags.type, tags.physicalType, tags.count, tags.missing], ['list', 'INT', 'INTEGER[]', 7, 1]);
    assert.deepEqual([tags.valueCounts.min, tags.valueCounts.max, tags.valueCounts.total], [0, 3, 11], 'lengths, a NULL element counted in its list');
    assert.equal(tags.numeric?.mean, 28 / 10, 'the mean of the 10 non-null elements');
    assert.deepEqual([byName('s').type, byName('s').distinct, byName('s').topValues], ['OTHER', 3, []]);
    await rejects(runStatistics(artifact, { slices: ['tags'] }), /slices names "tags", a list feature \(INTEGER\[\]\) of split "all": a slice is one value per row/);
  });

  it('gives a split that received no rows zero counts and no figures', async function () {
    const { artifact, relation } = await examplesOf('empty', `${PENGUINS} LIMIT 0`);
    const [all] = (await statisticsOf(await runStatistics(artifact))).splits;
    await assertDataset(all, relation);
    const mass = all?.features.find((f) => f.name === 'Body Mass (g)');
    assert.deepEqual([mass?.count, mass?.numeric?.mean, mass?.numeric?.quantiles, mass?.numeric?.standardHistogram.buckets], [0, null, null, []]);
  });

  it('takes topK, rankHistogramSize, numHistogramBuckets and numQuantiles, leaves out excluded splits, and reports progress to the last row', async function () {
    const examples = await runExecutorForTest(ExampleGen, { parameters: { input: vegaFile('penguins.json') } });
    const run = await runStatistics(examples.artifact('examples'), { topK: 2, rankHistogramSize: 3, numHistogramBuckets: 4, numQuantiles: 20, excludeSplits: ['eval'] });
    const stats = await statisticsOf(run);
    assert.deepEqual(stats.splits.map((s) => s.name), ['train']);
    const mass = stats.splits[0]!.features.find((f) => f.name === 'Body Mass (g)')!;
    assert.deepEqual([mass.topValues.length, mass.rankHistogram.length, mass.numeric?.standardHistogram.buckets.length, mass.numeric?.quantiles?.points.length], [2, 3, 4, 21]);
    assert.equal(mass.numeric?.quantiles?.points[2]?.q, 0.1);
    assert.equal(run.result.properties?.statistics?.split_names, '["train"]');
    const last = run.progress.at(-1);
    assert.deepEqual([last?.fraction, last?.counters?.rowsRead], [1, stats.splits[0]!.numExamples]);
  });

  describe('bad input', function () {
    let penguins: { artifact: TestArtifact; relation: string };
    before(async function () {
      penguins = await examplesOf('bad', `SELECT *, CASE WHEN "Body Mass (g)" > 6000 THEN -1 ELSE 1 END AS bad_weight FROM (${PENGUINS})`);
    });

    it('no Examples on the input', async function () {
      await rejects(runExecutorForTest(StatisticsGen, {}), /needs an Examples artifact on its "examples" input/);
    });

    it('a directory without Split-<name>/ directories', async function () {
      await rejects(runStatistics({ localDir: await tempDir('statistics-empty') }), /has no split directories \(expected Split-<name>\/\)/);
    });

    it('a split without Parquet files', async function () {
      const dir = await tempDir('statistics-no-parquet');
      await mkdir(path.join(dir, 'Split-train'));
      await writeFile(path.join(dir, 'Split-train', 'notes.txt'), 'no data');
      await rejects(runStatistics({ localDir: dir }), /split "train" has no Parquet files/);
    });

    it('excludeSplits naming a split the examples do not have', async function () {
      await rejects(runStatistics(penguins.artifact, { excludeSplits: ['test'] }), /excludeSplits names splits the examples do not have: test \(they have all\)/);
    });

    it('parameters out of range', async function () {
      await rejects(runStatistics(penguins.artifact, { topK: 0 }), /StatisticsGen parameters: topK: /);
      await rejects(runStatistics(penguins.artifact, { numQuantiles: 25 }), /numQuantiles: must be a multiple of 10/);
    });

    it('a weightFeature the data lacks', async function () {
      await rejects(runStatistics(penguins.artifact, { weightFeature: 'weight' }), /weightFeature "weight" is not a feature of split "all" \(its features: Species, Island, .*bad_weight\)/);
    });

    it('a weightFeature that is not numeric', async function () {
      await rejects(runStatistics(penguins.artifact, { weightFeature: 'Island' }), /weightFeature "Island" is VARCHAR \(STRING\); a weight feature must be a numeric column/);
    });

    it('weights missing or negative', async function () {
      await rejects(runStatistics(penguins.artifact, { weightFeature: 'Body Mass (g)' }), /weightFeature "Body Mass \(g\)": 2 row\(s\) of split "all" have a missing, NaN, infinite or negative weight \(missing\)/);
      const [{ n }] = (await duckQuery(`SELECT count(*) AS n FROM ${penguins.relation} WHERE bad_weight < 0`)) as [{ n: bigint }];
      await rejects(runStatistics(penguins.artifact, { weightFeature: 'bad_weight' }), new RegExp(`weightFeature "bad_weight": ${n} row\\(s\\) of split "all" .* \\(e\\.g\\. -1\\)`));
    });

    it('slices naming a feature the data lacks', async function () {
      await rejects(runStatistics(penguins.artifact, { slices: ['island'] }), /slices names "island", which is not a feature of split "all" \(its features: Species, Island/);
    });
  });
});
