import { z } from 'zod';

/**
 * The compiled pipeline: plain JSON, validated at every boundary. Workflow code imports this module,
 * so it must stay pure (zod only, no Node built-ins).
 */
export const ResourceClassSchema = z.enum(['cpu', 'gpu']);
export type ResourceClass = z.infer<typeof ResourceClassSchema>;

export const RetryPolicySchema = z
  .object({
    maximumAttempts: z.number().int().min(1).max(100).default(3),
    initialIntervalMs: z.number().int().min(1).default(1000),
    backoffCoefficient: z.number().min(1).max(10).default(2),
    maximumIntervalMs: z.number().int().min(1).default(60_000),
  })
  .strict();
export type RetryPolicy = z.infer<typeof RetryPolicySchema>;

export const TimeoutsSchema = z
  .object({
    /** Upper bound on one attempt of the executor. */
    startToCloseMs: z.number().int().min(1000).default(2 * 60 * 60 * 1000),
    /** A worker that stops heartbeating this long is presumed dead and the attempt is retried elsewhere. */
    // Executors heartbeat every second: a timeout of a few seconds leaves room for jitter.
    heartbeatMs: z.number().int().min(3000).default(30_000),
    /** How long a node may wait for a worker on its queue (a gpu node with no gpu worker waits). */
    scheduleToStartMs: z.number().int().min(1000).optional(),
  })
  .strict();
export type Timeouts = z.infer<typeof TimeoutsSchema>;

/** A person decides before the node runs: `mlpipe approve` (or a rejection, or the timeout) ends the wait. */
export const ApprovalSchema = z
  .object({
    /** Without a decision this long the node is rejected: a run waiting for nobody must end some day. */
    timeoutMs: z.number().int().min(1000).max(30 * 24 * 60 * 60 * 1000).default(24 * 60 * 60 * 1000),
  })
  .strict();
export type Approval = z.infer<typeof ApprovalSchema>;

export const InputRefSchema = z
  .object({
    node: z.string(),
    output: z.string(),
  })
  .strict();
export type InputRef = z.infer<typeof InputRefSchema>;

export const NODE_ID_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;
/**
 * Output keys are path segments under a node's prefix in the store; starting with a letter keeps them
 * apart from the engine's own (`_checkpoints`). Checked where components are compiled and registered,
 * not in the IR schema: runs started by earlier builds must still replay.
 */
export const OUTPUT_KEY_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;

export const NodeSpecSchema = z
  .object({
    id: z.string().regex(NODE_ID_PATTERN, 'node ids start with a letter and use letters, digits, _ and -'),
    component: z.string().min(1),
    /**
     * Written by builds before the cache key took the version from the control worker's registry;
     * accepted from stored specs and ignored, as `contentParameters` is.
     */
    componentVersion: z.string().min(1).optional(),
    parameters: z.record(z.string(), z.unknown()),
    inputs: z.record(z.string(), z.array(InputRefSchema)),
    outputs: z.record(z.string(), z.string()),
    resource: ResourceClassSchema,
    retry: RetryPolicySchema,
    timeouts: TimeoutsSchema,
    cache: z.boolean(),
    /** Absent: the node runs as soon as its inputs are ready. */
    approval: ApprovalSchema.optional(),
    /**
     * Written by builds before components had resolve steps; still accepted so that specs stored
     * in Temporal (schedules, the histories of earlier runs) parse, and ignored.
     */
    contentParameters: z.array(z.string()).optional(),
  })
  .strict();
export type NodeSpec = z.infer<typeof NodeSpecSchema>;

/** The IR's shape without the ordering checks: what a JSON spec must look like before it is sorted. */
export const PipelineSpecShapeSchema = z
  .object({
    irVersion: z.literal(1),
    name: z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,127}$/, 'pipeline names start with a letter; letters, digits, _ . -'),
    /** Nodes in a topological order. */
    nodes: z.array(NodeSpecSchema).min(1),
  })
  .strict();

export const PipelineSpecSchema = PipelineSpecShapeSchema
  // The workflow relies on these: an IR made by hand (SDK, UI) could otherwise leave a node unrun.
  .superRefine((spec, ctx) => {
    const seen = new Map<string, Record<string, string>>();
    spec.nodes.forEach((node, i) => {
      if (seen.has(node.id)) ctx.addIssue({ code: 'custom', path: ['nodes', i, 'id'], message: `duplicate node id '${node.id}'` });
      for (const [key, refs] of Object.entries(node.inputs)) {
        refs.forEach((ref, j) => {
          const outputs = seen.get(ref.node);
          const where = ['nodes', i, 'inputs', key, j];
          if (!outputs) ctx.addIssue({ code: 'custom', path: where, message: `node '${node.id}' reads '${ref.node}', which is not an earlier node` });
          else if (!(ref.output in outputs)) ctx.addIssue({ code: 'custom', path: where, message: `node '${ref.node}' has no output '${ref.output}'` });
        });
      }
      seen.set(node.id, node.outputs);
    });
  });
export type PipelineSpec = z.infer<typeof PipelineSpecSchema>;

/** Node states as the `status` query reports them. */
export const NodeStateSchema = z.enum(['pending', 'awaiting-approval', 'running', 'cached', 'succeeded', 'blocked', 'failed', 'skipped', 'cancelled']);
export type NodeState = z.infer<typeof NodeStateSchema>;
