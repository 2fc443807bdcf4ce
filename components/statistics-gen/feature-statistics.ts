import { DuckDBTypeId } from '@duckdb/node-api';
import type { FeatureStatistics, SplitStatistics, TopValue } from './payload';
import type { Column } from '../data/column-kinds';
import type { DuckDbSession, QueryProgress } from '../data/duckdb-session';
import { sqlIdentifier } from '../data/sql';

export interface SplitStatisticsRequest {
  name: string;
  /** A relation (e.g. a `read_parquet(...)` call) holding the split's rows. */
  relationSql: string;
  columns: readonly Column[];
  topK: number;
  onProgress?: (progress: QueryProgress) => void;
}

type Row = Record<string, unknown>;

/** Each feature's aggregates get column aliases `f<index>_<what>`, immune to odd feature names. */
const alias = (i: number, what: string) => sqlIdentifier(`f${i}_${what}`);

/** Aggregates over the raw rows: everything is computed in one pass over the split. */
function aggregatesSql(col: Column, i: number): string[] {
  const c = sqlIdentifier(col.name);
  const parts = [`count(${c}) AS ${alias(i, 'count')}`];
  switch (col.kind) {
    case 'INT':
      parts.push(
        `count(DISTINCT ${c}) AS ${alias(i, 'distinct')}`,
        `CAST(min(${c}) AS DOUBLE) AS ${alias(i, 'min')}`,
        `CAST(max(${c}) AS DOUBLE) AS ${alias(i, 'max')}`,
        `avg(${c}) AS ${alias(i, 'mean')}`,
        `stddev_pop(${c}) AS ${alias(i, 'std')}`,
      );
      break;
    case 'FLOAT': {
      const x = col.typeId === DuckDBTypeId.DOUBLE ? c : `CAST(${c} AS DOUBLE)`;
      const finite = `FILTER (WHERE isfinite(${x}))`;
      parts.push(
        `count(DISTINCT ${c}) AS ${alias(i, 'distinct')}`,
        `min(${x}) ${finite} AS ${alias(i, 'min')}`,
        `max(${x}) ${finite} AS ${alias(i, 'max')}`,
        `avg(${x}) ${finite} AS ${alias(i, 'mean')}`,
        `stddev_pop(${x}) ${finite} AS ${alias(i, 'std')}`,
        `count(*) FILTER (WHERE NOT isfinite(${x})) AS ${alias(i, 'nonfinite')}`,
      );
      break;
    }
    case 'STRING':
      // histogram() is exact counts per value: distinct count and top values both come from it.
      parts.push(`histogram(CAST(${c} AS VARCHAR)) AS ${alias(i, 'hist')}`, `avg(length(CAST(${c} AS VARCHAR))) AS ${alias(i, 'avglen')}`);
      break;
    case 'BOOL':
      parts.push(`histogram(${c}) AS ${alias(i, 'hist')}`);
      break;
    case 'TEMPORAL':
      parts.push(
        `count(DISTINCT ${c}) AS ${alias(i, 'distinct')}`,
        `CAST(min(${c}) AS VARCHAR) AS ${alias(i, 'min')}`,
        `CAST(max(${c}) AS VARCHAR) AS ${alias(i, 'max')}`,
      );
      break;
    case 'OTHER':
      // Text form: DISTINCT is not defined on every nested or exotic type.
      parts.push(`count(DISTINCT CAST(${c} AS VARCHAR)) AS ${alias(i, 'distinct')}`);
      break;
  }
  return parts;
}

/** Derived from a histogram on the single aggregated row: cheap, no second pass over the data. */
function histogramDerivedSql(i: number, topK: number): string[] {
  const hist = alias(i, 'hist');
  return [
    `cardinality(${hist}) AS ${alias(i, 'distinct')}`,
    `list_slice(list_sort(list_transform(map_entries(${hist}), e -> {neg_count: -CAST(e.value AS BIGINT), value: CAST(e.key AS VARCHAR)})), 1, ${topK}) AS ${alias(i, 'top')}`,
  ];
}

export function splitStatisticsSql(relationSql: string, columns: readonly Column[], topK: number): string {
  const inner = [`count(*) AS n`, ...columns.flatMap(aggregatesSql)].join(',\n  ');
  const histograms = columns.flatMap((col, i) => (col.kind === 'STRING' || col.kind === 'BOOL' ? [i] : []));
  const outer =
    histograms.length === 0
      ? '*'
      : [`* EXCLUDE (${histograms.map((i) => alias(i, 'hist')).join(', ')})`, ...histograms.flatMap((i) => histogramDerivedSql(i, topK))].join(
          ',\n  ',
        );
  return `SELECT ${outer}\nFROM (SELECT\n  ${inner}\nFROM ${relationSql})`;
}

function num(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

function int(value: unknown): number {
  return num(value) ?? 0;
}

function text(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

function topValues(value: unknown): TopValue[] {
  return (Array.isArray(value) ? value : []).map((entry: { neg_count: bigint | number; value: string }) => ({
    value: String(entry.value),
    count: -Number(entry.neg_count),
  }));
}

function featureStatistics(col: Column, i: number, row: Row, numExamples: number): FeatureStatistics {
  const get = (what: string) => row[`f${i}_${what}`];
  const present = int(get('count'));
  const name = col.name;
  const common = {
    physicalType: col.physicalType,
    count: present,
    missing: numExamples - present,
    distinct: int(get('distinct')),
  };
  switch (col.kind) {
    case 'INT':
    case 'FLOAT':
      return {
        name,
        type: col.kind,
        ...common,
        min: num(get('min')),
        max: num(get('max')),
        mean: num(get('mean')),
        std: num(get('std')),
        nonFinite: col.kind === 'FLOAT' ? int(get('nonfinite')) : 0,
      };
    case 'STRING':
      return { name, type: 'STRING', ...common, avgLength: num(get('avglen')), topValues: topValues(get('top')) };
    case 'BOOL':
      return { name, type: 'BOOL', ...common, topValues: topValues(get('top')) };
    case 'TEMPORAL':
      return { name, type: 'TEMPORAL', ...common, min: text(get('min')), max: text(get('max')) };
    case 'OTHER':
      return { name, type: 'OTHER', ...common };
  }
}

/** Statistics of one split, from a single aggregate query (one scan of the split's files). */
export async function computeSplitStatistics(db: DuckDbSession, request: SplitStatisticsRequest): Promise<SplitStatistics> {
  const reader = await db.query(splitStatisticsSql(request.relationSql, request.columns, request.topK), request.onProgress);
  const row = reader.getRowObjectsJS()[0] as Row;
  const numExamples = int(row.n);
  return {
    name: request.name,
    numExamples,
    features: request.columns.map((col, i) => featureStatistics(col, i, row, numExamples)),
  };
}
