import { z } from 'zod';
import { ArtifactRefSchema, type ArtifactRef } from '../artifacts/artifact-types';
import { NodeStateSchema, PipelineSpecSchema } from '../dsl/ir';
import { ResolvedInputsSchema, type ResolvedInputs } from '../dsl/resolve';

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

export const ApprovalDecisionSchema = z
  .object({
    approved: z.boolean(),
    by: z.string().trim().min(1, 'say who decides'),
    reason: z.string().trim().min(1, 'say why'),
  })
  .strict();

/** What `mlpipe approve` signals: `node` may be left out while only one node waits. */
export const ApproveSignalSchema = ApprovalDecisionSchema.extend({ node: z.string().min(1).optional() }).strict();
export type ApproveSignal = z.infer<typeof ApproveSignalSchema>;

/** A node's approval: asked for when, until when, and what was decided (none yet, or the timeout). */
export const NodeApprovalSchema = z.object({
  requestedAt: z.number(),
  timeoutMs: z.number(),
  /** `at` is workflow time, as every time of the status is. */
  decision: ApprovalDecisionSchema.extend({ at: z.number() }).optional(),
  timedOutAt: z.number().optional(),
});
export type NodeApproval = z.infer<typeof NodeApprovalSchema>;

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
   * What kind of failure `error` is: bad input or parameters (not retried; fix them), a component
   * breaking its own contract (its author must fix it), the executor's retries used up on errors
   * that might pass, or a timeout (a worker lost, or an attempt longer than allowed).
   */
  failureKind: z.enum(['bad-input', 'component-error', 'gave-up', 'timed-out']).optional(),
  summary: z.record(z.string(), z.unknown()).optional(),
  /** Only for a node with the `approval` option that was not a cache hit. */
  approval: NodeApprovalSchema.optional(),
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

type ArtifactRefs = Record<string, ArtifactRef[]>;

/**
 * What the control step answers. A plain type, not a schema: the workflow reads it from its own
 * local activity (or, on replay, from the history), so there is no foreign input to check, and a
 * schema here would decide how recorded histories replay.
 */
export type PrepareNodeResult =
  | {
      cached: true;
      executionId: number;
      outputs: ArtifactRefs;
      /** The summary of the execution whose outputs are reused. */
      summary?: Record<string, unknown>;
      /** The reused execution was a gate that blocked: this node blocks too. */
      blocked?: string;
    }
  | {
      cached: false;
      executionId: number;
      fingerprint: string;
      /** The key without the component version, so it can be remade with the version that ran (absent in runs recorded before resolve steps). */
      keyBase?: string;
      /** The component version the key was made with: the control worker's. */
      componentVersion?: string;
      /** Where each output will be committed; deterministic per run and node, so retries reuse it. */
      outputUris: Record<string, string>;
      /** What the resolve step found (absent in runs recorded before resolve steps). */
      resolved?: ResolvedInputs;
      /** Outputs under the same key existed but could not be reused, and why. */
      cacheMiss?: string;
    };

export const ExecuteComponentInputSchema = z.object({
  pipeline: z.string(),
  workflowId: z.string(),
  nodeId: z.string(),
  component: z.string(),
  parameters: z.record(z.string(), z.unknown()),
  inputs: ArtifactRefListMap,
  outputUris: z.record(z.string(), z.string()),
  /** Absent when a workflow of a build without resolve steps scheduled the node. */
  resolved: ResolvedInputsSchema.optional(),
});
export type ExecuteComponentInput = z.infer<typeof ExecuteComponentInputSchema>;

/** What the executor activity answers (a plain type, as PrepareNodeResult is). */
export interface ExecuteComponentResult {
  outputs: ArtifactRefs;
  worker: string;
  attempt: number;
  executorMs: number;
  summary?: Record<string, unknown>;
  /** The component version the executor worker has: it may differ from the one the key was made with. */
  componentVersion?: string;
  /** A gate's reason to stop what follows. */
  block?: { reason: string };
}

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

export const RecordApprovalInputSchema = z.object({
  pipeline: z.string(),
  runId: z.string(),
  nodeId: z.string(),
  approval: NodeApprovalSchema,
});
export type RecordApprovalInput = z.infer<typeof RecordApprovalInputSchema>;

/**
 * The run-context property of the metadata store that holds a node's approval (NodeApproval as
 * JSON), so `mlpipe runs show` tells the wait and the decision without reaching Temporal.
 */
export const approvalProperty = (nodeId: string) => `approval:${nodeId}`;
export const APPROVAL_PROPERTY_PATTERN = /^approval:(.+)$/;

/** Message names, shared by the workflow and its clients without importing workflow code. */
export const STATUS_QUERY = 'status';
export const NODE_PROGRESS_SIGNAL = 'nodeProgress';
export const APPROVE_SIGNAL = 'approve';
export const PIPELINE_WORKFLOW_TYPE = 'runPipeline';
