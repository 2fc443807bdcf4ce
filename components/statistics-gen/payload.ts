import { z } from 'zod';

/**
 * The content of an ExampleStatistics artifact: `statistics.json`, per split, per feature. Schema
 * inference, validation and drift detection read it, so its shape is a contract.
 */
export const STATISTICS_FILE_NAME = 'statistics.json';

const count = z.number().int().nonnegative();
/** Null when the feature has no (finite) value in the split. */
const maybeNumber = z.number().nullable();

const commonFields = {
  name: z.string(),
  /** The storage type as DuckDB names it, e.g. `BIGINT`, `DOUBLE`, `VARCHAR`, `TIMESTAMP`. */
  physicalType: z.string(),
  /** Rows where the feature is present (not null). */
  count,
  /** Rows where the feature is null. */
  missing: count,
  /** Exact number of distinct non-null values. */
  distinct: count,
};

export const TopValueSchema = z.object({ value: z.string(), count: z.number().int().positive() }).strict();
export type TopValue = z.infer<typeof TopValueSchema>;

export const NumericFeatureStatisticsSchema = z
  .object({
    ...commonFields,
    type: z.enum(['INT', 'FLOAT']),
    /** min, max, mean and std are over finite values only; NaN and ±Infinity are counted in `nonFinite`. */
    min: maybeNumber,
    max: maybeNumber,
    mean: maybeNumber,
    /** Population standard deviation (ddof 0), as TFDV and TFT's scale_to_z_score use. */
    std: maybeNumber,
    nonFinite: count,
  })
  .strict();

export const StringFeatureStatisticsSchema = z
  .object({
    ...commonFields,
    type: z.literal('STRING'),
    /** Mean length in characters of the non-null values. */
    avgLength: maybeNumber,
    /** Most frequent values, most frequent first; ties in ascending value order. */
    topValues: z.array(TopValueSchema),
  })
  .strict();

export const BoolFeatureStatisticsSchema = z
  .object({
    ...commonFields,
    type: z.literal('BOOL'),
    /** `true` / `false` with their counts, most frequent first. */
    topValues: z.array(TopValueSchema),
  })
  .strict();

export const TemporalFeatureStatisticsSchema = z
  .object({
    ...commonFields,
    type: z.literal('TEMPORAL'),
    /** ISO 8601 text in UTC, as DuckDB prints it (`2012-01-01`, `2012-01-01 10:00:00`). */
    min: z.string().nullable(),
    max: z.string().nullable(),
  })
  .strict();

/** Nested, binary and other values: presence and distinctness only. */
export const OtherFeatureStatisticsSchema = z
  .object({
    ...commonFields,
    type: z.literal('OTHER'),
  })
  .strict();

export const FeatureStatisticsSchema = z.discriminatedUnion('type', [
  NumericFeatureStatisticsSchema,
  StringFeatureStatisticsSchema,
  BoolFeatureStatisticsSchema,
  TemporalFeatureStatisticsSchema,
  OtherFeatureStatisticsSchema,
]);
export type FeatureStatistics = z.infer<typeof FeatureStatisticsSchema>;
export type FeatureType = FeatureStatistics['type'];

export const SplitStatisticsSchema = z
  .object({
    name: z.string(),
    numExamples: count,
    /** In the column order of the split's files. */
    features: z.array(FeatureStatisticsSchema),
  })
  .strict();
export type SplitStatistics = z.infer<typeof SplitStatisticsSchema>;

export const ExampleStatisticsSchema = z
  .object({
    version: z.literal(1),
    /** Written into the file so that a reader needs no documentation to interpret the numbers. */
    conventions: z
      .object({
        std: z.literal('population (ddof 0)'),
        distinct: z.literal('exact count of non-null values'),
        topValues: z.number().int().positive().describe('how many top values are kept per feature'),
      })
      .strict(),
    splits: z.array(SplitStatisticsSchema),
  })
  .strict();
export type ExampleStatistics = z.infer<typeof ExampleStatisticsSchema>;
