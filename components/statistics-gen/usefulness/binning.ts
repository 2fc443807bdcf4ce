import { sqlIdentifier, sqlString } from '../../data/sql';
import type { FeatureStatistics } from '../payload';
import type { Bin, Binning } from './payload';

/** A STRING, BOOL or small INT feature keeps its most frequent values as bins, the rest one `other` bin. */
export const FEATURE_VALUE_BINS = 20;
/** A label keeps more: a 30-class label should be scored by its classes, not by 20 and a remainder. */
export const LABEL_VALUE_BINS = 100;
/** Equal-frequency bins, cut at the deciles every statistics payload holds. */
export const QUANTILE_BINS = 10;

/** Bin codes that are not a kept value or range (kept values count from 1, ranges from 0). */
const MISSING = -1;
const NAN = -2;
const OTHER = 0;

/** How rows of one feature become bins: SQL giving each row's code, and the bin each code stands for. */
export interface BinPlan {
  method: Binning['method'];
  /** An INTEGER per row: never NULL, so a grouped NULL means "not this feature's grouping set". */
  codeSql: string;
  /** Every code a row may get that belongs in the payload even when empty (kept values, ranges). */
  codes: number[];
  binOf(code: number, count: number): Bin;
}

/** Whether a feature can be binned: one value per row of a kind with values (OTHER has none to compare). */
export function unbinnableReason(f: FeatureStatistics): string | null {
  if (f.valency === 'list') return `a list of values per row (${f.physicalType})`;
  if (f.type === 'OTHER') return `of type ${f.physicalType}, whose values are not compared`;
  return null;
}

/**
 * STRING and BOOL features, and INT features with at most FEATURE_VALUE_BINS distinct values (codes,
 * counts), are binned by value, keeping `maxValues`; other INT, FLOAT and TEMPORAL features at their
 * deciles. The INT limit is the same for a label: an INT label with more values is a quantity to
 * regress on (a mass in grams), not classes.
 */
export function planBins(f: FeatureStatistics, maxValues: number): BinPlan {
  return binsByValue(f) ? valuePlan(f, maxValues) : quantilePlan(f);
}

/** Whether a feature's values are categories (binned one by one) rather than a quantity (cut at deciles). */
export function binsByValue(f: FeatureStatistics): boolean {
  return f.type === 'STRING' || f.type === 'BOOL' || (f.type === 'INT' && f.distinct <= FEATURE_VALUE_BINS);
}

function valuePlan(f: FeatureStatistics, maxValues: number): BinPlan {
  // The rank histogram is exact unless the statistics say otherwise; a sketched one still names the
  // heavy hitters, which is all the choice of kept values needs.
  const values = f.rankHistogram.slice(0, maxValues).map((v) => v.value);
  const column = sqlIdentifier(f.name);
  // StatisticsGen names values by the same cast, so the kept values match the rows they came from.
  const list = `[${values.map(sqlString).join(', ')}]::VARCHAR[]`;
  return {
    method: 'values',
    codeSql: `CASE WHEN ${column} IS NULL THEN ${MISSING} ELSE coalesce(list_position(${list}, CAST(${column} AS VARCHAR)), ${OTHER}) END`,
    codes: values.map((_, i) => i + 1),
    binOf: (code, count) => {
      if (code === MISSING) return { kind: 'missing', count };
      if (code === OTHER) return { kind: 'other', count };
      return { kind: 'value', value: values[code - 1]!, count };
    },
  };
}

/** The statistics' interior deciles, ascending, each once: ties (a value holding 20% of rows) merge bins. */
export function decileEdges(f: FeatureStatistics): number[] {
  const points = f.numeric?.quantiles?.points ?? [];
  const deciles = points.filter((p) => {
    const tenths = p.q * QUANTILE_BINS;
    return p.q > 0 && p.q < 1 && Math.abs(tenths - Math.round(tenths)) < 1e-9;
  });
  return [...new Set(deciles.map((p) => p.value))].sort((a, b) => a - b);
}

function quantilePlan(f: FeatureStatistics): BinPlan {
  const edges = decileEdges(f);
  const column = sqlIdentifier(f.name);
  // Instants are binned as the statistics measured them: microseconds since the epoch.
  const value = f.type === 'TEMPORAL' ? `epoch_us(${column})` : `CAST(${column} AS DOUBLE)`;
  // Edges as text cast to DOUBLE: a numeric literal would be a DECIMAL, rounded twice on its way to a
  // double. A row's bin is how many edges are at or below its value: counted by list_filter, which ran
  // at about half the time of a chain of nine WHENs on flights-3m.
  const cuts = `[${edges.map((e) => `'${e}'`).join(', ')}]::DOUBLE[]`;
  const nan = f.type === 'FLOAT' ? `WHEN isnan(${value}) THEN ${NAN}` : '';
  return {
    method: 'quantiles',
    codeSql: `CASE WHEN ${column} IS NULL THEN ${MISSING} ${nan} ELSE len(list_filter(${cuts}, lambda e: e <= ${value}))::INTEGER END`,
    codes: Array.from({ length: edges.length + 1 }, (_, i) => i),
    binOf: (code, count) => {
      if (code === MISSING) return { kind: 'missing', count };
      if (code === NAN) return { kind: 'nan', count };
      return { kind: 'range', low: edges[code - 1] ?? null, high: edges[code] ?? null, count };
    },
  };
}

/** The payload's bins: every kept value or range (empty ones too), then other, NaN and missing where rows fell. */
export function binningOf(plan: BinPlan, counts: ReadonlyMap<number, number>): Binning {
  const kept = new Set(plan.codes);
  const extra = [OTHER, NAN, MISSING].filter((c) => !kept.has(c) && counts.has(c));
  return { method: plan.method, bins: [...plan.codes, ...extra].map((code) => plan.binOf(code, counts.get(code) ?? 0)) };
}
