import { regularizedGammaQ } from './regularized-gamma';

/**
 * Pearson's chi-square test of homogeneity for a categorical feature (reported with its p-value;
 * raises no anomaly): the 2 × k table of the two sides' counts per value, values neither side has left
 * out,
 *
 *   χ² = Σ over sides s and values v of (O_sv − E_sv)² / E_sv,  E_sv = row_s · column_v / n,
 *
 * with k − 1 degrees of freedom and p = Q((k − 1)/2, χ²/2) (regularised upper incomplete gamma), no
 * continuity correction: scipy's `chi2_contingency(table, correction=False)`. The approximation wants
 * every expected count ≥ 5 (Cochran's rule); a comparison that breaks it is flagged small-sample.
 * Computed from value counts (exact from partial_statistics.json's counts; from the ranked values
 * otherwise, values beyond them left out); O(values).
 */
export interface ChiSquareResult {
  statistic: number;
  degreesOfFreedom: number;
  pValue: number;
  /** The smallest expected count in the table. */
  minExpected: number;
  /** The fraction of the table's cells whose expected count is at least 5 (Cochran's rule wants 80%). */
  fractionExpectedAtLeastFive: number;
}

export function chiSquareHomogeneity(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): ChiSquareResult {
  const values = [...new Set([...a.keys(), ...b.keys()])].filter((v) => (a.get(v) ?? 0) + (b.get(v) ?? 0) > 0);
  const rows = [a, b].map((side) => values.reduce((s, v) => s + (side.get(v) ?? 0), 0));
  const n = rows[0]! + rows[1]!;
  if (values.length < 2 || rows[0] === 0 || rows[1] === 0) return { statistic: 0, degreesOfFreedom: Math.max(0, values.length - 1), pValue: 1, minExpected: 0, fractionExpectedAtLeastFive: 0 };
  let statistic = 0;
  let minExpected = Infinity;
  let atLeastFive = 0;
  for (const v of values) {
    const column = (a.get(v) ?? 0) + (b.get(v) ?? 0);
    [a, b].forEach((side, s) => {
      const expected = (rows[s]! * column) / n;
      minExpected = Math.min(minExpected, expected);
      if (expected >= 5) atLeastFive++;
      statistic += ((side.get(v) ?? 0) - expected) ** 2 / expected;
    });
  }
  const degreesOfFreedom = values.length - 1;
  return { statistic, degreesOfFreedom, pValue: regularizedGammaQ(degreesOfFreedom / 2, statistic / 2), minExpected, fractionExpectedAtLeastFive: atLeastFive / (2 * values.length) };
}
