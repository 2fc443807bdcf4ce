import { z } from 'zod';
import { ArtifactRefSchema } from '../artifacts/artifact-types';
import { NodeStateSchema, PipelineSpecSchema } from '../dsl/ir';
import { ResolvedInputsSchema } from '../dsl/resolve';

/**
 * Shapes that cross the workflow boundary (workflow input, query and signal payloads, activity
 * inputs and results). Pure: the workflow bundle imports this module.
 */
export const RunOptionsSchema = z
  .object({
    /** Ignore the cache for every node (outputs are still recorded for later runs). */
    noCache: z.boolean().default(false),
  })
  .strict();
export type RunOptions = z.infer<typeof RunOptionsSchema>;

export const RunPipelineInputSchema = z
  .object({
    spec: PipelineSpecSchema,
    options: RunOptionsSchema.default({ noCache: false }),
  })
  .strict();
export type RunPipelineInput = z.infer<typeof RunPipelineInputSchema>;

export const ProgressDetailsSchema = z.object({
  fraction: z.number().min(0).max(1).optional(),
  message: z.string().optional(),
  counters: z.record(z.string(), z.number()).optional(),
});

export const NodeStatusSchema = z.object({
  state: NodeStateSchema,
  attempt: z.number().int().nonnegative(),
  progress: ProgressDetailsSchema.optional(),
  startedAt: z.number().optional(),
  finishedAt: z.number().optional(),
  durationMs: z.number().optional(),
  /** Time spent inside the executor itself, as measured by the worker. */
  executorMs: z.number().optional(),
  outputs: z.record(z.string(), z.array(z.string())).optional(),
  worker: z.string().optional(),
  error: z.string().optional(),
  /**
   * What kind of failure `error` is: bad input or parameters (not retried; fix them), retries used
   * up on errors that might pass, or a timeout (a worker lost, or an attempt longer than allowed).
   */
  failureKind: z.enum(['bad-input', 'gave-up', 'timed-out']).optional(),
  summary: z.record(z.string(), z.unknown()).optional(),
});
export type NodeStatus = z.infer<typeof NodeStatusSchema>;

export const PipelineStatusSchema = z.object({
  pipeline: z.string(),
  state: z.enum(['running', 'succeeded', 'failed', 'cancelled']),
  nodes: z.record(z.string(), NodeStatusSchema),
});
export type PipelineStatus = z.infer<typeof PipelineStatusSchema>;

export const NodeProgressSignalSchema = z.object({
  nodeId: z.string(),
  attempt: z.number().int().positive(),
  progress: ProgressDetailsSchema,
});
export type NodeProgressSignal = z.infer<typeof NodeProgressSignalSchema>;

const ArtifactRefListMap = z.record(z.string(), z.array(ArtifactRefSchema));

export const PrepareNodeInputSchema = z.object({
  pipeline: z.string(),
  workflowId: z.string(),
  runId: z.string(),
  nodeId: z.string(),
  component: z.string(),
  parameters: z.record(z.string(), z.unknown()),
  outputs: z.record(z.string(), z.string()),
  inputs: ArtifactRefListMap,
  useCache: z.boolean(),
});
export type PrepareNodeInput = z.infer<typeof PrepareNodeInputSchema>;

export const PrepareNodeResultSchema = z.discriminatedUnion('cached', [
  z.object({
    cached: z.literal(true),
    executionId: z.number(),
    outputs: ArtifactRefListMap,
    /** The summary of the execution whose outputs are reused. */
    summary: z.record(z.string(), z.unknown()).optional(),
    /** The reused execution was a gate that blocked: this node blocks too. */
    blocked: z.string().optional(),
  }),
  z.object({
    cached: z.literal(false),
    executionId: z.number(),
    fingerprint: z.string(),
    /*
     * Absent from the results of runs recorded before resolve steps, which replay through here.
     */
    /** The cache key without the component version, so the key can be remade with the version that ran. */
    keyBase: z.string().optional(),
    /** The component version the key was made with: the control worker's. */
    componentVersion: z.string().optional(),
    /** Where each output will be committed; deterministic per run and node, so retries reuse it. */
    outputUris: z.record(z.string(), z.string()),
    resolved: ResolvedInputsSchema.default({ files: {}, artifacts: {} }),
    /** Outputs under the same key existed but could not be reused, and why. */
    cacheMiss: z.string().optional(),
  }),
]);
export type PrepareNodeResult = z.infer<typeof PrepareNodeResultSchema>;

export const ExecuteComponentInputSchema = z.object({
  pipeline: z.string(),
  workflowId: z.string(),
  nodeId: z.string(),
  component: z.string(),
  parameters: z.record(z.string(), z.unknown()),
  inputs: ArtifactRefListMap,
  outputUris: z.record(z.string(), z.string()),
  resolved: ResolvedInputsSchema.default({ files: {}, artifacts: {} }),
});
export type ExecuteComponentInput = z.infer<typeof ExecuteComponentInputSchema>;

export const ExecuteComponentResultSchema = z.object({
  outputs: ArtifactRefListMap,
  worker: z.string(),
  attempt: z.number().int().positive(),
  executorMs: z.number(),
  summary: z.record(z.string(), z.unknown()).optional(),
  /** The component version the executor worker has: it may differ from the one the key was made with. */
  componentVersion: z.string().optional(),
  /** A gate's reason to stop what follows. */
  block: z.object({ reason: z.string().min(1) }).optional(),
});
export type ExecuteComponentResult = z.infer<typeof ExecuteComponentResultSchema>;

export const PublishNodeInputSchema = z.object({
  executionId: z.number(),
  outputs: ArtifactRefListMap,
  worker: z.string(),
  attempt: z.number().int().positive(),
  summary: z.record(z.string(), z.unknown()).optional(),
  /** With `componentVersion`: re-keys the execution when the executor ran another version than the key's. */
  keyBase: z.string().optional(),
  keyVersion: z.string().optional(),
  componentVersion: z.string().optional(),
  blocked: z.string().optional(),
});
export type PublishNodeInput = z.infer<typeof PublishNodeInputSchema>;

export const AbandonNodeInputSchema = z.object({
  executionId: z.number(),
  state: z.enum(['failed', 'cancelled']),
  error: z.string(),
});
export type AbandonNodeInput = z.infer<typeof AbandonNodeInputSchema>;

/** Message names, shared by the workflow and its clients without importing workflow code. */
export const STATUS_QUERY = 'status';
export const NODE_PROGRESS_SIGNAL = 'nodeProgress';
export const PIPELINE_WORKFLOW_TYPE = 'runPipeline';
