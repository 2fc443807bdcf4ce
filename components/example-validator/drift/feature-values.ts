import type { PartialFeature } from '../../statistics-gen/partial-statistics';
import type { FeatureStatistics } from '../../statistics-gen/payload';
import { DDSKETCH_RELATIVE_ACCURACY, ddsketchOf, ddsketchPoints } from '../../statistics-gen/sketches/ddsketch';
import type { WeightedPoint } from '../../statistics-gen/sketches/weighted-points';
import { finiteEntryPoints, finitePoints } from '../../statistics-gen/value-distribution';
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
  quantiles: 'QUANTILES histograms',
  ddsketch: `DDSketch bins (relative accuracy ${DDSKETCH_RELATIVE_ACCURACY})`,
} as const;

const coarsenedSource = (unitMicros: number): string => `instants counted per unit of ${unitMicros} µs`;

/** The source of a numeric JSD whose values are counted in TFDV's aligned STANDARD buckets. */
export const inAlignedStandardBuckets = (source: string): string => `${source} in the STANDARD histograms' aligned buckets`;

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

interface NumericSide {
  distribution: NumericDistribution;
  source: string;
  /** Built from the values (counts or sketch bins), not from a histogram's buckets. */
  fromValues: boolean;
}

const isDDSketched = (side: FeatureSide): boolean => {
  const distribution = side.partial?.values.distribution;
  return distribution?.kind === 'sketch' && distribution.numbers?.kind === 'ddsketch';
};

/**
 * A side's finite values, from the best it has: exact counts; beyond the cap its numbers' sketch, each
 * bin a point mass at its representative kept within the exact [min, max] (a DDSketch bin within 1% of
 * every value in it, relatively; a coarsened instant within one unit); last, for statistics without
 * partial state, its QUANTILES histogram (equal-mass buckets: finest where the values are) spread
 * uniformly within a bucket, which spreads a heavy tail's top tenth over its whole range.
 *
 * Exact counts compared with a DDSketch go into DDSketch bins too (`binLikeOther`): moved to the same
 * representatives, a bin's one distinct value is only relabelled alike on both sides, so the CDFs
 * differ from the exact ones only within bins holding several values; left exact, every bin of the
 * sketched side would be off by its whole mass (KS 0.33 for 0.31 on a shift of flights' delay).
 */
function numericSide(side: FeatureSide, binLikeOther: boolean): NumericSide {
  const distribution = side.partial?.values.distribution;
  const numeric = side.partial?.values.numeric;
  const counts = (points: readonly WeightedPoint[]) => fromValueCounts(points.map((p): [number, number] => [p.x, p.count]));
  if (distribution?.kind === 'exact') {
    const exact = finiteEntryPoints(distribution.entries);
    if (!binLikeOther || !numeric || numeric.min === null || numeric.max === null) return { distribution: counts(exact), source: SOURCES.exact, fromValues: true };
    return { distribution: counts(ddsketchPoints(ddsketchOf(exact), numeric.min, numeric.max)), source: SOURCES.ddsketch, fromValues: true };
  }
  const sketch = distribution?.numbers;
  if (sketch && numeric && numeric.min !== null && numeric.max !== null) {
    const source = sketch.kind === 'ddsketch' ? SOURCES.ddsketch : coarsenedSource(sketch.unitMicros);
    return { distribution: counts(finitePoints(distribution, numeric.min, numeric.max)), source, fromValues: true };
  }
  return { distribution: fromHistogram(side.statistics.numeric?.quantilesHistogram.buckets ?? []), source: SOURCES.quantiles, fromValues: false };
}

/**
 * The finite values of a numeric feature on both sides, each from the best it has (see numericSide),
 * with where they came from; `fromValues` when neither is a histogram.
 */
export function numericDistributions(a: FeatureSide, b: FeatureSide): { distributions: [NumericDistribution, NumericDistribution]; source: string; fromValues: boolean } {
  const [base, compared] = [numericSide(a, isDDSketched(b)), numericSide(b, isDDSketched(a))];
  const source = base.source === compared.source ? base.source : `baseline: ${base.source}; compared: ${compared.source}`;
  return { distributions: [base.distribution, compared.distribution], source, fromValues: base.fromValues && compared.fromValues };
}
