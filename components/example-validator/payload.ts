import { z } from 'zod';
import { AnomalyKindSchema, SeveritySchema } from './anomaly-kinds';

/**
 * The content of an ExampleAnomalies artifact: `anomalies.json`, what ExampleValidator found in each
 * split's statistics against the schema. Reports and the run summary read it.
 */
export const ANOMALIES_FILE_NAME = 'anomalies.json';

export const AnomalySchema = z
  .object({
    kind: AnomalyKindSchema,
    severity: SeveritySchema,
    /** The feature (column) it is about; null for the dataset as a whole (DATASET_* kinds). */
    feature: z.string().nullable(),
    split: z.string(),
    /** A few words: TFDV's short description, e.g. `Unexpected string values`. */
    short: z.string(),
    /** What was found, with the figures and what the schema expects, e.g. `Island: 12% of values (...) are 'Torgersen2', not in the domain [...]`. */
    description: z.string(),
    /** For skew and drift anomalies: the data the split was compared with, e.g. `split train of span 3`. */
    comparedWith: z.string().optional(),
  })
  .strict();
export type Anomaly = z.infer<typeof AnomalySchema>;

export const SplitAnomaliesSchema = z
  .object({
    name: z.string(),
    numExamples: z.number().int().nonnegative(),
    /** In schema order, then new columns in the data's order, dataset-level ones last. */
    anomalies: z.array(AnomalySchema),
  })
  .strict();
export type SplitAnomalies = z.infer<typeof SplitAnomaliesSchema>;

/** One side of a comparison: a split of the validated statistics, of the `skewStatistics` input, or of the previous span's statistics. */
export const ComparedDataSchema = z
  .object({
    statistics: z.enum(['statistics', 'skewStatistics', 'previousSpan']),
    split: z.string(),
    /** The span of the data, when its statistics carry one. */
    span: z.number().int().nonnegative().optional(),
    /** The ExampleStatistics artifact, for the other inputs than `statistics`. */
    uri: z.string().optional(),
  })
  .strict();
export type ComparedData = z.infer<typeof ComparedDataSchema>;

/** The measures of drift/ by name: the schema comparators' four, then the two tests. */
export const MeasureNameSchema = z.enum(['infinityNorm', 'jensenShannonDivergence', 'populationStabilityIndex', 'normalizedWasserstein', 'kolmogorovSmirnov', 'chiSquare']);
export type MeasureName = z.infer<typeof MeasureNameSchema>;

export const MeasureSchema = z
  .object({
    /** The measured value; null where it is undefined (a normalised Wasserstein over a constant baseline), `note` says why. */
    value: z.number().nullable(),
    /** The schema's threshold for this feature, when it has one: an anomaly when value > threshold. */
    threshold: z.number().optional(),
    /** The tests' p-value (Kolmogorov-Smirnov, chi-square): reported, never an anomaly. */
    pValue: z.number().optional(),
    degreesOfFreedom: z.number().int().nonnegative().optional(),
    /** L-infinity: the value whose frequencies differ most. */
    at: z.string().optional(),
    /** What it was computed from: `exact value counts`, `ranked values`, `DDSketch bins (relative accuracy 0.01)` or coarsened instants beyond the exact-count cap, `STANDARD histograms`, `QUANTILES histograms` (statistics without partial state); per side when the sides differ. */
    source: z.string(),
    note: z.string().optional(),
  })
  .strict();
export type Measure = z.infer<typeof MeasureSchema>;

/** Every measure of one feature between a baseline and compared data, recorded whether or not an anomaly fired (TFDV records none unless one did). */
export const FeatureComparisonSchema = z
  .object({
    kind: z.enum(['skew', 'drift']),
    baseline: ComparedDataSchema,
    compared: ComparedDataSchema,
    feature: z.string(),
    /** Categorical: STRING, BOOL and INT with a categorical domain; numeric: the other INT, FLOAT, TEMPORAL (microseconds). */
    type: z.enum(['categorical', 'numeric']),
    /** Values compared on each side: non-missing, finite for numeric features (list elements for lists). */
    values: z.object({ baseline: z.number().nonnegative(), compared: z.number().nonnegative() }).strict(),
    measures: z.partialRecord(MeasureNameSchema, MeasureSchema),
    /** Too few values for the measures to mean much (comparisons.ts states the rule); `smallSampleReasons` says which part of it. */
    smallSample: z.boolean(),
    smallSampleReasons: z.array(z.string()),
  })
  .strict();
export type FeatureComparison = z.infer<typeof FeatureComparisonSchema>;

/** The rows of this span against the previous span's (TFDV's num_examples_drift_comparator). */
export const DatasetComparisonSchema = z
  .object({
    kind: z.literal('drift'),
    baseline: ComparedDataSchema,
    compared: ComparedDataSchema,
    baselineNumExamples: z.number().int().nonnegative(),
    numExamples: z.number().int().nonnegative(),
    /** numExamples / baselineNumExamples; null when the baseline has no rows. */
    ratio: z.number().nullable(),
    minFractionThreshold: z.number().optional(),
    maxFractionThreshold: z.number().optional(),
  })
  .strict();
export type DatasetComparison = z.infer<typeof DatasetComparisonSchema>;

export const ExampleAnomaliesSchema = z
  .object({
    version: z.literal(1),
    /** The environment the data was validated in (`TRAINING`, `SERVING`, ...), when one was given. */
    environment: z.string().optional(),
    /** The severity each kind had in this validation (defaults and overrides). */
    severities: z.record(AnomalyKindSchema, SeveritySchema),
    splits: z.array(SplitAnomaliesSchema),
    /** Skew and drift, when asked for: every measure of every compared feature. */
    comparisons: z.array(FeatureComparisonSchema).optional(),
    datasetComparisons: z.array(DatasetComparisonSchema).optional(),
    /** Why a comparison asked for did not run, e.g. `drift: no earlier span of this pipeline has statistics`. */
    comparisonNotes: z.array(z.string()).optional(),
  })
  .strict();
export type ExampleAnomalies = z.infer<typeof ExampleAnomaliesSchema>;
