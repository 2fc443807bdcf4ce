/**
 * TFDV's L-infinity distance (`infinity_norm`, anomaly COMPARATOR_L_INFTY_HIGH): the largest absolute
 * difference between the two sides' normalised value frequencies,
 *
 *   L∞(p, q) = max over values v of |p(v) − q(v)|,  p(v) = count_a(v) / Σ count_a,  q likewise,
 *
 * over the union of the values (a value one side lacks has frequency 0 there). Categorical features
 * only: TFDV reads it from the rank histogram of string statistics (`LInftyDistance` in TFDV's
 * `anomalies/metrics.cc`, normalisation `kSeparateTotal`), which numeric features lack. In [0, 1].
 * Computed from value counts: the statistics' ranked values, or partial_statistics.json's exact counts;
 * O(distinct values).
 */
export function lInfinityDistance(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): { value: number; at: string | null } {
  const totalA = sum(a.values());
  const totalB = sum(b.values());
  let best = { value: 0, at: null as string | null };
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const p = totalA > 0 ? (a.get(key) ?? 0) / totalA : 0;
    const q = totalB > 0 ? (b.get(key) ?? 0) / totalB : 0;
    const d = Math.abs(p - q);
    if (d > best.value) best = { value: d, at: key };
  }
  return best;
}

function sum(xs: Iterable<number>): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}
