import { z } from 'zod';

/**
 * What StatisticsGen writes beside `statistics.json` when its `label` parameter names a feature: per
 * split, how much each feature tells about the label (mutual information, with the binning that gave
 * it), Pearson correlations between numeric features, and flags for features unlikely to help a model,
 * each with its reason and figures. The reports and users read it, so its shape is a contract.
 */
export const USEFULNESS_FILE_NAME = 'usefulness.json';

const count = z.number().int().nonnegative();
const bits = z.number().nonnegative();

/** One bin of a feature (or class of the label) as the mutual information counted it. */
export const BinSchema = z.discriminatedUnion('kind', [
  /** `[low, high)`; null is −∞ / +∞, so ±Infinity falls in the first or last range. Instants in microseconds since 1970-01-01 UTC. */
  z.object({ kind: z.literal('range'), low: z.number().nullable(), high: z.number().nullable(), count }).strict(),
  z.object({ kind: z.literal('value'), value: z.string(), count }).strict(),
  /** Every value beyond the kept ones, as one bin. */
  z.object({ kind: z.literal('other'), count }).strict(),
  z.object({ kind: z.literal('nan'), count }).strict(),
  z.object({ kind: z.literal('missing'), count }).strict(),
]);
export type Bin = z.infer<typeof BinSchema>;

export const BinningSchema = z
  .object({
    /** `quantiles`: cut at the statistics' deciles; `values`: one bin per kept value. */
    method: z.enum(['quantiles', 'values']),
    /** Counts over the rows where the label is present, as the mutual information uses them. */
    bins: z.array(BinSchema),
  })
  .strict();
export type Binning = z.infer<typeof BinningSchema>;

const reason = z.string();

/** Why a feature is unlikely to help a model; `reason` says it with the figures. */
export const FlagSchema = z.discriminatedUnion('kind', [
  /** One distinct present value; null when that value is not among the statistics' top values. */
  z.object({ kind: z.literal('constant'), reason, value: z.string().nullable() }).strict(),
  /** The most frequent value holds `share` (≥ the threshold) of the present values. */
  z.object({ kind: z.literal('nearConstant'), reason, value: z.string(), share: z.number() }).strict(),
  z.object({ kind: z.literal('mostlyMissing'), reason, missing: count, fraction: z.number() }).strict(),
  /**
   * Another feature (the label too) carries the same information: |Pearson| at or above the threshold
   * (`pearson`), or values that map one to one (`oneToOne`), or both.
   */
  z.object({ kind: z.literal('nearDuplicate'), reason, of: z.string(), pearson: z.number().nullable(), oneToOne: z.boolean() }).strict(),
  /** SchemaGen's `idLike` rule: distinct values in nearly every present row. */
  z.object({ kind: z.literal('idLike'), reason, distinct: count, count }).strict(),
]);
export type Flag = z.infer<typeof FlagSchema>;

export const FeatureUsefulnessSchema = z
  .object({
    name: z.string(),
    /** The statistics' kind of the feature (INT, FLOAT, STRING, BOOL, TEMPORAL, OTHER). */
    type: z.string(),
    /** 1 = most mutual information with the label; null for features that are not ranked (`notRanked` says why). */
    rank: z.number().int().positive().nullable(),
    /** I(feature; label) in bits. */
    mutualInformation: bits.nullable(),
    /** Mutual information / H(label): the fraction of the label's entropy the feature explains (Theil's U), 0..1. */
    uncertaintyCoefficient: z.number().min(0).max(1).nullable(),
    /** H(feature) in bits, of the binned feature over the labelled rows. */
    entropy: bits.nullable(),
    /** What an unrelated feature with as many bins would show on as many rows (conventions.chanceLevel). */
    chanceLevel: bits.nullable(),
    binning: BinningSchema.nullable(),
    notRanked: z.string().optional(),
    flags: z.array(FlagSchema),
  })
  .strict();
export type FeatureUsefulness = z.infer<typeof FeatureUsefulnessSchema>;

/** Pearson correlation of every pair of numeric features: `pearson[i][j]` over `rows[i][j]` rows. */
export const CorrelationMatrixSchema = z
  .object({
    features: z.array(z.string()),
    /** Null where fewer than two rows have both values finite, or one of them does not vary there. */
    pearson: z.array(z.array(z.number().min(-1).max(1).nullable())),
    rows: z.array(z.array(count)),
  })
  .strict();
export type CorrelationMatrix = z.infer<typeof CorrelationMatrixSchema>;

export const SplitUsefulnessSchema = z
  .object({
    name: z.string(),
    numExamples: count,
    label: z
      .object({
        name: z.string(),
        type: z.string(),
        /** Rows where the label is present: the mutual information is over these. */
        labeled: count,
        /** H(label) in bits, over its classes (bins). */
        entropy: bits,
        binning: BinningSchema,
      })
      .strict(),
    /** Ranked features first, most informative first (ties by name), then those not ranked; the label is not among them. */
    features: z.array(FeatureUsefulnessSchema),
    correlation: CorrelationMatrixSchema,
  })
  .strict();
export type SplitUsefulness = z.infer<typeof SplitUsefulnessSchema>;

export const UsefulnessSchema = z
  .object({
    version: z.literal(1),
    label: z.string(),
    /** Written into the file so that a reader needs no documentation to interpret the numbers. */
    conventions: z
      .object({
        mutualInformation: z.string(),
        numericBinning: z.string(),
        valueBinning: z.string(),
        labelBinning: z.string(),
        uncertaintyCoefficient: z.string(),
        chanceLevel: z.string(),
        correlation: z.string(),
        flags: z.record(z.enum(['constant', 'nearConstant', 'mostlyMissing', 'nearDuplicate', 'idLike']), z.string()),
      })
      .strict(),
    splits: z.array(SplitUsefulnessSchema),
  })
  .strict();
export type Usefulness = z.infer<typeof UsefulnessSchema>;
