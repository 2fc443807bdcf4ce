import { breakpoints, cdfAt, type NumericDistribution } from './numeric-distribution';

/**
 * Two-sample Kolmogorov-Smirnov test (reported with its p-value; raises no anomaly): the statistic
 *
 *   D = sup over x of |F(x) − G(x)|,
 *
 * F and G the two empirical CDFs, and the p-value of the asymptotic Kolmogorov distribution,
 *
 *   p = Q_KS(√(n·m / (n + m)) · D),   Q_KS(λ) = 2 Σ_{k≥1} (−1)^{k−1} e^{−2k²λ²},
 *
 * scipy's `kstwobign.sf(sqrt(n*m/(n+m)) * D)`. scipy's `ks_2samp(method='asymp')` differs slightly:
 * it evaluates the exact one-sample distribution at n·m/(n + m) rounded; both approach each other as
 * the samples grow, and neither is exact for small samples (flagged as such; see comparisons). No
 * exact small-sample p-value is computed. With ties (discrete data) the test is conservative.
 *
 * Computed from value counts, exact from partial_statistics.json's counts (D equals scipy's
 * `ks_2samp` statistic on the raw values); beyond the exact-count cap from the DDSketch bins (α = 1%),
 * whose CDFs are exact at every bin edge: D is then at most the exact one and below it by at most the
 * share of a side in one bin holding several distinct values (a bin with one value only relabels it);
 * only without partial state from the statistics' quantiles histograms, values spread uniformly within
 * a bucket. O(distinct values or bins).
 */
export function kolmogorovSmirnovStatistic(a: NumericDistribution, b: NumericDistribution): number {
  const xs = breakpoints(a, b);
  if (a.total === 0 || b.total === 0) return NaN;
  const fa = cdfAt(a, xs);
  const fb = cdfAt(b, xs);
  let d = 0;
  // Both CDFs are linear between breakpoints, so the supremum is at a breakpoint or just before one.
  for (let k = 0; k < xs.length; k++) d = Math.max(d, Math.abs(fa.at[k]! - fb.at[k]!), Math.abs(fa.before[k]! - fb.before[k]!));
  return d;
}

/** Q_KS(λ) = P(K > λ) for the Kolmogorov distribution K. */
export function kolmogorovSurvival(lambda: number): number {
  if (!(lambda > 0)) return 1;
  // Small λ: the alternating series converges too slowly; use Jacobi's dual form for the CDF instead.
  if (lambda < 1.18) {
    const c = -(Math.PI * Math.PI) / (8 * lambda * lambda);
    let s = 0;
    for (let k = 1; k <= 20; k++) s += Math.exp(c * (2 * k - 1) ** 2);
    return Math.min(1, Math.max(0, 1 - (Math.sqrt(2 * Math.PI) / lambda) * s));
  }
  let s = 0;
  for (let k = 1; k <= 100; k++) {
    const term = Math.exp(-2 * k * k * lambda * lambda);
    s += (k % 2 === 1 ? 1 : -1) * term;
    if (term < 1e-300) break;
  }
  return Math.min(1, Math.max(0, 2 * s));
}

export function kolmogorovSmirnovTest(a: NumericDistribution, b: NumericDistribution): { statistic: number; pValue: number } {
  const statistic = kolmogorovSmirnovStatistic(a, b);
  const en = (a.total * b.total) / (a.total + b.total);
  return { statistic, pValue: Number.isFinite(statistic) ? kolmogorovSurvival(Math.sqrt(en) * statistic) : NaN };
}
