import { z } from 'zod';

/**
 * The content of an ExampleStatistics artifact: `statistics.json`, per split (and per slice), per
 * feature. SchemaGen, ExampleValidator, drift detection and the reports read it, so its shape is a
 * contract. Names follow TFDV's `statistics.proto` where it has one, so the TFDV export is a mapping.
 */
export const STATISTICS_FILE_NAME = 'statistics.json';

const count = z.number().int().nonnegative();
/** Weighted counts are sums of weights: not whole numbers. */
const weight = z.number().nonnegative();
/** Null when the feature has no (finite) value in the split. */
const maybeNumber = z.number().nullable();

/** How each figure was obtained, when it is not an exact computation over every row. */
export const ApproximationSchema = z
  .object({
    /** The sketch's name as its paper gives it, e.g. `DDSketch (relative accuracy 0.01)`. */
    method: z.string(),
    /** Its error bound in words a person reads, e.g. `each quantile within 1% of the true value`. */
    error: z.string(),
  })
  .strict();
export type Approximation = z.infer<typeof ApproximationSchema>;

export const HistogramBucketSchema = z
  .object({
    /** Inclusive lower edge; the last bucket is inclusive of `high` too (TFDV's convention). */
    low: z.number(),
    high: z.number(),
    /** Rows (values, for list features) in the bucket; a sum of weights in weighted statistics. */
    count: weight,
  })
  .strict();

/** TFDV's `Histogram`: STANDARD = equal-width buckets over [min, max]; QUANTILES = equal-mass buckets. */
export const HistogramSchema = z
  .object({
    type: z.enum(['STANDARD', 'QUANTILES']),
    buckets: z.array(HistogramBucketSchema),
    /** NaN values, not in any bucket. */
    numNan: count,
    /** ±Infinity values, not in any bucket (TFDV's `num_undefined` counts those it could not place). */
    numUndefined: count,
  })
  .strict();
export type Histogram = z.infer<typeof HistogramSchema>;

export const QuantilesSchema = z
  .object({
    /** The definition used, e.g. `linear interpolation between order statistics (Hyndman-Fan type 7, numpy's default)`. */
    definition: z.string(),
    /** Ascending probabilities with their values: at least 0, 0.1, ..., 1. */
    points: z.array(z.object({ q: z.number().min(0).max(1), value: z.number() }).strict()),
  })
  .strict();

export const TopValueSchema = z.object({ value: z.string(), count: weight }).strict();
export type TopValue = z.infer<typeof TopValueSchema>;

/** Values by rank (1 = most frequent), as TFDV's `RankHistogram`: what a vocabulary or domain is built from. */
export const RankedValueSchema = z.object({ rank: z.number().int().positive(), value: z.string(), count: weight }).strict();

/** Values per row: 1 for every present scalar; the list length for list features. */
export const ValueCountStatisticsSchema = z
  .object({
    min: count,
    max: count,
    mean: maybeNumber,
    /** All values of the feature in the split (the sum of the per-row counts). */
    total: count,
    histogram: z.array(HistogramBucketSchema),
  })
  .strict();

/** Figures over numbers: numeric features, and temporal ones as microseconds since 1970-01-01 UTC. */
export const NumericSummarySchema = z
  .object({
    /** min, max, mean, std, median, quantiles and histograms are over finite values only. */
    min: maybeNumber,
    max: maybeNumber,
    mean: maybeNumber,
    /** Population standard deviation (ddof 0), as TFDV and TFT's scale_to_z_score use. */
    std: maybeNumber,
    median: maybeNumber,
    quantiles: QuantilesSchema.nullable(),
    numZeros: count,
    numNan: count,
    numPosInf: count,
    numNegInf: count,
    standardHistogram: HistogramSchema,
    quantilesHistogram: HistogramSchema,
  })
  .strict();
export type NumericSummary = z.infer<typeof NumericSummarySchema>;

/** The same figures over weights, when the statistics have a weight feature. */
export const WeightedSummarySchema = z
  .object({
    /** Sum of the weights of the rows where the feature is present / missing. */
    count: weight,
    missing: weight,
    mean: maybeNumber,
    std: maybeNumber,
    median: maybeNumber,
    quantiles: QuantilesSchema.nullable(),
    standardHistogram: HistogramSchema.optional(),
    quantilesHistogram: HistogramSchema.optional(),
    topValues: z.array(TopValueSchema).optional(),
  })
  .strict();

export const FeatureStatisticsSchema = z
  .object({
    name: z.string(),
    /**
     * How mlpipe treats the feature (components/data/column-kinds.ts): INT, FLOAT, STRING, BOOL,
     * TEMPORAL (dates, times, timestamps), OTHER (binary, nested, exotic: presence and distinctness only).
     */
    type: z.enum(['INT', 'FLOAT', 'STRING', 'BOOL', 'TEMPORAL', 'OTHER']),
    /** The storage type as DuckDB names it, e.g. `BIGINT`, `DOUBLE`, `VARCHAR`, `TIMESTAMP`, `DOUBLE[]`. */
    physicalType: z.string(),
    /** `list` for list features (e.g. a tf.Example feature with several values); their figures are over the values. */
    valency: z.enum(['single', 'list']),
    /** Rows where the feature is present (not null). */
    count,
    /** Rows where the feature is null. */
    missing: count,
    valueCounts: ValueCountStatisticsSchema,
    /** Distinct non-null values: exact unless `approximations.distinct` says otherwise. */
    distinct: count,
    /** Numbers: INT, FLOAT, and TEMPORAL (as microseconds since the epoch; `temporalMin`/`temporalMax` give ISO text). */
    numeric: NumericSummarySchema.optional(),
    /** ISO 8601 text in UTC, as DuckDB prints it (`2012-01-01`, `2012-01-01 10:00:00`). */
    temporalMin: z.string().nullable().optional(),
    temporalMax: z.string().nullable().optional(),
    /** Text: STRING features, in characters. */
    stringLength: z.object({ min: maybeNumber, max: maybeNumber, mean: maybeNumber }).strict().optional(),
    /** Most frequent values (all kinds but OTHER), most frequent first; ties in ascending value order. */
    topValues: z.array(TopValueSchema),
    /** The most frequent values by rank, up to the statistics' `rankHistogramSize`, ordered as topValues. */
    rankHistogram: z.array(RankedValueSchema),
    weighted: WeightedSummarySchema.optional(),
    /** Present only for figures that are not exact, each with its method and error. */
    approximations: z.record(z.string(), ApproximationSchema).optional(),
  })
  .strict();
export type FeatureStatistics = z.infer<typeof FeatureStatisticsSchema>;
export type FeatureType = FeatureStatistics['type'];

export const DatasetStatisticsSchema = z
  .object({
    numExamples: count,
    /** Sum of the weight feature over the rows, when there is one. */
    weightedNumExamples: weight.optional(),
    /** In the column order of the split's files. */
    features: z.array(FeatureStatisticsSchema),
  })
  .strict();

export const SliceStatisticsSchema = DatasetStatisticsSchema.extend({
  /** The slicing features and this slice's value of each (null for missing), e.g. `{ Island: 'Biscoe' }`. */
  key: z.record(z.string(), z.string().nullable()),
}).strict();
export type SliceStatistics = z.infer<typeof SliceStatisticsSchema>;

export const SplitStatisticsSchema = DatasetStatisticsSchema.extend({
  name: z.string(),
  /** Statistics per value of the slicing features, beside the overall ones; empty without `slices`. */
  slices: z.array(SliceStatisticsSchema),
}).strict();
export type SplitStatistics = z.infer<typeof SplitStatisticsSchema>;

export const ExampleStatisticsSchema = z
  .object({
    version: z.literal(2),
    /** Written into the file so that a reader needs no documentation to interpret the numbers. */
    conventions: z
      .object({
        std: z.literal('population (ddof 0)'),
        quantiles: z.string(),
        histograms: z.string(),
        topValues: z.number().int().positive().describe('how many top values are kept per feature'),
        rankHistogramSize: z.number().int().positive().describe('how many ranked values are kept per feature'),
        weightFeature: z.string().optional(),
        slices: z.array(z.string()),
      })
      .strict(),
    splits: z.array(SplitStatisticsSchema),
  })
  .strict();
export type ExampleStatistics = z.infer<typeof ExampleStatisticsSchema>;
