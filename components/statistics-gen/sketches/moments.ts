import type { Moments } from '../partial-statistics';

export const NO_MOMENTS: Moments = { n: 0, mean: 0, m2: 0 };

/**
 * Chan, Golub and LeVeque's parallel update ("Updating formulae and a pairwise algorithm for computing
 * sample variances", 1979): the moments of the union of two disjoint sets from each set's count, mean and
 * M2, without the cancellation of sum-of-squares formulas. With weights as counts it is West's (1979)
 * weighted form.
 */
export function mergeMoments(a: Moments, b: Moments): Moments {
  if (a.n === 0) return b;
  if (b.n === 0) return a;
  const n = a.n + b.n;
  const delta = b.mean - a.mean;
  return { n, mean: a.mean + delta * (b.n / n), m2: a.m2 + b.m2 + delta * delta * ((a.n * b.n) / n) };
}

/** Population standard deviation (ddof 0); null without values. */
export function populationStd(m: Moments): number | null {
  return m.n > 0 ? Math.sqrt(m.m2 / m.n) : null;
}
