import type { Histogram } from './payload';
import type { WeightedPoint } from './sketches/weighted-points';

/** Figures over finite values given as ascending weighted points (exact values, or a sketch's representatives). */

export const QUANTILE_DEFINITION =
  "linear interpolation between the order statistics around rank q·(n−1) (Hyndman-Fan type 7: numpy's default, DuckDB's quantile_cont)";
export const WEIGHTED_QUANTILE_DEFINITION =
  'the smallest value whose cumulative weight reaches q × the total weight (inverted CDF, Hyndman-Fan type 1 with weights); q = 0 gives the smallest value of positive weight';
export const HISTOGRAM_CONVENTION =
  'STANDARD: equal-width buckets over [min, max] of the finite values, each [low, high) but the last [low, max] (one bucket when min = max); ' +
  'QUANTILES: buckets between the quantiles at i/buckets, each holding count/buckets (TFDV\'s convention); NaN and ±inf in numNan and numUndefined, never in a bucket';

/** Type 7 quantiles at each of `qs` (ascending), from points with counts. */
export function quantilesOf(points: readonly WeightedPoint[], qs: readonly number[]): number[] {
  const cumulative: number[] = [];
  let n = 0;
  for (const p of points) cumulative.push((n += p.count));
  // The value of 0-based order statistic `rank`: the first point whose cumulative count exceeds it.
  const orderStatistic = (rank: number): number => {
    let lo = 0;
    let hi = points.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! > rank) hi = mid;
      else lo = mid + 1;
    }
    return points[lo]!.x;
  };
  return qs.map((q) => {
    const h = (n - 1) * q;
    const below = Math.floor(h);
    const low = orderStatistic(below);
    const fraction = h - below;
    return fraction === 0 ? low : low + fraction * (orderStatistic(below + 1) - low);
  });
}

/** Weighted quantiles (WEIGHTED_QUANTILE_DEFINITION); null without positive weight. */
export function weightedQuantilesOf(points: readonly WeightedPoint[], qs: readonly number[]): number[] | null {
  const positive = points.filter((p) => (p.weight ?? 0) > 0);
  const cumulative: number[] = [];
  let total = 0;
  for (const p of positive) cumulative.push((total += p.weight!));
  if (positive.length === 0) return null;
  return qs.map((q) => {
    const target = q * total;
    const i = cumulative.findIndex((c) => c >= target);
    return positive[i === -1 ? positive.length - 1 : i]!.x;
  });
}

/** Equal-width buckets over [min, max]; `mass` picks counts or weights. */
export function standardHistogram(
  points: readonly WeightedPoint[],
  buckets: number,
  mass: (p: WeightedPoint) => number,
  nonFinite: { numNan: number; numUndefined: number },
): Histogram {
  if (points.length === 0) return { type: 'STANDARD', buckets: [], ...nonFinite };
  const min = points[0]!.x;
  const max = points.at(-1)!.x;
  if (min === max) return { type: 'STANDARD', buckets: [{ low: min, high: max, count: points.reduce((s, p) => s + mass(p), 0) }], ...nonFinite };
  const width = (max - min) / buckets;
  const out = Array.from({ length: buckets }, (_, i) => ({ low: min + i * width, high: i === buckets - 1 ? max : min + (i + 1) * width, count: 0 }));
  for (const p of points) out[Math.min(buckets - 1, Math.floor((p.x - min) / width))]!.count += mass(p);
  return { type: 'STANDARD', buckets: out, ...nonFinite };
}

/** Buckets between consecutive quantiles (`edges`: buckets + 1 of them), each with an equal share of `total`. */
export function quantilesHistogram(edges: readonly number[] | null, total: number, nonFinite: { numNan: number; numUndefined: number }): Histogram {
  if (edges === null || total === 0) return { type: 'QUANTILES', buckets: [], ...nonFinite };
  const share = total / (edges.length - 1);
  return { type: 'QUANTILES', buckets: edges.slice(1).map((high, i) => ({ low: edges[i]!, high, count: share })), ...nonFinite };
}

/** 0, 1/n, ..., 1. */
export const evenlySpaced = (n: number): number[] => Array.from({ length: n + 1 }, (_, i) => (i === n ? 1 : i / n));
