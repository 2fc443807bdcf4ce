import assert from 'node:assert/strict';
import { mkdir, readFile, symlink } from 'node:fs/promises';
import path from 'node:path';
import { withDuckDb } from '../../components/data/duckdb-session';
import { sqlIdentifier, sqlString } from '../../components/data/sql';
import { finalizeStatistics, type FinalizeOptions } from '../../components/statistics-gen/finalize';
import { mergePartialStatistics } from '../../components/statistics-gen/merge-partials';
import {
  PARTIAL_STATISTICS_FILE_NAME,
  PartialStatisticsSchema,
  VALUE_COUNT_CAP,
  type ExactDistribution,
  type PartialStatistics,
  type SketchDistribution,
} from '../../components/statistics-gen/partial-statistics';
import { ExampleStatisticsSchema, STATISTICS_FILE_NAME, type FeatureStatistics } from '../../components/statistics-gen/payload';
import { coarsenedOf } from '../../components/statistics-gen/sketches/coarsened-instants';
import { checkHashPort, HASH_PORT_PROBES, HLL_METHOD } from '../../components/statistics-gen/sketches/hyperloglog';
import { StatisticsGen } from '../../components/statistics-gen/spec';
import { computeSplitPartial } from '../../components/statistics-gen/statistics-sql';
import { finiteEntryPoints } from '../../components/statistics-gen/value-distribution';
import { runExecutorForTest } from '../support/executor-harness';
import { tempDir } from '../support/tmp';
import { duckQuery } from './parquet-rows';
import { flightsSample, partialStatisticsOf, rowRangeSql } from './partial-statistics-sample';
import { vegaFile } from './vega-data';

const FLIGHTS = vegaFile('flights-3m.parquet');

/** DuckDB over the rows: the distinct count and the first `k` values by count (ties in value order), as text. */
async function exactRanking(relation: string, column: string, k: number): Promise<{ distinct: number; ranked: Array<{ value: string; count: number }> }> {
  const c = sqlIdentifier(column);
  const [{ distinct }] = (await duckQuery(`SELECT count(DISTINCT ${c})::DOUBLE AS distinct FROM ${relation}`)) as [{ distinct: number }];
  const numeric = column === 'date' ? `epoch_us(${c})` : column === 'delay' || column === 'distance' ? c : 'NULL::DOUBLE';
  const rows = await duckQuery(
    `SELECT CAST(${c} AS VARCHAR) AS value, count(*)::DOUBLE AS count FROM ${relation} WHERE ${c} IS NOT NULL GROUP BY ${c} ORDER BY count DESC, ${numeric} ASC NULLS LAST, value ASC LIMIT ${k}`,
  );
  return { distinct, ranked: rows.map((r) => ({ value: String(r.value), count: Number(r.count) })) };
}

function assertExactRanking(f: FeatureStatistics, expected: Awaited<ReturnType<typeof exactRanking>>, where: string): void {
  assert.equal(f.distinct, expected.distinct, `${where}: distinct`);
  assert.deepEqual(f.rankHistogram, expected.ranked.slice(0, f.rankHistogram.length).map((r, i) => ({ rank: i + 1, ...r })), `${where}: rank histogram`);
  assert.equal(f.rankHistogram.length, Math.min(expected.distinct, expected.ranked.length), `${where}: rank histogram length`);
  assert.deepEqual(f.topValues, expected.ranked.slice(0, f.topValues.length), `${where}: top values`);
  for (const figure of ['distinct', 'topValues', 'rankHistogram']) assert.equal(f.approximations?.[figure], undefined, `${where}: ${figure} exact`);
}

describe('StatisticsGen: one run is exact for distinct and top values at any cardinality', function () {
  it(`flights-3m's ${'date'} (214 k distinct, beyond the ${VALUE_COUNT_CAP} cap): distinct, top values and rank histogram as DuckDB counts them; the partial state keeps its sketches`, async function () {
    const examples = await tempDir('statistics-exact-flights');
    await mkdir(path.join(examples, 'Split-all'));
    await symlink(FLIGHTS, path.join(examples, 'Split-all', 'data-00000.parquet'));
    const run = await runExecutorForTest(StatisticsGen, { inputs: { examples: [{ localDir: examples }] } });
    const stats = ExampleStatisticsSchema.parse(JSON.parse(await readFile(path.join(run.outputDirs.statistics!, STATISTICS_FILE_NAME), 'utf8')));
    const date = stats.splits[0]!.features.find((f) => f.name === 'date')!;
    const expected = await exactRanking(`read_parquet(${sqlString(FLIGHTS)})`, 'date', 1000);
    assert.ok(expected.distinct > VALUE_COUNT_CAP, 'the date column is beyond the cap');
    assert.equal(date.rankHistogram.length, 1000);
    assertExactRanking(date, expected, 'date');
    // Only the figures built from the instants' power-of-two units are approximate, and say so.
    assert.deepEqual(Object.keys(date.approximations ?? {}).sort(), ['numeric.median', 'numeric.quantiles', 'numeric.quantilesHistogram', 'numeric.standardHistogram']);
    assert.match(date.approximations!['numeric.quantiles']!.error, /within one unit of \d+ µs/);

    const partial = PartialStatisticsSchema.parse(JSON.parse(await readFile(path.join(run.outputDirs.statistics!, PARTIAL_STATISTICS_FILE_NAME), 'utf8')));
    const sketch = partial.splits[0]!.features.find((f) => f.name === 'date')!.values.distribution as SketchDistribution;
    assert.deepEqual([sketch.kind, sketch.distinct, sketch.top.exact, sketch.numbers?.kind], ['sketch', expected.distinct, true, 'coarsened']);
    assert.ok(stats.splits[0]!.features.filter((f) => f.name !== 'date').every((f) => f.approximations === undefined), 'the other features are within the cap');
  });

  describe('beyond a lowered cap, per slice too; a merge of two halves falls back to the sketches', function () {
    const OPTIONS: FinalizeOptions = { topK: 10, rankHistogramSize: 30, numHistogramBuckets: 10, numQuantiles: 10 };
    const cut = { valueCountCap: 150, topSummarySize: 40 };
    let file: string;
    let partialOf: (rows: [number, number]) => Promise<PartialStatistics>;
    before(async function () {
      file = await flightsSample(20000, 'statistics-exact-sample');
      partialOf = (rows) =>
        withDuckDb({ tmpDir: path.dirname(file), signal: new AbortController().signal }, (db) =>
          partialStatisticsOf(db, [{ name: 'all', relationSql: rowRangeSql(file, rows) }], cut, { slices: ['destination'] }),
        );
    });

    it('one pass: every feature, overall and in the largest destination slices, exact', async function () {
      const [split] = finalizeStatistics(await partialOf([0, 20000]), OPTIONS).splits;
      const relation = `read_parquet(${sqlString(file)})`;
      const overCap = split!.features.filter((f) => f.distinct > cut.valueCountCap).map((f) => f.name);
      assert.deepEqual(overCap, ['date', 'delay', 'distance', 'origin', 'destination'], 'every feature beyond the cap');
      for (const f of split!.features) assertExactRanking(f, await exactRanking(relation, f.name, OPTIONS.rankHistogramSize), f.name);
      const largest = [...split!.slices].sort((a, b) => b.numExamples - a.numExamples).slice(0, 2);
      for (const slice of largest) {
        const where = `(SELECT * FROM ${relation} WHERE destination = ${sqlString(slice.key.destination!)})`;
        const date = slice.features.find((f) => f.name === 'date')!;
        assert.ok(date.distinct > cut.valueCountCap, `date in slice ${slice.key.destination} is beyond the cap`);
        assertExactRanking(date, await exactRanking(where, 'date', OPTIONS.rankHistogramSize), `date in ${slice.key.destination}`);
      }
    });

    it('two halves merged: the HyperLogLog estimate, named, where both halves were sketched', async function () {
      const merged = mergePartialStatistics(await partialOf([0, 10000]), await partialOf([10000, 20000]));
      const date = finalizeStatistics(merged, OPTIONS).splits[0]!.features.find((f) => f.name === 'date')!;
      assert.equal(date.approximations?.distinct?.method, HLL_METHOD);
      const sketch = merged.splits[0]!.features.find((f) => f.name === 'date')!.values.distribution as SketchDistribution;
      assert.deepEqual([sketch.distinct, sketch.top.exact], [null, false]);
    });

    it("the missing-value slice keeps its exact counts while another slice of the same feature is sketched", async function () {
      // Slice 'a' holds 300 distinct values of x (beyond the cap of 150); the slice where s is missing holds 5, 60 rows each.
      const relationSql = `(SELECT CASE WHEN i < 300 THEN 'a' END AS s, CASE WHEN i < 300 THEN i ELSE i % 5 END AS x FROM range(600) t(i))`;
      const partial = await withDuckDb({ tmpDir: path.dirname(file), signal: new AbortController().signal }, (db) =>
        partialStatisticsOf(db, [{ name: 'all', relationSql }], cut, { slices: ['s'] }),
      );
      const missingSlice = finalizeStatistics(partial, OPTIONS).splits[0]!.slices.find((sl) => sl.key.s === null)!;
      const x = missingSlice.features.find((f) => f.name === 'x')!;
      assert.deepEqual([missingSlice.numExamples, x.count, x.distinct], [300, 300, 5]);
      assert.deepEqual(x.topValues, [0, 1, 2, 3, 4].map((v) => ({ value: String(v), count: 60 })));
      assert.deepEqual([x.numeric?.min, x.numeric?.median, x.numeric?.max], [0, 2, 4]);
    });
  });

  it("refuses to sketch when DuckDB's string hash no longer matches the port in hyperloglog.ts", async function () {
    const [row] = await duckQuery(`SELECT ${HASH_PORT_PROBES.map((p, i) => `hash(${sqlString(p)}) AS h${i}`).join(', ')}`);
    const hashes = HASH_PORT_PROBES.map((_, i) => BigInt(String(row![`h${i}`])));
    checkHashPort(hashes);
    assert.throws(() => checkHashPort(hashes.map((h) => h ^ 1n)), /DuckDB's hash\(""\) is \d+, the port in hyperloglog\.ts gives \d+: this DuckDB release changed its string hash/);
  });
});

describe('StatisticsGen: instants beyond the cap in power-of-two units', function () {
  /** The value distribution of `column` in one pass over `selectSql`'s rows, with the given cap. */
  async function distributionOf(selectSql: string, column: string, valueCountCap: number) {
    const split = await withDuckDb({ tmpDir: await tempDir('statistics-instants'), signal: new AbortController().signal }, (db) =>
      computeSplitPartial(db, { name: 'all', relationSql: `(${selectSql})`, slices: [], valueCountCap, topSummarySize: 20 }),
    );
    return split.features.find((f) => f.name === column)!.values.distribution;
  }

  for (const [name, selectSql] of [
    ['spread over a day (the unit that fits their range is the finest)', `SELECT TIMESTAMP '2001-01-01' + i * INTERVAL 37 SECOND AS t FROM range(2000) r(i)`],
    [
      'clustered within a minute, with one far outlier beyond 2^53 µs (a finer unit than the range needs)',
      `SELECT TIMESTAMP '2001-01-01' + i * INTERVAL 7 MILLISECOND AS t FROM range(2000) r(i) UNION ALL SELECT TIMESTAMP '2400-03-01 12:34:56.789012'`,
    ],
  ] as const) {
    it(`${name}: the SQL-built state equals the one built from exact counts`, async function () {
      const sketched = (await distributionOf(selectSql, 't', 150)) as SketchDistribution;
      const exact = (await distributionOf(selectSql, 't', 10_000)) as ExactDistribution;
      assert.equal(exact.kind, 'exact');
      assert.equal(sketched.numbers?.kind, 'coarsened');
      assert.deepEqual(sketched.numbers, coarsenedOf(finiteEntryPoints(exact.entries), 150));
      assert.ok(sketched.numbers.buckets.length <= 150 && sketched.numbers.buckets.length > 75, `${sketched.numbers.buckets.length} buckets: the finest unit within the cap`);
    });
  }
});
