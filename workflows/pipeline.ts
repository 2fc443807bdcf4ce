import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  TimeoutFailure,
  CancellationScope,
  condition,
  defineQuery,
  defineSignal,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
  setCurrentDetails,
} from '@temporalio/workflow';
import type { ArtifactRef } from '../artifacts/artifact-types';
import { formatDuration } from '../artifacts/metadata/text-format';
import { TASK_QUEUES } from '../config/queues';
import { describeIssues } from '../dsl/zod-issues';
import type { NodeSpec } from '../dsl/ir';
import type { ControlActivities } from '../activities/control';
import type { ExecutorActivities } from '../activities/execute-component';
import {
  APPROVE_SIGNAL,
  ApproveSignalSchema,
  NODE_PROGRESS_SIGNAL,
  NodeProgressSignalSchema,
  RunPipelineInputSchema,
  STATUS_QUERY,
  type ApproveSignal,
  type NodeApproval,
  type NodeProgressSignal,
  type NodeStatus,
  type PipelineStatus,
  type RunPipelineInput,
} from './pipeline-types';

export const statusQuery = defineQuery<PipelineStatus>(STATUS_QUERY);
export const nodeProgressSignal = defineSignal<[NodeProgressSignal]>(NODE_PROGRESS_SIGNAL);
export const approveSignal = defineSignal<[ApproveSignal]>(APPROVE_SIGNAL);


const CONTROL_OPTIONS = {
  taskQueue: TASK_QUEUES.control,
  // Control activities are short metadata/store look-ups; a minute covers a slow store, and
  // retries ride out a store or database restart without failing the run.
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 20 },
} as const;
/**
 * Control activities as local activities: run by the control worker that runs this workflow (the
 * same fleet, polling mlpipe-control) inside its workflow task, without two server round trips per
 * call. A control step is a few metadata and manifest look-ups, plus its resolve step, which hashes
 * the input files the control worker has not hashed before (a few seconds a gigabyte): longer than a
 * workflow task, which the SDK then extends while the local activity runs.
 */
const LOCAL_CONTROL_OPTIONS = {
  startToCloseTimeout: '15 minutes',
  retry: CONTROL_OPTIONS.retry,
} as const;
/** Runs started before control steps became local activities replay with the scheduled ones. */
const LOCAL_CONTROL_PATCH = 'control-as-local-activities';
/**
 * The executor activity's id is the node id, so a client reading the run's pending activities
 * (attempt, last failure, next retry) knows which node they belong to. Runs started before that
 * replay with the SDK's sequence-number ids.
 */
const NODE_ACTIVITY_ID_PATCH = 'executor-activity-id-is-node-id';
/**
 * A gate: a node whose executor (or the cached execution it reuses) says to block ends `blocked`
 * once its outputs are published, and nothing downstream of it runs. Runs started before gates
 * existed replay without it.
 */
const GATE_PATCH = 'node-gate';
/**
 * A node with the `approval` option waits, once it is not a cache hit, for an `approve` signal or its
 * timeout. Runs started before approvals existed replay without the wait.
 */
const APPROVAL_PATCH = 'approval-gate';

function controlActivities(summary?: string): ControlActivities {
  const withSummary = summary ? { summary } : {};
  return patched(LOCAL_CONTROL_PATCH)
    ? proxyLocalActivities<ControlActivities>({ ...LOCAL_CONTROL_OPTIONS, ...withSummary })
    : proxyActivities<ControlActivities>({ ...CONTROL_OPTIONS, ...withSummary });
}

type NodeOutputs = Record<string, ArtifactRef[]>;

class UpstreamNotAvailable extends Error {}
class NodeBlocked extends Error {}

/**
 * Runs a compiled pipeline: every node whose inputs are ready runs at once. Per node: a control
 * activity (fingerprint and cache look-up), the executor on the node's resource queue, and a control
 * activity that publishes outputs and lineage. Only artifact references pass through here.
 */
export async function runPipeline(rawInput: RunPipelineInput): Promise<PipelineStatus> {
  const parsedInput = RunPipelineInputSchema.safeParse(rawInput);
  if (!parsedInput.success) {
    // A ZodError would fail the workflow task and be retried forever; bad input fails the run.
    const problems = describeIssues(parsedInput.error, '(input)');
    throw ApplicationFailure.nonRetryable(`invalid pipeline spec: ${problems}`, 'InvalidPipelineSpec');
  }
  const { spec, options } = parsedInput.data;
  const info = workflowInfo();
  const control = controlActivities();
  // Decided here, before any local activity: a patched() call must come at the same point of the
  // history on replay as it did live, and code that runs after a local activity's result may run in
  // a later workflow task live (the result can arrive as that task is being heartbeated) than on replay.
  const executorIdIsNodeId = patched(NODE_ACTIVITY_ID_PATCH);
  const gates = patched(GATE_PATCH);
  // Asked only of runs with such a node: every other run's history stays as it was.
  const approvals = spec.nodes.some((n) => n.approval) && patched(APPROVAL_PATCH);
  const status: PipelineStatus = {
    pipeline: spec.name,
    state: 'running',
    nodes: Object.fromEntries(spec.nodes.map((n) => [n.id, { state: 'pending', attempt: 0 } satisfies NodeStatus])),
  };
  setHandler(statusQuery, () => status);
  setHandler(nodeProgressSignal, (raw) => {
    const parsed = NodeProgressSignalSchema.safeParse(raw);
    if (!parsed.success) return;
    const { nodeId, attempt, progress } = parsed.data;
    const node = status.nodes[nodeId];
    // A late signal from an earlier attempt must not overwrite a newer attempt's progress.
    if (node && node.state === 'running' && attempt >= node.attempt) {
      node.attempt = attempt;
      node.progress = progress;
    }
  });

  const decisions = new Map<string, NonNullable<NodeApproval['decision']>>();
  const onDecision = (raw: ApproveSignal) => {
    const parsed = ApproveSignalSchema.safeParse(raw);
    if (!parsed.success) {
      log.warn(`approve signal ignored: ${describeIssues(parsed.error, '(signal)')}`);
      return;
    }
    const { node, ...decision } = parsed.data;
    const waiting = spec.nodes.map((n) => n.id).filter((id) => status.nodes[id]!.state === 'awaiting-approval' && !decisions.has(id));
    const target = node ?? (waiting.length === 1 ? waiting[0] : undefined);
    // The first decision stands; one for a node that does not wait (any more) decides nothing.
    if (target === undefined || !waiting.includes(target)) {
      log.warn(`approve signal for ${node ? `node '${node}'` : 'no node'} ignored: waiting for approval: ${waiting.join(', ') || 'none'}`);
      return;
    }
    decisions.set(target, { ...decision, at: Date.now() });
  };
  setHandler(approveSignal, onDecision, {
    description: 'A decision on a node waiting for approval: {node (optional while only one waits), approved, by, reason}; `mlpipe approve` sends it.',
  });

  const publishDetails = () => setCurrentDetails(renderDetails(status, info.workflowId));
  publishDetails();

  const results = new Map<string, Promise<NodeOutputs>>();
  const runNode = async (node: NodeSpec): Promise<NodeOutputs> => {
    const upstreamIds = [...new Set(Object.values(node.inputs).flatMap((refs) => refs.map((r) => r.node)))];
    const upstream = await Promise.allSettled(upstreamIds.map((id) => results.get(id)!));
    const nodeStatus = status.nodes[node.id]!;
    if (upstream.some((r) => r.status === 'rejected')) {
      const cancelled = upstream.some((r) => r.status === 'rejected' && isCancellation(r.reason));
      nodeStatus.state = cancelled ? 'cancelled' : 'skipped';
      const failed = upstreamIds.filter((_, i) => upstream[i]!.status === 'rejected');
      const blockedBy = failed.filter((f) => status.nodes[f]!.state === 'blocked');
      const notSucceeded = failed.filter((f) => !blockedBy.includes(f));
      const quoted = (ids: string[]) => ids.map((f) => `'${f}'`).join(', ');
      nodeStatus.error = cancelled
        ? 'run cancelled'
        : [blockedBy.length > 0 ? `blocked by ${quoted(blockedBy)}` : '', notSucceeded.length > 0 ? `upstream ${quoted(notSucceeded)} did not succeed` : '']
            .filter(Boolean)
            .join('; ');
      publishDetails();
      throw cancelled ? upstream.find((r) => r.status === 'rejected')!.reason : new UpstreamNotAvailable(node.id);
    }
    const outputsOf = new Map(upstreamIds.map((id, i) => [id, (upstream[i] as PromiseFulfilledResult<NodeOutputs>).value]));
    const inputs: NodeOutputs = Object.fromEntries(
      Object.entries(node.inputs).map(([key, refs]) => [key, refs.flatMap((r) => outputsOf.get(r.node)![r.output] ?? [])]),
    );
    try {
      return await executeNode(node, inputs, nodeStatus);
    } catch (err) {
      if (nodeStatus.state === 'running') {
        recordFailure(nodeStatus, err, node.retry.maximumAttempts);
        publishDetails();
      }
      throw err;
    }
  };

  const executeNode = async (node: NodeSpec, inputs: NodeOutputs, nodeStatus: NodeStatus): Promise<NodeOutputs> => {
    nodeStatus.state = 'running';
    nodeStatus.startedAt = Date.now();
    publishDetails();
    // The summary labels the node's activities in the Temporal UI's timeline.
    const nodeControl = controlActivities(node.id);
    const prepared = await nodeControl.prepareNode({
      pipeline: spec.name,
      workflowId: info.workflowId,
      runId: info.runId,
      nodeId: node.id,
      component: node.component,
      parameters: node.parameters,
      outputs: node.outputs,
      inputs,
      useCache: node.cache && !options.noCache,
    });
    if (prepared.cached) {
      nodeStatus.summary = prepared.summary;
      if (prepared.blocked && gates) block(nodeStatus, prepared.blocked, prepared.outputs);
      finish(nodeStatus, 'cached', prepared.outputs);
      publishDetails();
      return prepared.outputs;
    }
    if (node.approval && approvals) await awaitApproval(node, node.approval.timeoutMs, nodeStatus, prepared.executionId, nodeControl);
    const executor = proxyActivities<ExecutorActivities>({
      summary: `${node.id} (${node.component})`,
      ...(executorIdIsNodeId ? { activityId: node.id } : {}),
      taskQueue: TASK_QUEUES[node.resource],
      startToCloseTimeout: node.timeouts.startToCloseMs,
      heartbeatTimeout: node.timeouts.heartbeatMs,
      ...(node.timeouts.scheduleToStartMs ? { scheduleToStartTimeout: node.timeouts.scheduleToStartMs } : {}),
      // Wait for the executor to acknowledge cancellation, so a cancelled run never leaves work
      // running on a worker after the workflow has ended.
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
      retry: {
        maximumAttempts: node.retry.maximumAttempts,
        initialInterval: node.retry.initialIntervalMs,
        backoffCoefficient: node.retry.backoffCoefficient,
        maximumInterval: node.retry.maximumIntervalMs,
        nonRetryableErrorTypes: ['UserInputError'],
      },
    });
    let published: NodeOutputs;
    let blockedBecause: string | undefined;
    try {
      const result = await executor.executeComponent({
        pipeline: spec.name,
        workflowId: info.workflowId,
        nodeId: node.id,
        component: node.component,
        parameters: node.parameters,
        inputs,
        outputUris: prepared.outputUris,
        ...(prepared.resolved ? { resolved: prepared.resolved } : {}),
      });
      nodeStatus.attempt = result.attempt;
      nodeStatus.worker = result.worker;
      nodeStatus.executorMs = result.executorMs;
      nodeStatus.summary = result.summary;
      published = await nodeControl.publishNode({
        executionId: prepared.executionId,
        outputs: result.outputs,
        worker: result.worker,
        attempt: result.attempt,
        summary: result.summary,
        ...(prepared.keyBase ? { keyBase: prepared.keyBase } : {}),
        ...(prepared.componentVersion ? { keyVersion: prepared.componentVersion } : {}),
        ...(result.componentVersion ? { componentVersion: result.componentVersion } : {}),
        ...(result.block ? { blocked: result.block.reason } : {}),
      });
      blockedBecause = result.block?.reason;
    } catch (err) {
      return abandon(node, nodeStatus, err, prepared.executionId, nodeControl);
    }
    if (blockedBecause && gates) block(nodeStatus, blockedBecause, published);
    finish(nodeStatus, 'succeeded', published);
    publishDetails();
    return published;
  };

  /** A node that failed or was cancelled after its execution was prepared: the metadata store says so too. */
  const abandon = async (node: NodeSpec, nodeStatus: NodeStatus, err: unknown, executionId: number, nodeControl: ControlActivities): Promise<never> => {
    recordFailure(nodeStatus, err, node.retry.maximumAttempts);
    nodeStatus.finishedAt = Date.now();
    nodeStatus.durationMs = nodeStatus.finishedAt - (nodeStatus.startedAt ?? nodeStatus.finishedAt);
    publishDetails();
    // Recording the outcome must happen even while the run is being cancelled.
    await CancellationScope.nonCancellable(() =>
      nodeControl.abandonNode({ executionId, state: nodeStatus.state as 'failed' | 'cancelled', error: nodeStatus.error! }),
    );
    throw err;
  };

  /**
   * Waits for a person's decision on a node about to run. Approved, it returns and the node runs;
   * rejected or timed out, the node ends blocked without running, and what follows is skipped.
   */
  const awaitApproval = async (node: NodeSpec, timeoutMs: number, nodeStatus: NodeStatus, executionId: number, nodeControl: ControlActivities): Promise<void> => {
    const approval: NodeApproval = { requestedAt: Date.now(), timeoutMs };
    nodeStatus.state = 'awaiting-approval';
    nodeStatus.approval = approval;
    publishDetails();
    const record = () => nodeControl.recordApproval({ pipeline: spec.name, runId: info.runId, nodeId: node.id, approval });
    let decided: boolean;
    try {
      await record();
      decided = await condition(() => decisions.has(node.id), timeoutMs);
    } catch (err) {
      return abandon(node, nodeStatus, err, executionId, nodeControl);
    }
    if (decided) approval.decision = decisions.get(node.id)!;
    else approval.timedOutAt = Date.now();
    if (approval.decision?.approved) {
      nodeStatus.state = 'running';
      // The node's duration is its run's, not the wait's (the approval keeps when it was asked and decided).
      nodeStatus.startedAt = Date.now();
      publishDetails();
      await CancellationScope.nonCancellable(record);
      return;
    }
    const reason = approval.decision
      ? `rejected by ${approval.decision.by}: ${approval.decision.reason}`
      : `approval timed out after ${formatDuration(timeoutMs)}`;
    await CancellationScope.nonCancellable(async () => {
      await nodeControl.abandonNode({ executionId, state: 'cancelled', error: reason });
      await record();
    });
    block(nodeStatus, reason, {});
  };

  /** Ends a gate node: its outputs stand, it says why, and what depends on it is skipped. */
  const block = (nodeStatus: NodeStatus, reason: string, outputs: NodeOutputs): never => {
    finish(nodeStatus, 'blocked', outputs);
    nodeStatus.error = reason;
    publishDetails();
    throw new NodeBlocked(reason);
  };

  for (const node of spec.nodes) results.set(node.id, runNode(node));
  const settled = await Promise.allSettled([...results.values()]);

  const recordRunState = (state: 'succeeded' | 'failed' | 'cancelled') =>
    CancellationScope.nonCancellable(() => control.finishRun({ runId: info.runId, pipeline: spec.name, state }));

  const cancelledErr = settled.find((r) => r.status === 'rejected' && isCancellation(r.reason));
  if (cancelledErr) {
    status.state = 'cancelled';
    publishDetails();
    await recordRunState('cancelled');
    throw (cancelledErr as PromiseRejectedResult).reason;
  }
  const stopped = spec.nodes.filter((n) => ['failed', 'blocked'].includes(status.nodes[n.id]!.state));
  if (stopped.length > 0) {
    status.state = 'failed';
    publishDetails();
    await recordRunState('failed');
    const causes = stopped.map((n) => `node '${n.id}' ${status.nodes[n.id]!.state}: ${status.nodes[n.id]!.error}`).join('; ');
    throw ApplicationFailure.nonRetryable(`pipeline '${spec.name}' failed: ${causes}`, 'PipelineFailed', status);
  }
  status.state = 'succeeded';
  publishDetails();
  await recordRunState('succeeded');
  return status;
}

function finish(nodeStatus: NodeStatus, state: 'cached' | 'succeeded' | 'blocked', outputs: NodeOutputs): void {
  nodeStatus.state = state;
  nodeStatus.finishedAt = Date.now();
  nodeStatus.durationMs = nodeStatus.finishedAt - (nodeStatus.startedAt ?? nodeStatus.finishedAt);
  nodeStatus.progress = state === 'cached' ? undefined : { fraction: 1 };
  nodeStatus.outputs = Object.fromEntries(Object.entries(outputs).map(([k, refs]) => [k, refs.map((r) => r.uri)]));
}

/**
 * A node's failure as its status shows it: the innermost message of the failure chain (what the
 * executor or control step actually said) and what kind of failure it was, so a client can say what
 * to do about it.
 */
function recordFailure(nodeStatus: NodeStatus, err: unknown, maximumAttempts: number): void {
  if (isCancellation(err)) {
    nodeStatus.state = 'cancelled';
    nodeStatus.error = 'cancelled';
    return;
  }
  let innermost: unknown = err;
  while (innermost instanceof Error && innermost.cause instanceof Error) innermost = innermost.cause;
  nodeStatus.state = 'failed';
  nodeStatus.error = innermost instanceof Error ? innermost.message : String(innermost);
  const retryState = err instanceof ActivityFailure ? err.retryState : undefined;
  const type = innermost instanceof ApplicationFailure ? innermost.type : undefined;
  if (type === 'UserInputError') nodeStatus.failureKind = 'bad-input';
  else if (type === 'ComponentError') nodeStatus.failureKind = 'component-error';
  else if (innermost instanceof TimeoutFailure || retryState === 'TIMEOUT') nodeStatus.failureKind = 'timed-out';
  // Only the executor's attempts are the node's: a control step that gives up has its own policy.
  else if (retryState === 'MAXIMUM_ATTEMPTS_REACHED' && err instanceof ActivityFailure && err.activityType === 'executeComponent') {
    nodeStatus.failureKind = 'gave-up';
    nodeStatus.attempt = maximumAttempts;
  }
}

const isoTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/** Markdown shown in the Temporal UI's "current details" panel. */
function renderDetails(status: PipelineStatus, workflowId: string): string {
  const rows = Object.entries(status.nodes).map(([id, n]) => {
    const pct = n.progress?.fraction !== undefined && n.state === 'running' ? ` ${Math.round(n.progress.fraction * 100)}%` : '';
    const took = n.durationMs !== undefined ? `${n.durationMs} ms` : '';
    return `| ${id} | ${n.state}${pct} | ${n.attempt || ''} | ${took} | ${(n.error ?? n.progress?.message ?? '').replace(/\|/g, '/')} |`;
  });
  const waiting = Object.entries(status.nodes).flatMap(([id, n]) =>
    n.state === 'awaiting-approval' && n.approval
      ? [
          `- **${id} waits for approval** (rejected at ${isoTime(n.approval.requestedAt + n.approval.timeoutMs)} without a decision). ` +
            `Approve: \`mlpipe approve ${workflowId} --node ${id} --by <name> --reason "<why>"\`; reject: the same with \`--reject\`.`,
        ]
      : [],
  );
  const decided = Object.entries(status.nodes).flatMap(([id, n]) => {
    const d = n.approval?.decision;
    if (d) return [`- ${id}: ${d.approved ? 'approved' : 'rejected'} by ${d.by} at ${isoTime(d.at)}: ${d.reason}`];
    return n.approval?.timedOutAt ? [`- ${id}: no decision within ${formatDuration(n.approval.timeoutMs)}: rejected at ${isoTime(n.approval.timedOutAt)}`] : [];
  });
  return [
    `**${status.pipeline}**: ${status.state}`,
    '',
    '| node | state | attempt | duration | note |',
    '|---|---|---|---|---|',
    ...rows,
    ...(waiting.length > 0 ? ['', ...waiting] : []),
    ...(decided.length > 0 ? ['', '**Approvals**', ...decided] : []),
  ].join('\n');
}
