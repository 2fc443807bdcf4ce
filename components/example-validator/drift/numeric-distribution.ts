/**
 * A distribution of finite numbers as the drift measures read it: point masses (exact value counts,
 * or a histogram's zero-width buckets) and intervals whose mass is spread uniformly between their
 * edges (a histogram's buckets, TFDV's assumption when it rebuckets). Its CDF is then a step function
 * for exact counts and piecewise linear for a histogram, so the Kolmogorov-Smirnov supremum and the
 * Wasserstein integral are exact sums over its breakpoints.
 */
export interface NumericDistribution {
  /** Distinct values ascending, each with its count. */
  points: ReadonlyArray<{ x: number; mass: number }>;
  /** Ascending, not overlapping one another, low < high. */
  intervals: ReadonlyArray<{ low: number; high: number; mass: number }>;
  /** Sum of all masses: the number of finite values. */
  total: number;
}

export function fromValueCounts(counts: Iterable<[number, number]>): NumericDistribution {
  const merged = new Map<number, number>();
  for (const [x, n] of counts) if (Number.isFinite(x) && n > 0) merged.set(x, (merged.get(x) ?? 0) + n);
  const points = [...merged].map(([x, mass]) => ({ x, mass })).sort((a, b) => a.x - b.x);
  return { points, intervals: [], total: points.reduce((s, p) => s + p.mass, 0) };
}

export function fromHistogram(buckets: ReadonlyArray<{ low: number; high: number; count: number }>): NumericDistribution {
  const points = new Map<number, number>();
  const intervals: Array<{ low: number; high: number; mass: number }> = [];
  for (const b of buckets) {
    if (b.count <= 0) continue;
    if (b.low === b.high) points.set(b.low, (points.get(b.low) ?? 0) + b.count);
    else intervals.push({ low: b.low, high: b.high, mass: b.count });
  }
  intervals.sort((a, b) => a.low - b.low);
  const pointList = [...points].map(([x, mass]) => ({ x, mass })).sort((a, b) => a.x - b.x);
  const total = pointList.reduce((s, p) => s + p.mass, 0) + intervals.reduce((s, i) => s + i.mass, 0);
  return { points: pointList, intervals, total };
}

/** Every x where the CDF has a jump or a kink, ascending, without repeats. */
export function breakpoints(...ds: NumericDistribution[]): number[] {
  const xs = new Set<number>();
  for (const d of ds) {
    for (const p of d.points) xs.add(p.x);
    for (const i of d.intervals) xs.add(i.low).add(i.high);
  }
  return [...xs].sort((a, b) => a - b);
}

/**
 * The CDF at ascending `xs`, as fractions of the total: `at[k]` = P(X ≤ xs[k]) and `before[k]` =
 * P(X < xs[k]) (they differ by a point mass at xs[k]). One sweep over the points; intervals are few
 * (a histogram's buckets), so each is added where it covers x.
 */
export function cdfAt(d: NumericDistribution, xs: readonly number[]): { at: Float64Array; before: Float64Array } {
  const at = new Float64Array(xs.length);
  const before = new Float64Array(xs.length);
  if (d.total === 0) return { at, before };
  let p = 0;
  let below = 0;
  for (let k = 0; k < xs.length; k++) {
    const x = xs[k]!;
    while (p < d.points.length && d.points[p]!.x < x) below += d.points[p++]!.mass;
    const here = p < d.points.length && d.points[p]!.x === x ? d.points[p]!.mass : 0;
    let spread = 0;
    for (const i of d.intervals) {
      if (x >= i.high) spread += i.mass;
      else if (x > i.low) spread += (i.mass * (x - i.low)) / (i.high - i.low);
    }
    before[k] = (below + spread) / d.total;
    at[k] = (below + here + spread) / d.total;
  }
  return { at, before };
}

/** The smallest x with P(X ≤ x) ≥ q (within an interval, where the linear CDF reaches q). */
export function quantile(d: NumericDistribution, q: number): number {
  const xs = breakpoints(d);
  const { at, before } = cdfAt(d, xs);
  for (let k = 0; k < xs.length; k++) {
    if (k > 0 && before[k]! >= q && before[k]! > at[k - 1]!) {
      const [x0, x1, f0, f1] = [xs[k - 1]!, xs[k]!, at[k - 1]!, before[k]!];
      return x0 + ((q - f0) / (f1 - f0)) * (x1 - x0);
    }
    if (at[k]! >= q) return xs[k]!;
  }
  return xs[xs.length - 1] ?? NaN;
}
