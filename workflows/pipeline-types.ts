import { z } from 'zod';
import { ArtifactRefSchema } from '../artifacts/artifact-types';
import { NodeStateSchema, PipelineSpecSchema } from '../dsl/ir';

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
  componentVersion: z.string(),
  parameters: z.record(z.string(), z.unknown()),
  outputs: z.record(z.string(), z.string()),
  inputs: ArtifactRefListMap,
  useCache: z.boolean(),
  contentParameters: z.array(z.string()).default([]),
});
export type PrepareNodeInput = z.infer<typeof PrepareNodeInputSchema>;

export const PrepareNodeResultSchema = z.discriminatedUnion('cached', [
  z.object({
    cached: z.literal(true),
    executionId: z.number(),
    outputs: ArtifactRefListMap,
    /** The summary of the execution whose outputs are reused. */
    summary: z.record(z.string(), z.unknown()).optional(),
  }),
  z.object({
    cached: z.literal(false),
    executionId: z.number(),
    fingerprint: z.string(),
    /** Where each output will be committed; deterministic per run and node, so retries reuse it. */
    outputUris: z.record(z.string(), z.string()),
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
});
export type ExecuteComponentInput = z.infer<typeof ExecuteComponentInputSchema>;

export const ExecuteComponentResultSchema = z.object({
  outputs: ArtifactRefListMap,
  worker: z.string(),
  attempt: z.number().int().positive(),
  executorMs: z.number(),
  summary: z.record(z.string(), z.unknown()).optional(),
});
export type ExecuteComponentResult = z.infer<typeof ExecuteComponentResultSchema>;

export const PublishNodeInputSchema = z.object({
  executionId: z.number(),
  outputs: ArtifactRefListMap,
  worker: z.string(),
  attempt: z.number().int().positive(),
  summary: z.record(z.string(), z.unknown()).optional(),
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
