import { z } from 'zod';
import { FeatureStatisticsSchema } from './payload';

/**
 * Mergeable statistics: what StatisticsGen computes from a set of rows (a split, a Parquet file, a row
 * range) before it turns them into the figures of `statistics.json` (finalize.ts). Two such states of
 * disjoint rows merge (merge-partials.ts) into the state of their union, so the statistics of daily
 * files or of shards run on several workers are computed once per shard and merged, never recomputed.
 * Written beside `statistics.json` as `partial_statistics.json`.
 *
 * Counts, weight sums, min/max, NaN/±inf/zero counts and string lengths are plain sums and extremes,
 * so they merge exactly; moments (count, mean, M2) merge with Chan et al.'s parallel formula. A
 * feature's values are kept as exact counts per distinct value while a shard has at most
 * `valueCountCap` of them; beyond it (or when a merge exceeds it) they become sketches named in
 * `value-distribution.ts`. A state made in one pass (a StatisticsGen run) also keeps what that pass
 * knows exactly beside its sketches, the distinct count and the first values by count, so a single
 * run's statistics are exact for those at any cardinality; a merge of states is exact up to the cap,
 * and beyond it the figures built from sketches say so in `approximations`.
 */
export const PARTIAL_STATISTICS_FILE_NAME = 'partial_statistics.json';

/**
 * Distinct values of a feature kept as exact counts per shard (a split, slice or file): 100 000 values
 * cost a few megabytes of JSON and a few milliseconds to merge, and cover every categorical feature and
 * most numeric ones exactly. Beyond it the values are sketched.
 */
export const VALUE_COUNT_CAP = 100_000;
/** Values the frequent-items summary keeps beyond the cap: at least the longest rank histogram asked for. */
export const TOP_SUMMARY_SIZE = 10_000;

const count = z.number().int().nonnegative();
const weight = z.number().nonnegative();
/** A sum of weights, or null in statistics without a weight feature. */
const maybeWeight = weight.nullable();

/** One distinct value: DuckDB's text of it, its number (null for text and for NaN/±inf), rows (values), weight. */
export const ExactEntrySchema = z.tuple([z.string(), z.number().nullable(), count, maybeWeight]);
export type ExactEntry = z.infer<typeof ExactEntrySchema>;

export const ExactDistributionSchema = z.object({ kind: z.literal('exact'), entries: z.array(ExactEntrySchema) }).strict();
export type ExactDistribution = z.infer<typeof ExactDistributionSchema>;

/** A value of the top-values summary: text, number, count (a lower bound), weight, how far below the true count the count may be. */
export const TopEntrySchema = z.tuple([z.string(), z.number().nullable(), count, maybeWeight, count]);
export type TopEntry = z.infer<typeof TopEntrySchema>;

export const TopSummarySchema = z
  .object({
    entries: z.array(TopEntrySchema),
    /** No value missing from `entries` occurs more often than this. */
    unlisted: count,
    /**
     * True when `entries` are the exact first values by count, ties in value order, with exact counts:
     * taken from one pass or from exact counts; false once two summaries have merged.
     */
    exact: z.boolean(),
  })
  .strict();
export type TopSummary = z.infer<typeof TopSummarySchema>;

/** [bucket index or start, values, weight]. */
const BucketSchema = z.tuple([z.number().int(), count, maybeWeight]);
export type Bucket = z.infer<typeof BucketSchema>;

/** Finite numbers by DDSketch bucket: x > 0 in bucket i when γ^(i-1) < x ≤ γ^i; negatives mirrored. */
export const DDSketchStateSchema = z
  .object({
    kind: z.literal('ddsketch'),
    zero: z.tuple([count, maybeWeight]),
    positive: z.array(BucketSchema),
    negative: z.array(BucketSchema),
  })
  .strict();
export type DDSketchState = z.infer<typeof DDSketchStateSchema>;

/** Temporal values (microseconds) counted per bucket of `unitMicros` (a power of two), by the bucket's start. */
export const CoarsenedStateSchema = z
  .object({ kind: z.literal('coarsened'), unitMicros: z.number().int().positive(), buckets: z.array(BucketSchema) })
  .strict();
export type CoarsenedState = z.infer<typeof CoarsenedStateSchema>;

export const SketchDistributionSchema = z
  .object({
    kind: z.literal('sketch'),
    /** HyperLogLog registers, base64. */
    hll: z.string(),
    /** The exact distinct count, known from one pass or from exact counts; null once two sketches have merged. */
    distinct: count.nullable(),
    top: TopSummarySchema,
    /** Finite numbers (INT, FLOAT) or instants (TEMPORAL); null for other kinds. */
    numbers: z.union([DDSketchStateSchema, CoarsenedStateSchema]).nullable(),
  })
  .strict();
export type SketchDistribution = z.infer<typeof SketchDistributionSchema>;

export const DistributionSchema = z.union([ExactDistributionSchema, SketchDistributionSchema]);
export type Distribution = z.infer<typeof DistributionSchema>;

/**
 * Count, mean and sum of squared deviations (M2) of finite values; `n` is a sum of weights in weighted
 * moments. The mean is kept as `shift` (the smallest value) plus `meanOffset`: instants are about 1e15
 * µs from the epoch but spread over far less, and a mean that large would carry its rounding into the
 * difference of two shards' means, and so into the merged M2.
 */
export const MomentsSchema = z.object({ n: weight, shift: z.number(), meanOffset: z.number(), m2: z.number().nonnegative() }).strict();
export type Moments = z.infer<typeof MomentsSchema>;

export const NumericPartialSchema = z
  .object({
    moments: MomentsSchema,
    weightedMoments: MomentsSchema.nullable(),
    /** Over finite values; temporal ones in microseconds since 1970-01-01 UTC, with DuckDB's text beside them. */
    min: z.number().nullable(),
    max: z.number().nullable(),
    minText: z.string().nullable(),
    maxText: z.string().nullable(),
    numNan: count,
    numPosInf: count,
    numNegInf: count,
    numZeros: count,
  })
  .strict();
export type NumericPartial = z.infer<typeof NumericPartialSchema>;

export const PartialFeatureSchema = z
  .object({
    name: z.string(),
    type: FeatureStatisticsSchema.shape.type,
    physicalType: z.string(),
    valency: FeatureStatisticsSchema.shape.valency,
    /** Rows where the feature is present / null, and the sums of their weights. */
    count,
    missing: count,
    weightedCount: maybeWeight,
    weightedMissing: maybeWeight,
    /** Values per present row: the list lengths (1 for a scalar). */
    valueCounts: z.object({ min: count.nullable(), max: count.nullable(), total: count, lengths: DistributionSchema }).strict(),
    /** The values: rows for a scalar, list elements (nulls inside a list left out) for a list feature. */
    values: z
      .object({
        count,
        distribution: DistributionSchema,
        numeric: NumericPartialSchema.nullable(),
        stringLength: z.object({ min: count.nullable(), max: count.nullable(), total: count }).strict().nullable(),
      })
      .strict(),
  })
  .strict();
export type PartialFeature = z.infer<typeof PartialFeatureSchema>;

export const PartialDatasetSchema = z
  .object({ numExamples: count, weightedNumExamples: maybeWeight, features: z.array(PartialFeatureSchema) })
  .strict();
export type PartialDataset = z.infer<typeof PartialDatasetSchema>;

export const PartialSliceSchema = PartialDatasetSchema.extend({ key: z.record(z.string(), z.string().nullable()) }).strict();
export type PartialSlice = z.infer<typeof PartialSliceSchema>;

/**
 * Slices in the order of the slicing features, then of their values (code units; missing last): the
 * order of `slices` in a split, so that merged and one-pass statistics list them alike.
 */
export function compareSlices(slicing: readonly string[]): (a: PartialSlice, b: PartialSlice) => number {
  const position = (s: PartialSlice) => slicing.indexOf(Object.keys(s.key)[0]!);
  const value = (s: PartialSlice) => Object.values(s.key)[0] ?? null;
  return (a, b) => {
    const va = value(a);
    const vb = value(b);
    return position(a) - position(b) || (va === vb ? 0 : va === null ? 1 : vb === null ? -1 : va < vb ? -1 : 1);
  };
}

export const PartialSplitSchema = PartialDatasetSchema.extend({ name: z.string(), slices: z.array(PartialSliceSchema) }).strict();
export type PartialSplit = z.infer<typeof PartialSplitSchema>;

/** What two states must share to be merged: the same rules made both. */
export const PartialConventionsSchema = z
  .object({
    /** Distinct values per shard kept as exact counts; more become sketches. */
    valueCountCap: z.number().int().positive(),
    topSummarySize: z.number().int().positive(),
    ddsketchRelativeAccuracy: z.number().positive(),
    hyperLogLog: z.string(),
    weightFeature: z.string().nullable(),
    slices: z.array(z.string()),
  })
  .strict();
export type PartialConventions = z.infer<typeof PartialConventionsSchema>;

export const PartialStatisticsSchema = z
  .object({ version: z.literal(1), conventions: PartialConventionsSchema, splits: z.array(PartialSplitSchema) })
  .strict();
export type PartialStatistics = z.infer<typeof PartialStatisticsSchema>;
