import { z } from 'zod';

/**
 * The content of a Schema artifact: `schema.json`, what the data is expected to look like. People
 * edit it (it is the curated schema ImportSchemaGen takes), so every field is named as in TFDV's
 * `schema.proto` (camelCase) and optional fields are left out rather than written as null.
 * schema-pbtxt.ts converts it to and from TFDV's text format.
 */
export const SCHEMA_FILE_NAME = 'schema.json';

const fraction = z.number().min(0).max(1);

/** TFDV's `FeaturePresence`: a feature must be present in at least this fraction / number of rows. */
export const PresenceSchema = z
  .object({ minFraction: fraction.optional(), minCount: z.number().int().nonnegative().optional() })
  .strict();

/** TFDV's `ValueCount`: how many values each present row carries (1..1 for a scalar). */
export const ValueCountSchema = z
  .object({ min: z.number().int().nonnegative().optional(), max: z.number().int().nonnegative().optional() })
  .strict();

export const IntDomainSchema = z
  .object({ kind: z.literal('int'), min: z.number().int().optional(), max: z.number().int().optional(), isCategorical: z.boolean().optional() })
  .strict();
export const FloatDomainSchema = z
  .object({
    kind: z.literal('float'),
    min: z.number().optional(),
    max: z.number().optional(),
    /** Set by SchemaGen when the training data had no NaN (TFDV leaves it unset, so NaN passes its inferred schemas). */
    disallowNan: z.boolean().optional(),
    disallowInf: z.boolean().optional(),
  })
  .strict();
export const StringDomainSchema = z.object({ kind: z.literal('string'), values: z.array(z.string()) }).strict();
export const BoolDomainSchema = z.object({ kind: z.literal('bool') }).strict();
export const DomainSchema = z.discriminatedUnion('kind', [IntDomainSchema, FloatDomainSchema, StringDomainSchema, BoolDomainSchema]);
export type Domain = z.infer<typeof DomainSchema>;

/** A threshold on one distance between two datasets' distributions of a feature. */
const ThresholdSchema = z.object({ threshold: z.number().nonnegative() }).strict();

/**
 * TFDV's `FeatureComparator` (skew: training vs serving; drift: this span vs the previous one), with
 * TFDV's two measures and mlpipe's own two (defined in the drift documentation).
 */
export const FeatureComparatorSchema = z
  .object({
    infinityNorm: ThresholdSchema.optional(),
    jensenShannonDivergence: ThresholdSchema.optional(),
    populationStabilityIndex: ThresholdSchema.optional(),
    normalizedWasserstein: ThresholdSchema.optional(),
  })
  .strict();

export const FeatureSchema = z
  .object({
    name: z.string().min(1),
    /** mlpipe's column kinds (components/data/column-kinds.ts); the pbtxt export maps them to TFDV's INT, FLOAT, BYTES. */
    type: z.enum(['INT', 'FLOAT', 'STRING', 'BOOL', 'TEMPORAL', 'OTHER']),
    presence: PresenceSchema.optional(),
    /** Values per row; absent for a feature whose valency is not constrained. */
    valueCount: ValueCountSchema.optional(),
    domain: DomainSchema.optional(),
    /** TFDV's `DistributionConstraints.min_domain_mass`: the fraction of values that must be in the domain (default 1). */
    minDomainMass: fraction.optional(),
    inEnvironment: z.array(z.string()).optional(),
    notInEnvironment: z.array(z.string()).optional(),
    skewComparator: FeatureComparatorSchema.optional(),
    driftComparator: FeatureComparatorSchema.optional(),
    /**
     * What inference concluded that the schema proto has no field for: `idLike` (distinct ≈ rows: an
     * identifier, given no domain), `freeText` (too many values for a domain).
     */
    annotations: z.array(z.enum(['idLike', 'freeText'])).optional(),
    /** A person's note, kept through import and export (TFDV's `annotation.comment`). */
    comment: z.string().optional(),
  })
  .strict();
export type FeatureSpec = z.infer<typeof FeatureSchema>;

/**
 * TFDV's `num_examples_drift_comparator`: rows of this span over rows of the previous span must lie
 * within [minFractionThreshold, maxFractionThreshold] (ExampleValidator's drift comparison).
 */
export const NumExamplesComparatorSchema = z
  .object({ minFractionThreshold: z.number().nonnegative().optional(), maxFractionThreshold: z.number().nonnegative().optional() })
  .strict();

export const DatasetConstraintsSchema = z
  .object({
    minExamplesCount: z.number().int().nonnegative().optional(),
    maxExamplesCount: z.number().int().nonnegative().optional(),
    numExamplesDriftComparator: NumExamplesComparatorSchema.optional(),
  })
  .strict();

export const SchemaPayloadSchema = z
  .object({
    version: z.literal(1),
    features: z.array(FeatureSchema),
    /** Environments every feature is in unless it says otherwise, e.g. `['TRAINING', 'SERVING']`. */
    defaultEnvironments: z.array(z.string()).optional(),
    datasetConstraints: DatasetConstraintsSchema.optional(),
  })
  .strict()
  .superRefine((schema, ctx) => {
    const seen = new Set<string>();
    schema.features.forEach((f, i) => {
      if (seen.has(f.name)) ctx.addIssue({ code: 'custom', path: ['features', i, 'name'], message: `feature "${f.name}" is listed twice` });
      seen.add(f.name);
    });
  });
export type SchemaPayload = z.infer<typeof SchemaPayloadSchema>;
