import type { Moments } from '../partial-statistics';

export const NO_MOMENTS: Moments = { n: 0, shift: 0, meanOffset: 0, m2: 0 };

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
  // Both means relative to the smaller shift: the shifts' difference is exact for values of one scale.
  const shift = Math.min(a.shift, b.shift);
  const meanA = a.meanOffset + (a.shift - shift);
  const meanB = b.meanOffset + (b.shift - shift);
  const delta = meanB - meanA;
  return { n, shift, meanOffset: meanA + delta * (b.n / n), m2: a.m2 + b.m2 + delta * delta * ((a.n * b.n) / n) };
}

export function meanOf(m: Moments): number | null {
  return m.n > 0 ? m.shift + m.meanOffset : null;
}

/** Population standard deviation (ddof 0); null without values. */
export function populationStd(m: Moments): number | null {
  return m.n > 0 ? Math.sqrt(m.m2 / m.n) : null;
}
