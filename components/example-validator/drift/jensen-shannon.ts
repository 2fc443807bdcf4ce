import type { Histogram } from '../../statistics-gen/payload';
import { binFractions } from './population-stability';
import type { NumericDistribution } from './numeric-distribution';

/**
 * TFDV's approximate Jensen-Shannon divergence (`jensen_shannon_divergence`, anomaly
 * COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH), as `JensenShannonDivergence` in TFDV's
 * `anomalies/metrics.cc`:
 *
 *   JSD(P, Q) = ½ KL(P ‖ M) + ½ KL(Q ‖ M),  M = (P + Q) / 2,  KL(P ‖ M) = Σ p_i log2(p_i / m_i),
 *
 * a divergence (not its square root, the JS *distance* Evidently reports), with log base 2, so in
 * [0, 1]. Computed from the statistics: categorical features on their value counts, numeric ones on
 * the two STANDARD (equal-width) histograms brought to shared buckets; O(buckets). Where both sides
 * have exact value counts, the shared buckets are counted exactly instead of spread uniformly: TFDV's
 * spreading makes two samples of one distribution differ wherever their ranges (their extremes, so
 * their equal-width edges) differ, e.g. 0.12 on a random 2:1 split of flights-3m's heavy-tailed delay,
 * where every other measure is below 0.002. Beyond the exact-count cap the values are the DDSketch
 * bins (α = 1%), counted in those buckets alike: only what a bin at a bucket edge holds can land on the
 * wrong side of it (measured on 20k flights: within 0.0012; the spread histograms gave 0.11 for 0.003).
 */

/** Over the union of values of two value-count maps; a value one side lacks has probability 0 there. */
export function jensenShannonDivergenceOfCounts(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): number {
  const keys = [...new Set([...a.keys(), ...b.keys()])];
  return jensenShannonDivergence(
    keys.map((k) => a.get(k) ?? 0),
    keys.map((k) => b.get(k) ?? 0),
  );
}

/** Two aligned vectors of counts (or masses), each normalised to sum to 1. */
export function jensenShannonDivergence(countsA: readonly number[], countsB: readonly number[]): number {
  const totalA = countsA.reduce((s, c) => s + c, 0);
  const totalB = countsB.reduce((s, c) => s + c, 0);
  if (totalA <= 0 || totalB <= 0) return NaN;
  let kl = 0;
  for (let i = 0; i < countsA.length; i++) {
    const p = countsA[i]! / totalA;
    const q = countsB[i]! / totalB;
    const m = (p + q) / 2;
    if (p > 0) kl += p * Math.log2(p / m);
    if (q > 0) kl += q * Math.log2(q / m);
  }
  return Math.min(kl / 2, 1);
}

/**
 * Two histograms of a numeric feature on shared buckets, TFDV's `AlignHistograms`: zero-width buckets
 * become point masses matched by value; the other buckets are cut at the union of both histograms'
 * edges, each bucket's count spread over its cuts in proportion to their widths (uniform within a
 * bucket); NaN values get a bucket of their own, and ±infinite values another.
 *
 * One difference from TFDV, on purpose: TFDV gives each side's NaN (and infinite) mass a bucket of its
 * own, so two datasets with the same NaN fraction p differ there as if they had none in common (by
 * up to p); here the two sides share the NaN bucket and the infinite one, as they share every other.
 */
export function alignHistograms(a: Histogram, b: Histogram): [number[], number[]] {
  const [ranged, points] = [[a, b].map((h) => h.buckets.filter((x) => x.low !== x.high)), [a, b].map((h) => h.buckets.filter((x) => x.low === x.high))];
  const edges = sharedEdges(a, b);
  const rebucketed = ranged.map((bs) => rebucket(bs, edges));
  const pointValues = [...new Set(points.flatMap((bs) => bs.map((x) => x.low)))].sort((x, y) => x - y);
  const pointMass = points.map((bs) => pointValues.map((v) => bs.filter((x) => x.low === v).reduce((s, x) => s + x.count, 0)));
  const tail = [a, b].map((h) => [h.numNan, h.numUndefined]);
  return [0, 1].map((i) => [...rebucketed[i]!, ...pointMass[i]!, ...tail[i]!]) as [number[], number[]];
}

/** A histogram's counts in the buckets between consecutive `edges` (which hold every one of its own edges). */
function rebucket(buckets: ReadonlyArray<{ low: number; high: number; count: number }>, edges: readonly number[]): number[] {
  const out = new Array<number>(Math.max(0, edges.length - 1)).fill(0);
  for (const b of buckets) {
    for (let k = 0; k + 1 < edges.length; k++) {
      const [lo, hi] = [edges[k]!, edges[k + 1]!];
      if (lo >= b.low && hi <= b.high) out[k]! += (b.count * (hi - lo)) / (b.high - b.low);
    }
  }
  return out;
}

/** TFDV's approximate JSD of two numeric features' histograms (see above). */
export function jensenShannonDivergenceOfHistograms(a: Histogram, b: Histogram): number {
  const [p, q] = alignHistograms(a, b);
  return jensenShannonDivergence(p, q);
}

/** The edges TFDV cuts both histograms at: every edge of either's buckets of non-zero width, ascending. */
export function sharedEdges(a: Histogram, b: Histogram): number[] {
  return [...new Set([a, b].flatMap((h) => h.buckets.filter((x) => x.low !== x.high).flatMap((x) => [x.low, x.high])))].sort((x, y) => x - y);
}

/**
 * TFDV's JSD on the buckets it would align the two histograms to, each side's values counted exactly
 * there (values at most an edge fall in the bucket below it; the smallest value in a bucket of its
 * own), NaN and ±infinite values in shared buckets of their own as above.
 */
export function jensenShannonDivergenceOfValues(a: { values: NumericDistribution; histogram: Histogram }, b: { values: NumericDistribution; histogram: Histogram }): number {
  const edges = sharedEdges(a.histogram, b.histogram);
  const counts = [a, b].map((side) => [...binFractions(side.values, edges).map((f) => f * side.values.total), side.histogram.numNan, side.histogram.numUndefined]);
  return jensenShannonDivergence(counts[0]!, counts[1]!);
}
