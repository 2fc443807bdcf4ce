/** Plain TypeScript re-computations of the analyzers' definitions in expression.ts, for the Transform tests. */

export const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
export const popVar = (xs: number[]): number => mean(xs.map((x) => (x - mean(xs)) ** 2));
export const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);

export function median(xs: number[]): number {
  const s = sorted(xs);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The smallest value with at least k/n of the values at or below it, distinct, for k = 1..n-1. */
export function quantileBoundaries(xs: number[], n: number): number[] {
  const s = sorted(xs);
  const all = Array.from({ length: n - 1 }, (_, i) => s[Math.max(1, Math.ceil(((i + 1) * s.length) / n)) - 1]!);
  return all.filter((b, i) => i === 0 || all[i - 1] !== b);
}

/** Decreasing count, ties to the greater value; then topK, then the frequency threshold. */
export function vocabularyOf<T extends string | number>(values: T[], options: { topK?: number; frequencyThreshold?: number } = {}): T[] {
  const counts = new Map<T, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  const order = [...counts].sort(([a, ca], [b, cb]) => cb - ca || (a > b ? -1 : a < b ? 1 : 0));
  return order
    .slice(0, options.topK ?? order.length)
    .filter(([, c]) => c >= (options.frequencyThreshold ?? 1))
    .map(([v]) => v);
}
