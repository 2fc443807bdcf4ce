import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { columnOf, type Column } from '../../components/data/column-kinds';
import {
  ExampleStatisticsSchema,
  type ExampleStatistics,
  type FeatureStatistics,
  type Histogram,
  type NumericSummary,
  type SplitStatistics,
} from '../../components/statistics-gen/payload';

/**
 * Statistics payloads (statistics.json v2) computed in the test with plain DuckDB SQL over real rows,
 * one query per figure: the independent side for ExampleValidator's and the TFDV export's tests.
 * Scalar columns only; weights and slices are added by the tests that need them.
 */

const TOP_K = 10;
const RANKED = 100;
const BUCKETS = 10;

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

async function one(db: DuckDBConnection, sql: string): Promise<Record<string, unknown>> {
  return (await db.runAndReadAll(sql)).getRowObjectsJS()[0]!;
}

async function equalWidthHistogram(db: DuckDBConnection, rel: string, x: string, min: number, max: number, counts: { numNan: number; numUndefined: number }): Promise<Histogram> {
  const width = (max - min) / BUCKETS;
  const rows = (
    await db.runAndReadAll(
      `SELECT LEAST(${BUCKETS - 1}, CAST(FLOOR((${x} - ${min}) / ${width || 1}) AS INTEGER)) AS b, COUNT(*) AS n FROM ${rel} WHERE isfinite(${x}) GROUP BY b`,
    )
  ).getRowObjectsJS();
  const byBucket = new Map(rows.map((r) => [Number(r.b), Number(r.n)]));
  const buckets = Array.from({ length: width === 0 ? 1 : BUCKETS }, (_, i) => ({
    low: min + i * width,
    high: width === 0 ? max : i === BUCKETS - 1 ? max : min + (i + 1) * width,
    count: byBucket.get(i) ?? 0,
  }));
  return { type: 'STANDARD', buckets, ...counts };
}

async function quantilesHistogram(db: DuckDBConnection, rel: string, x: string, edges: number[], counts: { numNan: number; numUndefined: number }): Promise<Histogram> {
  const buckets = [];
  for (let i = 0; i + 1 < edges.length; i++) {
    const [low, high] = [edges[i]!, edges[i + 1]!];
    const lowTest = i === 0 ? `${x} >= ${low}` : `${x} > ${low}`;
    const r = await one(db, `SELECT COUNT(*) AS n FROM ${rel} WHERE isfinite(${x}) AND ${lowTest} AND ${x} <= ${high}`);
    buckets.push({ low, high, count: Number(r.n) });
  }
  return { type: 'QUANTILES', buckets, ...counts };
}

async function numericSummary(db: DuckDBConnection, rel: string, col: Column): Promise<NumericSummary> {
  const x = `CAST(${ident(col.name)} AS DOUBLE)`;
  const finite = `isfinite(${x})`;
  const qs = Array.from({ length: 11 }, (_, i) => i / 10);
  const r = await one(
    db,
    `SELECT MIN(${x}) FILTER (${finite}) AS min, MAX(${x}) FILTER (${finite}) AS max, AVG(${x}) FILTER (${finite}) AS mean,
       STDDEV_POP(${x}) FILTER (${finite}) AS std, QUANTILE_CONT(${x}, [${qs.join(', ')}]) FILTER (${finite}) AS q,
       COUNT(*) FILTER (${x} = 0) AS zeros, COUNT(*) FILTER (isnan(${x})) AS nan,
       COUNT(*) FILTER (${x} = 'Infinity'::DOUBLE) AS pos, COUNT(*) FILTER (${x} = '-Infinity'::DOUBLE) AS neg
     FROM ${rel}`,
  );
  const [numNan, numPosInf, numNegInf] = [Number(r.nan), Number(r.pos), Number(r.neg)];
  const counts = { numNan, numUndefined: numPosInf + numNegInf };
  const quantileValues = (r.q as number[] | null) ?? null;
  const [min, max] = [num(r.min), num(r.max)];
  const empty: Histogram = { type: 'STANDARD', buckets: [], ...counts };
  return {
    min,
    max,
    mean: num(r.mean),
    std: num(r.std),
    median: quantileValues ? quantileValues[5]! : null,
    quantiles: quantileValues ? { definition: 'linear interpolation (type 7)', points: qs.map((q, i) => ({ q, value: quantileValues[i]! })) } : null,
    numZeros: Number(r.zeros),
    numNan,
    numPosInf,
    numNegInf,
    standardHistogram: min !== null && max !== null ? await equalWidthHistogram(db, rel, x, min, max, counts) : empty,
    quantilesHistogram: quantileValues ? await quantilesHistogram(db, rel, x, quantileValues, counts) : { ...empty, type: 'QUANTILES' },
  };
}

async function featureStatistics(db: DuckDBConnection, rel: string, col: Column, rows: number): Promise<FeatureStatistics> {
  const c = ident(col.name);
  const r = await one(db, `SELECT COUNT(${c}) AS count, COUNT(DISTINCT ${c}) AS distinct FROM ${rel}`);
  const count = Number(r.count);
  const ranked = (
    await db.runAndReadAll(`SELECT CAST(${c} AS VARCHAR) AS value, COUNT(*) AS n FROM ${rel} WHERE ${c} IS NOT NULL GROUP BY 1 ORDER BY n DESC, value LIMIT ${RANKED}`)
  ).getRowObjectsJS();
  const rankHistogram = ranked.map((v, i) => ({ rank: i + 1, value: String(v.value), count: Number(v.n) }));
  const f: FeatureStatistics = {
    name: col.name,
    type: col.kind,
    physicalType: col.physicalType,
    valency: 'single',
    count,
    missing: rows - count,
    valueCounts: { min: count > 0 ? 1 : 0, max: count > 0 ? 1 : 0, mean: count > 0 ? 1 : null, total: count, histogram: count > 0 ? [{ low: 1, high: 1, count }] : [] },
    distinct: Number(r.distinct),
    topValues: rankHistogram.slice(0, TOP_K).map(({ value, count: n }) => ({ value, count: n })),
    rankHistogram,
  };
  if (col.kind === 'INT' || col.kind === 'FLOAT') f.numeric = await numericSummary(db, rel, col);
  if (col.kind === 'STRING') {
    const s = await one(db, `SELECT MIN(LENGTH(${c})) AS min, MAX(LENGTH(${c})) AS max, AVG(LENGTH(${c})) AS mean FROM ${rel}`);
    f.stringLength = { min: num(s.min), max: num(s.max), mean: num(s.mean) };
  }
  return f;
}

/** Statistics of one split: `relation` is a DuckDB table or a `(SELECT ...)`. */
export async function splitStatistics(db: DuckDBConnection, name: string, relation: string): Promise<SplitStatistics> {
  const reader = await db.runAndReadAll(`SELECT * FROM ${relation} LIMIT 0`);
  const types = reader.columnTypes();
  const columns = reader.columnNames().map((n, i) => columnOf(n, types[i]!));
  const rows = Number((await one(db, `SELECT COUNT(*) AS n FROM ${relation}`)).n);
  const features = [];
  for (const col of columns) features.push(await featureStatistics(db, relation, col, rows));
  return { name, numExamples: rows, features, slices: [] };
}

export function statisticsPayload(splits: SplitStatistics[]): ExampleStatistics {
  return ExampleStatisticsSchema.parse({
    version: 2,
    conventions: { std: 'population (ddof 0)', quantiles: 'linear interpolation (type 7)', histograms: '10 equal-width buckets over [min, max]', topValues: TOP_K, rankHistogramSize: RANKED, slices: [] },
    splits,
  });
}

/** A throwaway DuckDB connection for a test file (UTC, as the executors pin it). */
export async function openTestDb(): Promise<{ db: DuckDBConnection; close(): void }> {
  const instance = await DuckDBInstance.create(':memory:');
  const db = await instance.connect();
  await db.run(`SET TimeZone = 'UTC'`);
  return {
    db,
    close() {
      db.closeSync();
      instance.closeSync();
    },
  };
}
