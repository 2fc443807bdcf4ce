import { z } from 'zod';
import { defineComponent } from '../../dsl/component';
import type { ResolveContext, ResolvedInputs } from '../../dsl/resolve';
import { DatasetConstraintsSchema, SCHEMA_FILE_NAME } from './payload';

/** The output property naming the node that inferred a schema: what `freeze` looks for. */
export const INFERRED_BY_PROPERTY = 'inferred_by';
/** The output property of a frozen run: the URI of the schema it passed on. */
export const FROZEN_FROM_PROPERTY = 'frozen_from';
/** The resolved file set and artifact a frozen run passes on. */
export const FROZEN_KEY = 'frozen';

export const SchemaGenParametersSchema = z
  .object({
    /** The splits whose statistics the schema is inferred from: the training split by default, `'all'` for every one (TFX's default). */
    splits: z.union([z.literal('all'), z.array(z.string().min(1)).min(1, 'name at least one split, or "all"')]).default(['train']),
    /** Splits to leave out of those, as TFX's `exclude_splits`. */
    excludeSplits: z.array(z.string()).default([]),
    /** A string feature with more distinct values than this gets no vocabulary and is annotated `freeText` (TFDV's `max_string_domain_size`). */
    maxStringDomainSize: z.number().int().min(1).max(100_000).default(100),
    /** Write the training data's min and max as int/float domain bounds (TFDV leaves them out: a later, larger value is no data error). */
    inferNumericBounds: z.boolean().default(false),
    /** The label feature: in the TRAINING environment, not in SERVING. */
    label: z.string().min(1).optional(),
    /** Bounds on the number of examples, copied into the schema for ExampleValidator. */
    datasetConstraints: DatasetConstraintsSchema.refine(
      (c) => c.minExamplesCount === undefined || c.maxExamplesCount === undefined || c.minExamplesCount <= c.maxExamplesCount,
      { message: 'minExamplesCount is above maxExamplesCount', path: ['minExamplesCount'] },
    ).optional(),
    /**
     * Validate later spans against the first inferred schema: when this node has inferred a schema in
     * this pipeline before, the newest such schema is output unchanged (and recorded as the run's
     * input) instead of inferring again. Turn it off for one run to infer afresh; that schema is then
     * the one frozen.
     */
    freeze: z.boolean().default(false),
  })
  .strict();
export type SchemaGenParameters = z.output<typeof SchemaGenParametersSchema>;

/** Finds the schema a frozen node passes on: its content is keyed (an edited schema.json runs the node again) and it is a recorded input. */
async function resolveFrozenSchema(ctx: ResolveContext<SchemaGenParameters>): Promise<ResolvedInputs> {
  if (!ctx.parameters.freeze) return { files: {}, artifacts: {} };
  const [newest] = await ctx.metadata.findArtifacts({ type: 'Schema', pipeline: ctx.pipeline, properties: { [INFERRED_BY_PROPERTY]: ctx.nodeId }, limit: 1 });
  if (!newest) return { files: {}, artifacts: {} };
  const { id, type, uri, contentHash, properties } = newest;
  return {
    files: { [FROZEN_KEY]: await ctx.listFiles(`${uri.replace(/\/$/, '')}/${SCHEMA_FILE_NAME}`) },
    artifacts: { [FROZEN_KEY]: [{ id, type, uri, contentHash, properties }] },
  };
}

/** Infers a Schema (schema.json and TFDV's schema.pbtxt) from an ExampleStatistics artifact (see infer-schema.ts). */
export const SchemaGen = defineComponent({
  type: 'SchemaGen',
  version: '1',
  description: 'Infers a schema (types, presence, valency, domains, environments) from statistics, or passes on the frozen one',
  parameters: SchemaGenParametersSchema,
  inputs: { statistics: { type: 'ExampleStatistics' } },
  outputs: { schema: 'Schema' },
  defaultResource: 'cpu',
  executor: { module: require.resolve('./executor') },
  resolve: resolveFrozenSchema,
});
