import { z } from 'zod';
import { ExampleRequestSchema } from '../infra-validator/example-request';

/**
 * What the Pusher writes. In the model repository, `<model>/config.json` (the server's layout) and,
 * per version, `<model>/<version>/model.onnx` (the serving graph), `serving-config.json` (the config
 * this version was pushed with, so a rollback can put it back) and `push.json` (this schema). Its
 * PushedModel artifact holds the same `push.json`.
 */
export const REPOSITORY_MODEL_FILE = 'model.onnx';
export const REPOSITORY_CONFIG_FILE = 'config.json';
export const VERSION_CONFIG_FILE = 'serving-config.json';
export const PUSH_FILE = 'push.json';
/** In a PushedModel instead of push.json when the candidate was already serving: why nothing was pushed. */
export const NOT_PUSHED_MARKER = 'NOT_PUSHED';

/** Properties of a PushedModel. */
export const PUSHED_PROPERTY = 'pushed';
export const REPOSITORY_PROPERTY = 'repository';
export const MODEL_PROPERTY = 'model';
export const VERSION_PROPERTY = 'version';
export const CONTENT_PROPERTY = 'served_content_hash';
export const PUSHED_AT_PROPERTY = 'pushed_at';

export const PushRecordSchema = z
  .object({
    version: z.literal(1),
    repository: z.string(),
    model: z.string(),
    modelVersion: z.number().int().positive(),
    /** sha256 over model.onnx and its config (what the server loads): equal hashes, an identical model. */
    servedContentHash: z.string(),
    pushedAt: z.string(),
    /** The ServingModel pushed, and the ModelBlessing (and InfraBlessing) that let it through. */
    lineage: z
      .object({
        servingModel: z.object({ uri: z.string(), contentHash: z.string() }).strict(),
        blessing: z.object({ uri: z.string(), contentHash: z.string() }).strict().optional(),
        infraBlessing: z.object({ uri: z.string(), contentHash: z.string() }).strict().optional(),
        node: z.string().optional(),
        /** The pipeline run whose Pusher pushed it. */
        run: z.object({ pipeline: z.string(), workflowId: z.string(), runId: z.string() }).strict().optional(),
        rollbackOf: z.number().int().positive().optional(),
      })
      .strict(),
    /** The Evaluator's verdict and the metric values its checks read, as the blessing has them. */
    evaluation: z
      .object({ verdict: z.string(), metrics: z.array(z.object({ metric: z.string(), slice: z.record(z.string(), z.unknown()), value: z.number().nullable() }).strict()) })
      .strict()
      .optional(),
    /** The ServingModel's signature.json: the inputs and outputs a client sends and receives. */
    signature: z.unknown(),
    /** A raw row the InfraValidator sent it, as a TF Serving REST request: what `mlpipe models show` prints as a curl. */
    exampleRequest: ExampleRequestSchema.optional(),
  })
  .strict();
export type PushRecord = z.infer<typeof PushRecordSchema>;
