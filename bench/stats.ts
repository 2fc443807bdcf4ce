/** Small helpers shared by the benchmark scripts. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export const median = (values: number[]) => percentile(values, 50);

export function fmtMs(ms: number): string {
  return `${ms.toFixed(1)} ms`;
}

/** Rows/s of `run` on batches of `batch` rows, run for about `seconds` after one warm-up call. */
export async function rowsPerSecond(batch: number, run: () => Promise<void>, seconds: number): Promise<number> {
  await run();
  const start = performance.now();
  let calls = 0;
  while (performance.now() - start < seconds * 1000) {
    await run();
    calls++;
  }
  return (calls * batch) / ((performance.now() - start) / 1000);
}

/** The median wall time of `runs` calls of `fn`, and the last call's result. */
export function medianTime<T>(runs: number, fn: () => T): { ms: number; result: T } {
  const times: number[] = [];
  let result!: T;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    result = fn();
    times.push(performance.now() - start);
  }
  return { ms: median(times), result };
}
