import assert from 'node:assert/strict';
import { chiSquareHomogeneity } from '../../components/example-validator/drift/chi-square';
import { alignHistograms, jensenShannonDivergenceOfCounts, jensenShannonDivergenceOfHistograms, jensenShannonDivergenceOfValues, sharedEdges } from '../../components/example-validator/drift/jensen-shannon';
import { kolmogorovSmirnovTest, kolmogorovSurvival } from '../../components/example-validator/drift/kolmogorov-smirnov';
import { lInfinityDistance } from '../../components/example-validator/drift/l-infinity';
import { fromHistogram, fromValueCounts } from '../../components/example-validator/drift/numeric-distribution';
import { decileEdges, populationStabilityIndexOfCounts, populationStabilityIndexOfNumbers } from '../../components/example-validator/drift/population-stability';
import { regularizedGammaQ } from '../../components/example-validator/drift/regularized-gamma';
import { normalizedWassersteinDistance, wassersteinDistance } from '../../components/example-validator/drift/wasserstein';
import type { Histogram } from '../../components/statistics-gen/payload';

/**
 * Every expected number below was printed by example-validator-drift-reference.py (beside this file:
 * scipy 1.17.1 and numpy, e.g. `python3 -m venv v && v/bin/pip install scipy && v/bin/python
 * example-validator-drift-reference.py`), which computes each measure from its definition or with
 * scipy on the same hand-made samples and histograms.
 */
const close = (actual: number, expected: number, tolerance = 1e-9, what = '') =>
  assert.ok(Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)), `${what}: ${actual} is not ${expected}`);

const counts = (values: number[]) => {
  const m = new Map<number, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
};
const a = fromValueCounts(counts([1, 2, 2, 3, 4, 5, 5, 5, 6, 8]));
const b = fromValueCounts(counts([2, 3, 3, 4, 6, 7, 7, 8, 9, 10, 11]));
const std = (xs: number[]) => {
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  return Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length);
};

const A = new Map([['a', 10], ['b', 20], ['c', 30]]);
const B = new Map([['a', 15], ['b', 25], ['d', 5]]);

const histogram = (buckets: Array<[number, number, number]>, numNan = 0): Histogram => ({ type: 'STANDARD', buckets: buckets.map(([low, high, count]) => ({ low, high, count })), numNan, numUndefined: 0 });
const H1 = histogram([[0, 1, 2], [1, 1, 3], [1, 2, 4], [2, 3, 4]], 1);
const H2 = histogram([[0.5, 1.5, 3], [1.5, 2.5, 3], [2.5, 3.5, 4]], 2);

describe('ExampleValidator drift measures against scipy and their definitions', function () {
  it('Kolmogorov-Smirnov: the statistic of scipy ks_2samp, the p-value of kstwobign', () => {
    const ks = kolmogorovSmirnovTest(a, b);
    close(ks.statistic, 0.44545454545454544, 1e-12, 'D');
    close(ks.pValue, 0.24967392452726572, 1e-9, 'p');
    for (const [lambda, sf] of [[0.3, 0.9999906941986655], [0.8, 0.5441424115741981], [1.0, 0.26999967167735456], [1.18, 0.1234538094297657], [1.5, 0.022217962616525127], [2.5, 7.453306344157342e-6]] as const) {
      close(kolmogorovSurvival(lambda), sf, 1e-9, `Q_KS(${lambda})`);
    }
  });

  it('Wasserstein: scipy wasserstein_distance, divided by numpy std of the baseline', () => {
    close(wassersteinDistance(a, b), 2.2636363636363637, 1e-12, 'W1');
    close(normalizedWassersteinDistance(a, b, std([1, 2, 2, 3, 4, 5, 5, 5, 6, 8]))!, 1.1192961448373004, 1e-12, 'W1/std');
    assert.equal(normalizedWassersteinDistance(a, b, 0), null, 'a constant baseline has no scale');
  });

  it('population stability index: baseline deciles (numpy inverted_cdf), empty bins at 0.0001, categorical on the union of values', () => {
    assert.deepEqual(decileEdges(a), [1, 2, 3, 4, 5, 6]);
    close(populationStabilityIndexOfNumbers(a, b), 3.983545812022654, 1e-12, 'PSI numbers');
    close(populationStabilityIndexOfCounts(A, B), 5.265319988477498, 1e-12, 'PSI values');
    assert.equal(populationStabilityIndexOfNumbers(a, a), 0);
  });

  it('L-infinity, categorical Jensen-Shannon divergence (scipy jensenshannon base 2, squared), chi-square (chi2_contingency without correction)', () => {
    assert.deepEqual(lInfinityDistance(A, B), { value: 0.5, at: 'c' });
    close(jensenShannonDivergenceOfCounts(A, B), 0.34623315129750437, 1e-12, 'JSD');
    const chi = chiSquareHomogeneity(A, B);
    close(chi.statistic, 35.12962962962963, 1e-12, 'chi2');
    assert.equal(chi.degreesOfFreedom, 3);
    close(chi.pValue, 1.1437946838784057e-7, 1e-8, 'p');
    close(chi.minExpected, 2.142857142857143, 1e-12, 'min expected');
    assert.equal(chi.fractionExpectedAtLeastFive, 6 / 8, "value d's two cells expect 2.86 and 2.14");
    close(jensenShannonDivergenceOfCounts(A, new Map([['z', 3]])), 1, 1e-12, 'disjoint supports');
  });

  it("TFDV's histogram JSD: buckets cut at the union of edges with counts spread uniformly, point masses by value, NaN shared", () => {
    const [p, q] = alignHistograms(H1, H2);
    // Edges 0, 0.5, ..., 3.5: 7 buckets, the point mass at 1, NaN, ±inf.
    assert.deepEqual(p, [1, 1, 2, 2, 2, 2, 0, 3, 1, 0]);
    assert.deepEqual(q, [0, 1.5, 1.5, 1.5, 1.5, 2, 2, 0, 2, 0]);
    close(jensenShannonDivergenceOfHistograms(H1, H2), 0.24760975045539915, 1e-12, 'JSD');
    assert.equal(jensenShannonDivergenceOfHistograms(H1, H1), 0);
  });

  it("exact values counted in TFDV's aligned buckets rather than spread uniformly", () => {
    const values = (xs: number[]) => fromValueCounts(xs.map((x) => [x, 1]));
    const ha = histogram([[0.2, 1.55, 3], [1.55, 2.9, 2]]);
    const hb = histogram([[0.6, 2.0, 3], [2.0, 3.4, 1]]);
    assert.deepEqual(sharedEdges(ha, hb), [0.2, 0.6, 1.55, 2, 2.9, 3.4]);
    const jsd = jensenShannonDivergenceOfValues({ values: values([0.2, 0.4, 1.0, 1.5, 2.9]), histogram: ha }, { values: values([0.6, 1.2, 1.4, 3.4]), histogram: hb });
    close(jsd, 0.33102365960919994, 1e-12, 'JSD');
  });

  it('KS and Wasserstein on histograms: the piecewise-linear CDFs integrated on a fine grid', () => {
    const withoutExtras = (h: Histogram) => fromHistogram(h.buckets.filter((x) => x.low !== x.high));
    close(wassersteinDistance(withoutExtras(H1), withoutExtras(H2)), 0.4, 1e-9, 'W1');
    close(kolmogorovSmirnovTest(withoutExtras(H1), withoutExtras(H2)).statistic, 0.2, 1e-9, 'D');
  });

  it('the regularised upper incomplete gamma function: scipy.special.gammaincc', () => {
    for (const [s, x, q] of [[0.5, 0.2, 0.5270892568655381], [1.5, 4, 0.04601170568923136], [4.5, 3, 0.7399182920946538], [10, 25, 0.0002214766382487835], [150, 170, 0.05563443131019331], [2, 0.001, 0.9999995003332084]] as const) {
      close(regularizedGammaQ(s, x), q, 1e-10, `Q(${s}, ${x})`);
    }
  });
});
