import { z } from 'zod';

/**
 * The anomaly kinds ExampleValidator detects, named and defined as in TFDV's `anomalies.md` (and its
 * `AnomalyInfo.Type`); where mlpipe's condition differs from TFDV's, the kind's entry in
 * `ANOMALY_KINDS` says how.
 */
export const AnomalyKindSchema = z.enum([
  'SCHEMA_MISSING_COLUMN',
  'SCHEMA_NEW_COLUMN',
  'UNEXPECTED_DATA_TYPE',
  'FEATURE_TYPE_LOW_FRACTION_PRESENT',
  'FEATURE_TYPE_LOW_NUMBER_PRESENT',
  'FEATURE_TYPE_NOT_PRESENT',
  'FEATURE_TYPE_LOW_NUMBER_VALUES',
  'FEATURE_TYPE_HIGH_NUMBER_VALUES',
  'INT_TYPE_SMALL_INT',
  'INT_TYPE_BIG_INT',
  'FLOAT_TYPE_SMALL_FLOAT',
  'FLOAT_TYPE_BIG_FLOAT',
  'ENUM_TYPE_UNEXPECTED_STRING_VALUES',
  'FLOAT_TYPE_HAS_NAN',
  'FLOAT_TYPE_HAS_INF',
  'DATASET_LOW_NUM_EXAMPLES',
  'DATASET_HIGH_NUM_EXAMPLES',
  'COMPARATOR_L_INFTY_HIGH',
  'COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH',
  'COMPARATOR_POPULATION_STABILITY_INDEX_HIGH',
  'COMPARATOR_NORMALIZED_WASSERSTEIN_HIGH',
  'COMPARATOR_CONTROL_DATA_MISSING',
  'COMPARATOR_LOW_NUM_EXAMPLES',
  'COMPARATOR_HIGH_NUM_EXAMPLES',
]);
export type AnomalyKind = z.infer<typeof AnomalyKindSchema>;

export const SeveritySchema = z.enum(['ERROR', 'WARNING']);
export type Severity = z.infer<typeof SeveritySchema>;

interface KindInfo {
  /** TFDV's short description (`AnomalyInfo.short_description`). */
  short: string;
  /** The default severity: ERROR stops the pipeline (the gate), WARNING is reported and lets it go on. */
  severity: Severity;
}

/**
 * Every kind is an ERROR by default, as in TFDV, except SCHEMA_NEW_COLUMN: a column the schema does
 * not know cannot break a model that never reads it (TFDV's `new_features_are_warnings`). Parameters
 * override any of them (`severity: { SCHEMA_NEW_COLUMN: 'ERROR' }`).
 *
 * Conditions, per split, against the schema (a feature "in the environment" as TFDV defines it):
 * - SCHEMA_MISSING_COLUMN: a feature the schema requires (presence.minCount > 0 or minFraction > 0, in
 *   the environment) has no column in the data.
 * - SCHEMA_NEW_COLUMN: a column the schema does not list, or a present column the schema keeps out of
 *   the environment (a label in SERVING data).
 * - UNEXPECTED_DATA_TYPE: the column's type is not the schema's; INT data for a FLOAT feature is not
 *   an anomaly (whole numbers are floats; TFDV flags it). The feature's domain and valency are then
 *   not checked, since they are about values of another type.
 * - FEATURE_TYPE_NOT_PRESENT: a required feature's column has no value in any row (no other check runs).
 * - FEATURE_TYPE_LOW_FRACTION_PRESENT: present rows / rows < presence.minFraction, or minFraction is 1
 *   and a row lacks it. FEATURE_TYPE_LOW_NUMBER_PRESENT: present rows < presence.minCount.
 * - FEATURE_TYPE_LOW/HIGH_NUMBER_VALUES: the fewest / most values in a present row is below
 *   valueCount.min / above valueCount.max.
 * - INT_TYPE_SMALL_INT / INT_TYPE_BIG_INT, FLOAT_TYPE_SMALL_FLOAT / FLOAT_TYPE_BIG_FLOAT: the finite
 *   minimum / maximum is outside the int / float domain's bounds.
 * - ENUM_TYPE_UNEXPECTED_STRING_VALUES: values outside the string domain are more than
 *   1 − minDomainMass of all values (minDomainMass defaults to 1: any value outside fires). Counted from
 *   the ranked values of the statistics; when those do not list every distinct value, the count is a
 *   lower bound (the message says "at least").
 * - FLOAT_TYPE_HAS_NAN: float domain with disallowNan and a NaN in the data; FLOAT_TYPE_HAS_INF: with
 *   disallowInf and a ±Infinity.
 * - DATASET_LOW_NUM_EXAMPLES / DATASET_HIGH_NUM_EXAMPLES: rows below datasetConstraints.minExamplesCount
 *   / above maxExamplesCount.
 * The counts are unweighted (rows of the data) even when the statistics have a weight feature; TFDV
 * uses the weighted ones where it has them.
 *
 * Skew and drift (drift/comparisons.ts), per feature against the schema's `skewComparator` (skew: a
 * training split vs another split or another ExampleStatistics) or `driftComparator` (drift: this span
 * vs the previous one); each measure is defined in its module under drift/:
 * - COMPARATOR_L_INFTY_HIGH (TFDV's): the L-infinity distance of a categorical feature's value
 *   frequencies is above `infinityNorm.threshold`.
 * - COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH (TFDV's): TFDV's approximate Jensen-Shannon divergence is
 *   above `jensenShannonDivergence.threshold`.
 * - COMPARATOR_POPULATION_STABILITY_INDEX_HIGH (mlpipe's): the population stability index is above
 *   `populationStabilityIndex.threshold`.
 * - COMPARATOR_NORMALIZED_WASSERSTEIN_HIGH (mlpipe's): the Wasserstein-1 distance over the baseline's
 *   standard deviation is above `normalizedWasserstein.threshold` (numeric features).
 * - COMPARATOR_CONTROL_DATA_MISSING (TFDV's): a feature with a threshold has no statistics in the
 *   baseline (the control data).
 * - COMPARATOR_LOW_NUM_EXAMPLES / COMPARATOR_HIGH_NUM_EXAMPLES (TFDV's num_examples_drift_comparator):
 *   rows of this span over rows of the previous span are below
 *   `datasetConstraints.numExamplesDriftComparator.minFractionThreshold` / above its
 *   `maxFractionThreshold` (a previous span of 0 rows: HIGH whenever a max is set).
 * Kolmogorov-Smirnov and chi-square p-values are recorded, never raise an anomaly: over a dozen
 * features and several tests, p < 0.05 fires on random re-splits.
 */
export const ANOMALY_KINDS: Record<AnomalyKind, KindInfo> = {
  SCHEMA_MISSING_COLUMN: { short: 'Column dropped', severity: 'ERROR' },
  SCHEMA_NEW_COLUMN: { short: 'New column', severity: 'WARNING' },
  UNEXPECTED_DATA_TYPE: { short: 'Unexpected data type', severity: 'ERROR' },
  FEATURE_TYPE_LOW_FRACTION_PRESENT: { short: 'Column dropped', severity: 'ERROR' },
  FEATURE_TYPE_LOW_NUMBER_PRESENT: { short: 'Column dropped', severity: 'ERROR' },
  FEATURE_TYPE_NOT_PRESENT: { short: 'Column dropped', severity: 'ERROR' },
  FEATURE_TYPE_LOW_NUMBER_VALUES: { short: 'Missing values', severity: 'ERROR' },
  FEATURE_TYPE_HIGH_NUMBER_VALUES: { short: 'Superfluous values', severity: 'ERROR' },
  INT_TYPE_SMALL_INT: { short: 'Out-of-range values', severity: 'ERROR' },
  INT_TYPE_BIG_INT: { short: 'Out-of-range values', severity: 'ERROR' },
  FLOAT_TYPE_SMALL_FLOAT: { short: 'Out-of-range values', severity: 'ERROR' },
  FLOAT_TYPE_BIG_FLOAT: { short: 'Out-of-range values', severity: 'ERROR' },
  ENUM_TYPE_UNEXPECTED_STRING_VALUES: { short: 'Unexpected string values', severity: 'ERROR' },
  FLOAT_TYPE_HAS_NAN: { short: 'Invalid values', severity: 'ERROR' },
  FLOAT_TYPE_HAS_INF: { short: 'Invalid values', severity: 'ERROR' },
  DATASET_LOW_NUM_EXAMPLES: { short: 'Low num examples in dataset', severity: 'ERROR' },
  DATASET_HIGH_NUM_EXAMPLES: { short: 'High num examples in dataset', severity: 'ERROR' },
  COMPARATOR_L_INFTY_HIGH: { short: 'High Linfty distance between baseline and compared data', severity: 'ERROR' },
  COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH: { short: 'High approximate Jensen-Shannon divergence between baseline and compared data', severity: 'ERROR' },
  COMPARATOR_POPULATION_STABILITY_INDEX_HIGH: { short: 'High population stability index between baseline and compared data', severity: 'ERROR' },
  COMPARATOR_NORMALIZED_WASSERSTEIN_HIGH: { short: 'High normalized Wasserstein distance between baseline and compared data', severity: 'ERROR' },
  COMPARATOR_CONTROL_DATA_MISSING: { short: 'Baseline data missing', severity: 'ERROR' },
  COMPARATOR_LOW_NUM_EXAMPLES: { short: 'Low num examples in current dataset versus the previous span', severity: 'ERROR' },
  COMPARATOR_HIGH_NUM_EXAMPLES: { short: 'High num examples in current dataset versus the previous span', severity: 'ERROR' },
};

/** Each kind's severity: the defaults above with the parameters' overrides. */
export function severities(overrides: Partial<Record<AnomalyKind, Severity>>): Record<AnomalyKind, Severity> {
  return Object.fromEntries(AnomalyKindSchema.options.map((kind) => [kind, overrides[kind] ?? ANOMALY_KINDS[kind].severity])) as Record<
    AnomalyKind,
    Severity
  >;
}
