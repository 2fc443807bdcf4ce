import type { PartialFeature } from '../../statistics-gen/partial-statistics';
import type { FeatureStatistics } from '../../statistics-gen/payload';
import { fromHistogram, fromValueCounts, type NumericDistribution } from './numeric-distribution';

/** One feature of one side of a comparison: its statistics, and its mergeable state when the artifact has partial_statistics.json. */
export interface FeatureSide {
  statistics: FeatureStatistics;
  partial: PartialFeature | undefined;
}

export const SOURCES = {
  exact: 'exact value counts',
  ranked: 'ranked values',
  standard: 'STANDARD histograms',
  standardExact: "exact value counts in the STANDARD histograms' aligned buckets",
  quantiles: 'QUANTILES histograms',
} as const;

/**
 * The feature's exact count per distinct value (DuckDB's text of it, and its number), from
 * partial_statistics.json: there while a split has at most its cap of distinct values (100 000), then
 * sketched.
 */
function exactEntries(side: FeatureSide): Array<[string, number | null, number]> | undefined {
  const distribution = side.partial?.values.distribution;
  return distribution?.kind === 'exact' ? distribution.entries.map(([text, number, count]) => [text, number, count]) : undefined;
}

/**
 * Value → count for a categorical feature: exact when both sides have exact counts, otherwise the
 * statistics' ranked values on both sides (TFDV's source; values ranked below the rank histogram's
 * size are left out, which `note` says).
 */
export function categoricalCounts(a: FeatureSide, b: FeatureSide): { counts: [Map<string, number>, Map<string, number>]; source: string; note?: string } {
  const exact = [exactEntries(a), exactEntries(b)];
  if (exact[0] && exact[1]) {
    return { counts: exact.map((entries) => new Map(entries!.map(([text, , n]) => [text, n]))) as [Map<string, number>, Map<string, number>], source: SOURCES.exact };
  }
  const counts = [a, b].map((s) => new Map(s.statistics.rankHistogram.map((r) => [r.value, r.count]))) as [Map<string, number>, Map<string, number>];
  const cut = [a, b].filter((s) => s.statistics.rankHistogram.length < s.statistics.distinct).length > 0;
  return { counts, source: SOURCES.ranked, ...(cut ? { note: 'values below the rank histogram of the statistics are left out' } : {}) };
}

/**
 * The finite values of a numeric feature: exact when both sides have exact counts, otherwise each
 * side's QUANTILES histogram (equal-mass buckets: finest where the values are), spread uniformly
 * within a bucket.
 */
export function numericDistributions(a: FeatureSide, b: FeatureSide): { distributions: [NumericDistribution, NumericDistribution]; source: string } {
  const exact = [exactEntries(a), exactEntries(b)];
  if (exact[0] && exact[1]) {
    const distributions = exact.map((entries) => fromValueCounts(entries!.flatMap(([, x, n]): Array<[number, number]> => (x === null ? [] : [[x, n]])))) as [NumericDistribution, NumericDistribution];
    return { distributions, source: SOURCES.exact };
  }
  const distributions = [a, b].map((s) => fromHistogram(s.statistics.numeric?.quantilesHistogram.buckets ?? [])) as [NumericDistribution, NumericDistribution];
  return { distributions, source: SOURCES.quantiles };
}
