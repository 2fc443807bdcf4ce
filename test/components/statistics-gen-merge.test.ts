import assert from 'node:assert/strict';
import path from 'node:path';
import { withDuckDb, type DuckDbSession } from '../../components/data/duckdb-session';
import { sqlString } from '../../components/data/sql';
import { finalizeStatistics, type FinalizeOptions } from '../../components/statistics-gen/finalize';
import { mergePartialStatistics } from '../../components/statistics-gen/merge-partials';
import type { PartialFeature, PartialStatistics, SketchDistribution } from '../../components/statistics-gen/partial-statistics';
import type { ExampleStatistics } from '../../components/statistics-gen/payload';
import { DDSKETCH_RELATIVE_ACCURACY } from '../../components/statistics-gen/sketches/ddsketch';
import { HLL_METHOD, HLL_RELATIVE_STANDARD_ERROR } from '../../components/statistics-gen/sketches/hyperloglog';
import { tempDir } from '../support/tmp';
import { duckQuery } from './parquet-rows';
import { flightsSample, partialStatisticsOf, rowRangeSql, type Cut } from './partial-statistics-sample';

const ROWS = 30_000;
/** Eight row ranges of 3,750 rows. */
const SHARDS = Array.from({ length: 9 }, (_, i) => i * 3_750);
const OPTIONS: FinalizeOptions = { topK: 10, rankHistogramSize: 100, numHistogramBuckets: 10, numQuantiles: 10 };

/** The partial statistics of rows [from, to) of the sample, as one shard (a file, a row range) would give them. */
function partialOf(db: DuckDbSession, file: string, rows: [number, number], cut: Cut, weighted: boolean): Promise<PartialStatistics> {
  return partialStatisticsOf(db, [{ name: 'all', relationSql: rowRangeSql(file, rows) }], cut, { weightFeature: weighted ? 'distance' : undefined, slices: ['origin'] });
}

async function onePassAndMerged(file: string, cut: Cut, weighted: boolean) {
  return withDuckDb({ tmpDir: await tempDir('statistics-merge'), signal: new AbortController().signal }, async (db) => {
    const whole = await partialOf(db, file, [0, ROWS], cut, weighted);
    const shards: PartialStatistics[] = [];
    for (let i = 0; i + 1 < SHARDS.length; i++) shards.push(await partialOf(db, file, [SHARDS[i]!, SHARDS[i + 1]!], cut, weighted));
    // Merged in an order of their own, to show the order does not matter.
    const [first, ...rest] = [...shards.slice(4), ...shards.slice(0, 4)];
    const merged = rest.reduce(mergePartialStatistics, first!);
    return { whole, shards, merged };
  });
}

/** The statistics with means and standard deviations taken out, and those moments listed apart. */
function splitMoments(stats: ExampleStatistics): { rest: unknown; moments: Array<[string, number | null]> } {
  const moments: Array<[string, number | null]> = [];
  const rest = JSON.parse(JSON.stringify(stats), function (this: Record<string, unknown>, key, value: unknown) {
    if ((key === 'mean' || key === 'std') && 'median' in this) {
      moments.push([key, value as number | null]);
      return null;
    }
    return value;
  }) as unknown;
  return { rest, moments };
}

const featureOf = (p: PartialStatistics, name: string): PartialFeature => p.splits[0]!.features.find((f) => f.name === name)!;

describe('StatisticsGen partial statistics: shards merged equal one pass', function () {
  let file: string;
  before(async function () {
    file = await flightsSample(ROWS, 'statistics-merge-sample');
  });

  it('within the exact-count cap: every figure, weighted and per origin slice, equal; moments within 1e-12', async function () {
    const { whole, merged } = await onePassAndMerged(file, { valueCountCap: 100_000, topSummarySize: 10_000 }, true);
    const one = splitMoments(finalizeStatistics(whole, OPTIONS));
    const parts = splitMoments(finalizeStatistics(merged, OPTIONS));
    assert.deepEqual(parts.rest, one.rest);
    assert.equal(parts.moments.length, one.moments.length);
    one.moments.forEach(([key, value], i) => {
      const [mergedKey, mergedValue] = parts.moments[i]!;
      assert.equal(mergedKey, key);
      if (value === null) assert.equal(mergedValue, null);
      else assert.ok(Math.abs(mergedValue! - value) <= 1e-12 * Math.abs(value), `${key}: ${mergedValue} vs ${value}`);
    });
    assert.ok(one.moments.length > 100, 'moments of the overall split and of each origin slice');
    assert.equal(finalizeStatistics(merged, OPTIONS).splits[0]?.features.some((f) => f.approximations), false, 'no sketch within the cap');
  });

  it("a column one day lacks is missing in all of that day's rows: the merge equals one pass over both with nulls there", async function () {
    const cut = { valueCountCap: 100_000, topSummarySize: 10_000 };
    const withDelay = `(SELECT * FROM ${rowRangeSql(file, [0, 1000])})`;
    const withoutDelay = `(SELECT * EXCLUDE (delay) FROM ${rowRangeSql(file, [1000, 1600])})`;
    const both = `(SELECT * FROM ${withDelay} UNION ALL BY NAME SELECT * FROM ${withoutDelay})`;
    const partial = (relationSql: string) =>
      withDuckDb({ tmpDir: path.dirname(file), signal: new AbortController().signal }, (db) => partialStatisticsOf(db, [{ name: 'all', relationSql }], cut));
    const delayOf = (p: PartialStatistics) => finalizeStatistics(p, OPTIONS).splits[0]!.features.find((f) => f.name === 'delay')!;
    const [a, b, one] = [await partial(withDelay), await partial(withoutDelay), await partial(both)];
    for (const merged of [mergePartialStatistics(a, b), mergePartialStatistics(b, a)]) {
      assert.deepEqual(delayOf(merged), delayOf(one));
      assert.deepEqual([delayOf(merged).count, delayOf(merged).missing], [1000, 600]);
    }
  });

  describe('beyond the cap', function () {
    // Within 220 distinct values, some shards keep exact counts and others sketch (delay, date); every
    // shard keeps origin's 171-199 airports exact, and the merge of all 223 sketches them.
    const cut: Cut = { valueCountCap: 220, topSummarySize: 40 };
    let whole: PartialStatistics;
    let shards: PartialStatistics[];
    let merged: PartialStatistics;
    before(async function () {
      ({ whole, shards, merged } = await onePassAndMerged(file, cut, false));
    });

    it('sketches what SQL built over a shard and what a merge built from exact counts agree bit for bit', async function () {
      const kinds = (name: string) => new Set(shards.map((shard) => featureOf(shard, name).values.distribution.kind));
      assert.deepEqual([kinds('origin'), kinds('delay'), kinds('date')], [new Set(['exact']), new Set(['exact', 'sketch']), new Set(['exact', 'sketch'])]);
      for (const name of ['date', 'delay', 'distance', 'origin']) {
        const one = featureOf(whole, name).values.distribution as SketchDistribution;
        const parts = featureOf(merged, name).values.distribution as SketchDistribution;
        assert.equal(one.kind, 'sketch', `${name} is sketched in one pass`);
        assert.equal(parts.kind, 'sketch', `${name} is sketched once merged`);
        assert.equal(parts.hll, one.hll, `${name}: HyperLogLog registers`);
        assert.deepEqual(parts.numbers, one.numbers, `${name}: DDSketch buckets or power-of-two time units`);
      }
    });

    it('distinct counts, quantiles and top values within their stated errors of the exact ones', async function () {
      const stats = finalizeStatistics(merged, OPTIONS).splits[0]!;
      for (const name of ['date', 'delay', 'distance', 'origin']) {
        const f = stats.features.find((x) => x.name === name)!;
        const x = name === 'date' ? 'epoch_us(date)::DOUBLE' : name === 'origin' ? 'NULL' : `${name}::DOUBLE`;
        const rows = await duckQuery(`SELECT CAST(${name} AS VARCHAR) AS v, ${x} AS x FROM read_parquet(${sqlString(file)})`);
        const counts = new Map<string, number>();
        for (const r of rows) counts.set(String(r.v), (counts.get(String(r.v)) ?? 0) + 1);
        assert.equal(f.approximations?.distinct?.method, HLL_METHOD);
        assert.ok(Math.abs(f.distinct - counts.size) <= 3 * HLL_RELATIVE_STANDARD_ERROR * counts.size, `${name}: distinct ${f.distinct} vs ${counts.size}`);

        const summary = (featureOf(merged, name).values.distribution as SketchDistribution).top;
        for (const [value, , count, , error] of summary.entries) {
          const truth = counts.get(value)!;
          assert.ok(count <= truth && truth <= count + error, `${name} ${value}: ${count} (+${error}) vs ${truth}`);
        }
        const listed = new Set(summary.entries.map(([value]) => value));
        for (const [value, truth] of counts) if (!listed.has(value)) assert.ok(truth <= summary.unlisted, `${name} ${value}: ${truth} > unlisted ${summary.unlisted}`);
        assert.ok(summary.entries.every(([, , , , error]) => error <= ROWS / (cut.topSummarySize + 1)), 'each error at most N / (size + 1)');

        if (name === 'origin') continue;
        const sorted = rows.map((r) => Number(r.x)).sort((a, b) => a - b);
        const unit = (featureOf(merged, name).values.distribution as SketchDistribution).numbers;
        for (const { q, value } of f.numeric!.quantiles!.points) {
          const h = (sorted.length - 1) * q;
          const lo = sorted[Math.floor(h)]!;
          const hi = sorted[Math.ceil(h)]!;
          const exact = lo + (h - Math.floor(h)) * (hi - lo);
          const bound = unit?.kind === 'coarsened' ? unit.unitMicros : DDSKETCH_RELATIVE_ACCURACY * Math.max(Math.abs(lo), Math.abs(hi));
          assert.ok(Math.abs(value - exact) <= bound, `${name} q${q}: ${value} vs ${exact} (bound ${bound})`);
        }
        assert.match(f.approximations?.['numeric.quantiles']?.method ?? '', name === 'date' ? /power-of-two unit of time/ : /DDSketch \(relative accuracy 0.01\)/);
        assert.equal(f.numeric?.min, sorted[0], `${name}: min exact`);
        assert.equal(f.numeric?.max, sorted.at(-1), `${name}: max exact`);
      }
    });
  });
});
