import type { Bucket, DDSketchState } from '../partial-statistics';
import { addWeights, type WeightedPoint } from './weighted-points';

/**
 * DDSketch (Masson, Rim and Lee, VLDB 2019) without bucket collapsing: a finite x > 0 is counted in
 * bucket i = ceil(ln x / ln γ), γ = (1 + α) / (1 − α), whose representative 2γ^i / (γ + 1) is within
 * α of every value in it, relatively; negatives mirror it and zeros have their own count. The index is
 * one SQL expression, so DuckDB builds the sketch with a GROUP BY, and sketches merge by adding counts.
 * Uncollapsed, the bucket count grows with the orders of magnitude spanned (about 115 per factor of 10
 * at α = 1%), not with the data.
 */
export const DDSKETCH_RELATIVE_ACCURACY = 0.01;
const GAMMA = (1 + DDSKETCH_RELATIVE_ACCURACY) / (1 - DDSKETCH_RELATIVE_ACCURACY);
const LN_GAMMA = Math.log(GAMMA);

export const DDSKETCH_METHOD = `DDSketch (relative accuracy ${DDSKETCH_RELATIVE_ACCURACY})`;

/** SQL for the bucket index of a finite non-zero DOUBLE; the literal is the same double as LN_GAMMA. */
export const ddsketchIndexSql = (xSql: string): string => `CAST(ceil(ln(abs(${xSql})) / ${LN_GAMMA}) AS INTEGER)`;

export const ddsketchIndexOf = (x: number): number => Math.ceil(Math.log(Math.abs(x)) / LN_GAMMA);

const representative = (index: number): number => (2 * Math.exp(index * LN_GAMMA)) / (GAMMA + 1);


function addBuckets(into: Map<number, [number, number | null]>, buckets: readonly Bucket[]): void {
  for (const [index, count, weight] of buckets) {
    const had = into.get(index);
    into.set(index, had ? [had[0] + count, addWeights(had[1], weight)] : [count, weight]);
  }
}

const sortedBuckets = (map: Map<number, [number, number | null]>): Bucket[] =>
  [...map].sort(([a], [b]) => a - b).map(([index, [count, weight]]) => [index, count, weight]);

/** A sketch of finite points (NaN and ±inf never reach it). */
export function ddsketchOf(points: Iterable<WeightedPoint>): DDSketchState {
  const positive = new Map<number, [number, number | null]>();
  const negative = new Map<number, [number, number | null]>();
  let zero: [number, number | null] = [0, null];
  for (const p of points) {
    if (p.x === 0) zero = [zero[0] + p.count, addWeights(zero[1], p.weight)];
    else addBuckets(p.x > 0 ? positive : negative, [[ddsketchIndexOf(p.x), p.count, p.weight]]);
  }
  return { kind: 'ddsketch', zero, positive: sortedBuckets(positive), negative: sortedBuckets(negative) };
}

export function mergeDDSketches(a: DDSketchState, b: DDSketchState): DDSketchState {
  const positive = new Map<number, [number, number | null]>();
  const negative = new Map<number, [number, number | null]>();
  addBuckets(positive, a.positive);
  addBuckets(positive, b.positive);
  addBuckets(negative, a.negative);
  addBuckets(negative, b.negative);
  return {
    kind: 'ddsketch',
    zero: [a.zero[0] + b.zero[0], addWeights(a.zero[1], b.zero[1])],
    positive: sortedBuckets(positive),
    negative: sortedBuckets(negative),
  };
}

/** The buckets as ascending points at their representatives, kept within the exact [min, max]. */
export function ddsketchPoints(sketch: DDSketchState, min: number, max: number): WeightedPoint[] {
  const clamp = (x: number) => Math.min(max, Math.max(min, x));
  const points: WeightedPoint[] = [];
  for (let i = sketch.negative.length - 1; i >= 0; i--) {
    const [index, count, weight] = sketch.negative[i]!;
    points.push({ x: clamp(-representative(index)), count, weight });
  }
  if (sketch.zero[0] > 0) points.push({ x: 0, count: sketch.zero[0], weight: sketch.zero[1] });
  for (const [index, count, weight] of sketch.positive) points.push({ x: clamp(representative(index)), count, weight });
  return points;
}
