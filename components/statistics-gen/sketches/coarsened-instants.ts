import type { Bucket, CoarsenedState } from '../partial-statistics';
import { addWeights, type WeightedPoint } from './weighted-points';

/**
 * Instants (microseconds since the epoch) beyond the exact-count cap: counts per bucket of 2^k µs, with
 * the smallest k that keeps the buckets within the cap. A bucket of 2^k is a union of buckets of any
 * finer power of two, so two states merge exactly by coarsening both to the coarser unit, and a merge
 * that outgrows the cap coarsens until it fits: the result is the state one pass over both would give.
 * Every figure built from it is within one unit (2^k µs) of the exact one.
 */
export const COARSENED_METHOD = 'counts per power-of-two unit of time';
export const coarsenedError = (unitMicros: number): string =>
  `each value known to within one unit of ${unitMicros} µs (${describeMicros(unitMicros)}): quantiles and histogram edges are within one unit of the exact ones`;

function describeMicros(us: number): string {
  const units: Array<[number, string]> = [
    [86_400e6, 'days'],
    [3_600e6, 'hours'],
    [60e6, 'minutes'],
    [1e6, 's'],
    [1e3, 'ms'],
  ];
  const [size, name] = units.find(([size]) => us >= size) ?? [1, 'µs'];
  return `${(us / size).toPrecision(3)} ${name}`;
}

const startOf = (x: number, unit: number): number => Math.floor(x / unit) * unit;

function coarsen(buckets: readonly Bucket[], unit: number): Map<number, [number, number | null]> {
  const out = new Map<number, [number, number | null]>();
  for (const [start, count, weight] of buckets) {
    const s = startOf(start, unit);
    const had = out.get(s);
    out.set(s, had ? [had[0] + count, addWeights(had[1], weight)] : [count, weight]);
  }
  return out;
}

/** The finest power-of-two unit at or above `minUnit` that leaves at most `cap` buckets. */
function fit(buckets: readonly Bucket[], minUnit: number, cap: number): CoarsenedState {
  let unit = minUnit;
  let map = coarsen(buckets, unit);
  while (map.size > cap) {
    unit *= 2;
    map = coarsen(buckets, unit);
  }
  return {
    kind: 'coarsened',
    unitMicros: unit,
    buckets: [...map].sort(([a], [b]) => a - b).map(([start, [count, weight]]) => [start, count, weight]),
  };
}

/** Exact instants (integral microseconds) into the finest unit within the cap. */
export function coarsenedOf(points: readonly WeightedPoint[], cap: number): CoarsenedState {
  return fit(
    points.map((p) => [p.x, p.count, p.weight]),
    1,
    cap,
  );
}

export function mergeCoarsened(a: CoarsenedState, b: CoarsenedState, cap: number): CoarsenedState {
  return fit([...a.buckets, ...b.buckets], Math.max(a.unitMicros, b.unitMicros), cap);
}

/** Buckets as ascending points at their start, kept within the exact [min, max]. */
export function coarsenedPoints(state: CoarsenedState, min: number, max: number): WeightedPoint[] {
  return state.buckets.map(([start, count, weight]) => ({ x: Math.min(max, Math.max(min, start)), count, weight }));
}
