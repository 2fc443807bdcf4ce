import type { PartialSplit } from '../../statistics-gen/partial-statistics';
import type { SplitStatistics } from '../../statistics-gen/payload';
import type { FeatureSpec, SchemaPayload } from '../../schema-gen/payload';
import type { AnomalyKind } from '../anomaly-kinds';
import { figure } from '../describe';
import type { ComparedData, DatasetComparison, FeatureComparison, Measure, MeasureName } from '../payload';
import { chiSquareHomogeneity } from './chi-square';
import { categoricalCounts, inAlignedStandardBuckets, numericDistributions, SOURCES, type FeatureSide } from './feature-values';
import { jensenShannonDivergenceOfCounts, jensenShannonDivergenceOfHistograms, jensenShannonDivergenceOfValues } from './jensen-shannon';
import { kolmogorovSmirnovTest } from './kolmogorov-smirnov';
import { lInfinityDistance } from './l-infinity';
import { populationStabilityIndexOfCounts, populationStabilityIndexOfNumbers } from './population-stability';
import { normalizedWassersteinDistance } from './wasserstein';

/**
 * Skew and drift: each feature of compared data against a baseline (the training split for skew, the
 * previous span for drift), every measure recorded, and an anomaly for each effect size above the
 * schema's threshold for the feature (`skewComparator` or `driftComparator`). Which measures a
 * feature gets depends on its kind:
 * - categorical (STRING, BOOL, INT with a categorical int domain): L-infinity, Jensen-Shannon
 *   divergence, population stability index, chi-square;
 * - numeric (INT, FLOAT, TEMPORAL): Jensen-Shannon divergence (on TFDV's aligned STANDARD buckets),
 *   population stability index, normalised Wasserstein, Kolmogorov-Smirnov;
 * - OTHER features are not compared.
 *
 * The samples are small (`smallSample`) when either side has fewer than SMALL_SAMPLE_VALUES values, or
 * (categorical) fewer than 80% of the chi-square table's expected counts reach 5 (Cochran's rule):
 * then a random re-split moves every measure by about as much as a real shift, so the values are
 * recorded but mean little.
 */
export const SMALL_SAMPLE_VALUES = 100;
const COCHRAN_MIN_EXPECTED = 5;
const COCHRAN_FRACTION = 0.8;

export type ComparatorKey = 'skewComparator' | 'driftComparator';

/** One side of a comparison: a split's statistics with its partial state, and what it is. */
export interface DatasetSide {
  data: ComparedData;
  split: SplitStatistics;
  partial: PartialSplit | undefined;
}

export interface ComparisonFinding {
  kind: AnomalyKind;
  feature: string | null;
  description: string;
  comparedWith: string;
}

export interface ComparisonOutcome {
  comparisons: FeatureComparison[];
  dataset: DatasetComparison | undefined;
  findings: ComparisonFinding[];
}

/** `split train`, `split serving of skewStatistics`, `split train of span 3`: what a description names. */
export function describeData(d: ComparedData): string {
  const where = d.statistics === 'skewStatistics' ? ' of skewStatistics' : d.statistics === 'previousSpan' ? ` of the previous span${d.span !== undefined ? ` (${d.span})` : ''}` : '';
  return `split ${d.split}${where}`;
}

const THRESHOLDED: Array<{ measure: MeasureName; kind: AnomalyKind; what: string }> = [
  { measure: 'infinityNorm', kind: 'COMPARATOR_L_INFTY_HIGH', what: 'L-infinity distance' },
  { measure: 'jensenShannonDivergence', kind: 'COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH', what: 'approximate Jensen-Shannon divergence' },
  { measure: 'populationStabilityIndex', kind: 'COMPARATOR_POPULATION_STABILITY_INDEX_HIGH', what: 'population stability index' },
  { measure: 'normalizedWasserstein', kind: 'COMPARATOR_NORMALIZED_WASSERSTEIN_HIGH', what: 'normalized Wasserstein distance' },
];

function isCategorical(spec: FeatureSpec | undefined, side: FeatureSide): boolean {
  const type = spec?.type ?? side.statistics.type;
  if (type === 'STRING' || type === 'BOOL') return true;
  return type === 'INT' && spec?.domain?.kind === 'int' && spec.domain.isCategorical === true;
}

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);

function categoricalMeasures(a: FeatureSide, b: FeatureSide): { measures: Partial<Record<MeasureName, Measure>>; values: [number, number]; reasons: string[] } {
  const { counts, source, note } = categoricalCounts(a, b);
  const extra = note ? { note } : {};
  const lInf = lInfinityDistance(counts[0], counts[1]);
  const chi = chiSquareHomogeneity(counts[0], counts[1]);
  const values = counts.map((m) => [...m.values()].reduce((s, n) => s + n, 0)) as [number, number];
  const cells = 2 * new Set([...counts[0].keys(), ...counts[1].keys()]).size;
  const reasons: string[] = [];
  if (cells > 0 && chi.fractionExpectedAtLeastFive < COCHRAN_FRACTION) {
    reasons.push(`${Math.round(100 * (1 - chi.fractionExpectedAtLeastFive))}% of the chi-square table's expected counts are below ${COCHRAN_MIN_EXPECTED} (Cochran's rule allows 20%)`);
  }
  return {
    measures: {
      infinityNorm: { value: lInf.value, ...(lInf.at !== null ? { at: lInf.at } : {}), source, ...extra },
      jensenShannonDivergence: { value: finite(jensenShannonDivergenceOfCounts(counts[0], counts[1])), source, ...extra },
      populationStabilityIndex: { value: finite(populationStabilityIndexOfCounts(counts[0], counts[1])), source, ...extra },
      chiSquare: { value: chi.statistic, pValue: chi.pValue, degreesOfFreedom: chi.degreesOfFreedom, source, ...extra },
    },
    values,
    reasons,
  };
}

function numericMeasures(a: FeatureSide, b: FeatureSide): { measures: Partial<Record<MeasureName, Measure>>; values: [number, number]; reasons: string[] } {
  const { distributions, source, fromValues } = numericDistributions(a, b);
  const [base, compared] = distributions;
  const [ha, hb] = [a, b].map((s) => s.statistics.numeric?.standardHistogram);
  const jsd =
    ha && hb ? finite(fromValues ? jensenShannonDivergenceOfValues({ values: base, histogram: ha }, { values: compared, histogram: hb }) : jensenShannonDivergenceOfHistograms(ha, hb)) : null;
  const std = a.statistics.numeric?.std ?? null;
  const wasserstein = std === null ? null : normalizedWassersteinDistance(base, compared, std);
  const ks = kolmogorovSmirnovTest(base, compared);
  return {
    measures: {
      jensenShannonDivergence: { value: jsd, source: fromValues ? inAlignedStandardBuckets(source) : SOURCES.standard },
      populationStabilityIndex: { value: finite(populationStabilityIndexOfNumbers(base, compared)), source },
      normalizedWasserstein: {
        value: wasserstein === null ? null : finite(wasserstein),
        source,
        ...(wasserstein === null ? { note: 'the baseline is constant (standard deviation 0): no scale to normalise by' } : {}),
      },
      kolmogorovSmirnov: { value: finite(ks.statistic), ...(Number.isFinite(ks.pValue) ? { pValue: ks.pValue } : {}), source },
    },
    values: [base.total, compared.total],
    reasons: [],
  };
}

/** Every measure of one feature, each with the schema's threshold where there is one. */
export function compareFeature(
  spec: FeatureSpec | undefined,
  comparator: ComparatorKey,
  kind: FeatureComparison['kind'],
  baseline: { data: ComparedData; side: FeatureSide },
  compared: { data: ComparedData; side: FeatureSide },
): FeatureComparison {
  const categorical = isCategorical(spec, baseline.side);
  const result = categorical ? categoricalMeasures(baseline.side, compared.side) : numericMeasures(baseline.side, compared.side);
  const thresholds = spec?.[comparator] ?? {};
  for (const { measure } of THRESHOLDED) {
    const threshold = thresholds[measure as keyof typeof thresholds]?.threshold;
    const m = result.measures[measure];
    if (m && threshold !== undefined) m.threshold = threshold;
  }
  const reasons = [...result.reasons];
  const [nb, nc] = result.values;
  if (Math.min(nb, nc) < SMALL_SAMPLE_VALUES) reasons.unshift(`fewer than ${SMALL_SAMPLE_VALUES} values on a side (${figure(nb)} in the baseline, ${figure(nc)} compared)`);
  return {
    kind,
    baseline: baseline.data,
    compared: compared.data,
    feature: baseline.side.statistics.name,
    type: categorical ? 'categorical' : 'numeric',
    values: { baseline: nb, compared: nc },
    measures: result.measures,
    smallSample: reasons.length > 0,
    smallSampleReasons: reasons,
  };
}

function sixDigits(x: number): string {
  return String(Number(x.toPrecision(6)));
}

function featureFindings(c: FeatureComparison, comparedWith: string): ComparisonFinding[] {
  return THRESHOLDED.flatMap(({ measure, kind, what }) => {
    const m = c.measures[measure];
    if (!m || m.threshold === undefined || m.value === null || !(m.value > m.threshold)) return [];
    const at = m.at !== undefined ? ` (largest at value '${m.at}')` : '';
    const small = c.smallSample ? `; small sample: ${c.smallSampleReasons.join('; ')}` : '';
    return [
      {
        kind,
        feature: c.feature,
        comparedWith,
        description: `${c.feature}: the ${what} between ${describeData(c.compared)} and ${comparedWith} is ${sixDigits(m.value)}${at}, above the threshold ${sixDigits(m.threshold)} (${c.kind === 'skew' ? 'skewComparator' : 'driftComparator'}.${measure}); from ${m.source}${small}`,
      },
    ];
  });
}

function hasThreshold(spec: FeatureSpec, comparator: ComparatorKey): boolean {
  const thresholds = spec[comparator];
  return thresholds !== undefined && Object.values(thresholds).some((t) => t?.threshold !== undefined);
}

/** TFDV's num_examples_drift_comparator: this span's rows over the previous span's. */
function datasetComparison(schema: SchemaPayload, baseline: DatasetSide, compared: DatasetSide, comparedWith: string): { dataset: DatasetComparison; findings: ComparisonFinding[] } {
  const limits = schema.datasetConstraints?.numExamplesDriftComparator ?? {};
  const [before, now] = [baseline.split.numExamples, compared.split.numExamples];
  const ratio = before > 0 ? now / before : null;
  const dataset: DatasetComparison = { kind: 'drift', baseline: baseline.data, compared: compared.data, baselineNumExamples: before, numExamples: now, ratio, ...limits };
  const findings: ComparisonFinding[] = [];
  const rows = `${describeData(compared.data)} has ${figure(now)} rows, ${comparedWith} ${figure(before)}`;
  if (limits.maxFractionThreshold !== undefined && (ratio === null ? now > 0 : ratio > limits.maxFractionThreshold)) {
    const why = ratio === null ? 'the previous span has none' : `a ratio of ${sixDigits(ratio)}, above the threshold ${sixDigits(limits.maxFractionThreshold)}`;
    findings.push({ kind: 'COMPARATOR_HIGH_NUM_EXAMPLES', feature: null, comparedWith, description: `${rows}: ${why} (datasetConstraints.numExamplesDriftComparator.maxFractionThreshold)` });
  }
  if (limits.minFractionThreshold !== undefined && ratio !== null && ratio < limits.minFractionThreshold) {
    findings.push({
      kind: 'COMPARATOR_LOW_NUM_EXAMPLES',
      feature: null,
      comparedWith,
      description: `${rows}: a ratio of ${sixDigits(ratio)}, below the threshold ${sixDigits(limits.minFractionThreshold)} (datasetConstraints.numExamplesDriftComparator.minFractionThreshold)`,
    });
  }
  return { dataset, findings };
}

/**
 * Every feature the compared data and the schema share (schema order; OTHER features and features
 * without values on a side left out), and for drift the example counts. A schema feature with a
 * threshold that the baseline lacks is COMPARATOR_CONTROL_DATA_MISSING.
 */
export function compareDatasets(schema: SchemaPayload, kind: 'skew' | 'drift', baseline: DatasetSide, compared: DatasetSide): ComparisonOutcome {
  const comparator: ComparatorKey = kind === 'skew' ? 'skewComparator' : 'driftComparator';
  const comparedWith = describeData(baseline.data);
  const side = (d: DatasetSide, name: string): FeatureSide | undefined => {
    const statistics = d.split.features.find((f) => f.name === name);
    return statistics && { statistics, partial: d.partial?.features.find((f) => f.name === name) };
  };
  const comparisons: FeatureComparison[] = [];
  const findings: ComparisonFinding[] = [];
  for (const spec of schema.features) {
    const [b, c] = [side(baseline, spec.name), side(compared, spec.name)];
    if (!c || c.statistics.count === 0 || c.statistics.type === 'OTHER') continue;
    if (!b || b.statistics.count === 0) {
      if (hasThreshold(spec, comparator)) {
        findings.push({ kind: 'COMPARATOR_CONTROL_DATA_MISSING', feature: spec.name, comparedWith, description: `${spec.name}: ${comparedWith} has no values of this feature to compare ${describeData(compared.data)} with (${comparator})` });
      }
      continue;
    }
    if (b.statistics.type === 'OTHER') continue;
    const comparison = compareFeature(spec, comparator, kind, { data: baseline.data, side: b }, { data: compared.data, side: c });
    comparisons.push(comparison);
    findings.push(...featureFindings(comparison, comparedWith));
  }
  if (kind === 'skew') return { comparisons, dataset: undefined, findings };
  const counted = datasetComparison(schema, baseline, compared, comparedWith);
  return { comparisons, dataset: counted.dataset, findings: [...findings, ...counted.findings] };
}
