import assert from 'node:assert/strict';
import type { FeatureStatistics, FeatureType, Histogram } from '../../components/statistics-gen/payload';
import { sqlIdentifier } from '../../components/data/sql';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

/**
 * The statistics of one feature computed independently of StatisticsGen: DuckDB aggregates over the raw
 * rows (quantile_cont, stddev_pop, GROUP BY for top values, the histogram bucket of each row) and plain
 * TypeScript over the fetched rows for the weighted figures, written from the definitions in payload.ts.
 */

export interface ExpectedFeatureOptions {
  name: string;
  type: FeatureType;
  physicalType: string;
  valency?: 'single' | 'list';
  /** SQL of the weight of a row, when the statistics are weighted. */
  weight?: string;
  topK?: number;
  rankHistogramSize?: number;
  buckets?: number;
}

const QUANTILES = Array.from({ length: 11 }, (_, i) => (i === 10 ? 1 : i / 10));

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

let connection: Promise<DuckDBConnection> | undefined;

/** One database for all the expected figures of a test run: a fresh one per query costs more than the query. */
async function duckQuery(sql: string): Promise<Record<string, unknown>[]> {
  connection ??= (async () => {
    const c = await (await DuckDBInstance.create(':memory:')).connect();
    await c.run(`SET TimeZone = 'UTC'`);
    return c;
  })();
  return (await (await connection).runAndReadAll(sql)).getRowObjectsJS();
}

async function one(sql: string): Promise<Record<string, unknown>> {
  const [row] = await duckQuery(sql);
  return row!;
}

function quantileBuckets(edges: number[] | null, total: number, nonFinite: { numNan: number; numUndefined: number }): Histogram {
  if (!edges || total === 0) return { type: 'QUANTILES', buckets: [], ...nonFinite };
  return { type: 'QUANTILES', buckets: edges.slice(1).map((high, i) => ({ low: edges[i]!, high, count: total / (edges.length - 1) })), ...nonFinite };
}

/** Equal-width buckets by SQL: each value's bucket index computed in DuckDB. */
async function standardBuckets(values: string, min: number | null, max: number | null, buckets: number, mass: string, nonFinite: { numNan: number; numUndefined: number }): Promise<Histogram> {
  if (min === null || max === null) return { type: 'STANDARD', buckets: [], ...nonFinite };
  if (min === max) {
    const row = await one(`SELECT sum(${mass})::DOUBLE AS m FROM ${values} WHERE x IS NOT NULL`);
    return { type: 'STANDARD', buckets: [{ low: min, high: max, count: Number(row.m) }], ...nonFinite };
  }
  const width = (max - min) / buckets;
  const rows = await duckQuery(
    `SELECT least(${buckets - 1}, floor((x - ${min}) / ${width}))::INTEGER AS b, sum(${mass})::DOUBLE AS m FROM ${values} WHERE x IS NOT NULL GROUP BY b`,
  );
  const counts = new Map(rows.map((r) => [Number(r.b), Number(r.m)]));
  return {
    type: 'STANDARD',
    buckets: Array.from({ length: buckets }, (_, i) => ({ low: min + i * width, high: i === buckets - 1 ? max : min + (i + 1) * width, count: counts.get(i) ?? 0 })),
    ...nonFinite,
  };
}

/** TypeScript: the smallest value whose cumulative weight reaches q × total, over rows sorted by value. */
function weightedQuantile(rows: Array<{ x: number; w: number }>, q: number): number {
  const sorted = rows.filter((r) => r.w > 0).sort((a, b) => a.x - b.x);
  const total = sorted.reduce((s, r) => s + r.w, 0);
  let cumulative = 0;
  for (const r of sorted) {
    cumulative += r.w;
    if (cumulative >= q * total) return r.x;
  }
  return sorted.at(-1)!.x;
}

export async function expectedFeature(relation: string, o: ExpectedFeatureOptions): Promise<FeatureStatistics> {
  const c = sqlIdentifier(o.name);
  const valency = o.valency ?? 'single';
  const topK = o.topK ?? 10;
  const rankSize = o.rankHistogramSize ?? 1000;
  const buckets = o.buckets ?? 10;
  const numeric = o.type === 'INT' || o.type === 'FLOAT' || o.type === 'TEMPORAL';
  const w = o.weight ?? 'NULL::DOUBLE';
  // One row per value (the elements of a list), with its text, its finite number and its row's weight.
  const v = valency === 'list' ? `unnest(${c})` : c;
  const xSql = o.type === 'TEMPORAL' ? `epoch_us(v)::DOUBLE` : numeric ? `CASE WHEN isfinite(v::DOUBLE) THEN v::DOUBLE END` : 'NULL::DOUBLE';
  const values = `(SELECT v, CAST(v AS VARCHAR) AS txt, ${xSql} AS x, ${o.type === 'INT' || o.type === 'FLOAT' ? 'v::DOUBLE' : 'NULL::DOUBLE'} AS xf, w FROM (SELECT ${v} AS v, ${w} AS w FROM ${relation}) WHERE v IS NOT NULL)`;

  const rows = await one(
    `SELECT count(${c})::DOUBLE AS count, (count(*) - count(${c}))::DOUBLE AS missing, sum(${w}) FILTER (WHERE ${c} IS NOT NULL) AS wcount, ` +
      `coalesce(sum(${w}) FILTER (WHERE ${c} IS NULL), 0) AS wmissing` +
      (valency === 'list' ? `, min(len(${c}))::DOUBLE AS vmin, max(len(${c}))::DOUBLE AS vmax, sum(len(${c}))::DOUBLE AS vtotal, quantile_cont(len(${c}), [${QUANTILES}]) AS vq` : '') +
      ` FROM ${relation}`,
  );
  const count = Number(rows.count);
  const valueCounts: FeatureStatistics['valueCounts'] =
    valency === 'list'
      ? {
          min: Number(rows.vmin ?? 0),
          max: Number(rows.vmax ?? 0),
          mean: count > 0 ? Number(rows.vtotal) / count : null,
          total: Number(rows.vtotal ?? 0),
          histogram: quantileBuckets(count > 0 ? (rows.vq as number[]).map(Number) : null, count, { numNan: 0, numUndefined: 0 }).buckets,
        }
      : { min: count > 0 ? 1 : 0, max: count > 0 ? 1 : 0, mean: count > 0 ? 1 : null, total: count, histogram: quantileBuckets(count > 0 ? QUANTILES.map(() => 1) : null, count, { numNan: 0, numUndefined: 0 }).buckets };

  const s = await one(
    `SELECT count(*)::DOUBLE AS n, count(DISTINCT v)::DOUBLE AS distinct_values, count(x)::DOUBLE AS finite, min(x) AS min, max(x) AS max, avg(x) AS mean, stddev_pop(x) AS std, ` +
      `quantile_cont(x, 0.5) AS median, quantile_cont(x, [${QUANTILES}]) AS q, quantile_cont(x, [${Array.from({ length: buckets + 1 }, (_, i) => i / buckets)}]) AS edges, ` +
      `count(*) FILTER (WHERE xf = 0)::DOUBLE AS zeros, count(*) FILTER (WHERE isnan(xf))::DOUBLE AS nan, ` +
      `count(*) FILTER (WHERE xf = 'inf'::DOUBLE)::DOUBLE AS posinf, count(*) FILTER (WHERE xf = '-inf'::DOUBLE)::DOUBLE AS neginf, ` +
      `CAST(min(v) AS VARCHAR) AS tmin, CAST(max(v) AS VARCHAR) AS tmax, min(length(txt))::DOUBLE AS lmin, max(length(txt))::DOUBLE AS lmax, avg(length(txt)) AS lmean FROM ${values}`,
  );
  const ranked = await duckQuery(
    `SELECT txt, count(*)::DOUBLE AS c, sum(w) AS w FROM ${values} GROUP BY txt, x ORDER BY c DESC, x ASC NULLS LAST, txt ASC LIMIT ${Math.max(topK, rankSize)}`,
  );

  const stats: FeatureStatistics = {
    name: o.name,
    type: o.type,
    physicalType: o.physicalType,
    valency,
    count,
    missing: Number(rows.missing),
    valueCounts,
    distinct: Number(s.distinct_values),
    topValues: o.type === 'OTHER' ? [] : ranked.slice(0, topK).map((r) => ({ value: String(r.txt), count: Number(r.c) })),
    rankHistogram: o.type === 'OTHER' ? [] : ranked.slice(0, rankSize).map((r, i) => ({ rank: i + 1, value: String(r.txt), count: Number(r.c) })),
  };
  const nonFinite = { numNan: Number(s.nan), numUndefined: Number(s.posinf) + Number(s.neginf) };
  const finite = Number(s.finite);
  if (numeric) {
    const q = finite > 0 ? (s.q as number[]).map(Number) : null;
    stats.numeric = {
      min: num(s.min),
      max: num(s.max),
      mean: num(s.mean),
      std: num(s.std),
      median: num(s.median),
      quantiles: q && { definition: '', points: QUANTILES.map((p, i) => ({ q: p, value: q[i]! })) },
      numZeros: Number(s.zeros),
      numNan: Number(s.nan),
      numPosInf: Number(s.posinf),
      numNegInf: Number(s.neginf),
      standardHistogram: await standardBuckets(values, num(s.min), num(s.max), buckets, '1', nonFinite),
      quantilesHistogram: quantileBuckets(finite > 0 ? (s.edges as number[]).map(Number) : null, finite, nonFinite),
    };
  }
  if (o.type === 'TEMPORAL') {
    stats.temporalMin = s.tmin === null ? null : String(s.tmin);
    stats.temporalMax = s.tmax === null ? null : String(s.tmax);
  }
  if (o.type === 'STRING') stats.stringLength = { min: num(s.lmin), max: num(s.lmax), mean: num(s.lmean) };

  if (o.weight) {
    const byWeight = await duckQuery(`SELECT txt, sum(w) AS w FROM ${values} GROUP BY txt, x ORDER BY w DESC, x ASC NULLS LAST, txt ASC LIMIT ${topK}`);
    const points = (await duckQuery(`SELECT x, w FROM ${values} WHERE x IS NOT NULL`)).map((r) => ({ x: Number(r.x), w: Number(r.w) }));
    const total = points.reduce((a, p) => a + p.w, 0);
    const mean = points.reduce((a, p) => a + p.w * p.x, 0) / total;
    stats.weighted = {
      count: Number(rows.wcount ?? 0),
      missing: Number(rows.wmissing),
      topValues: o.type === 'OTHER' ? undefined : byWeight.map((r) => ({ value: String(r.txt), count: Number(r.w) })),
      mean: null,
      std: null,
      median: null,
      quantiles: null,
    };
    if (numeric && total > 0) {
      Object.assign(stats.weighted, {
        mean,
        std: Math.sqrt(points.reduce((a, p) => a + p.w * (p.x - mean) ** 2, 0) / total),
        median: weightedQuantile(points, 0.5),
        quantiles: { definition: '', points: QUANTILES.map((q) => ({ q, value: weightedQuantile(points, q) })) },
        standardHistogram: await standardBuckets(values, num(s.min), num(s.max), buckets, 'w', nonFinite),
        quantilesHistogram: quantileBuckets(
          Array.from({ length: buckets + 1 }, (_, i) => weightedQuantile(points, i / buckets)),
          total,
          nonFinite,
        ),
      });
    }
  }
  return stats;
}

/**
 * Deep equality where numbers may differ by `tolerance` relatively (sums in another order), and the
 * quantile definitions (checked once, in the conventions) are left out.
 */
export function assertStatisticsClose(actual: unknown, expected: unknown, path = '', tolerance = 1e-9): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    assert.ok(Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)), `${path}: ${actual} vs ${expected}`);
    return;
  }
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${path}: an array`);
    assert.equal(actual.length, expected.length, `${path}: length (${JSON.stringify(actual).slice(0, 300)} vs ${JSON.stringify(expected).slice(0, 300)})`);
    expected.forEach((e, i) => assertStatisticsClose(actual[i], e, `${path}[${i}]`, tolerance));
    return;
  }
  if (expected !== null && typeof expected === 'object') {
    assert.ok(actual !== null && typeof actual === 'object', `${path}: an object`);
    const a = actual as Record<string, unknown>;
    const e = expected as Record<string, unknown>;
    const keys = (o: Record<string, unknown>) => Object.keys(o).filter((k) => k !== 'definition' && o[k] !== undefined).sort();
    assert.deepEqual(keys(a), keys(e), `${path}: fields`);
    for (const k of keys(e)) assertStatisticsClose(a[k], e[k], `${path}.${k}`, tolerance);
    return;
  }
  assert.deepEqual(actual, expected, path);
}
