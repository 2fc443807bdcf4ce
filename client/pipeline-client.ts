import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure, Client, Connection, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';
import { TASK_QUEUES, type MlpipeConfig } from '../config/config';
import type { PipelineSpec } from '../dsl/ir';
import { PIPELINE_SEARCH_ATTRIBUTE } from '../stack/temporal-dev-server';
import { reachTemporal } from './temporal-connection';
import {
  APPROVE_SIGNAL,
  ApproveSignalSchema,
  PIPELINE_WORKFLOW_TYPE,
  PipelineStatusSchema,
  STATUS_QUERY,
  type ApproveSignal,
  type PipelineStatus,
  type RunOptions,
  type RunPipelineInput,
} from '../workflows/pipeline-types';

export const pipelineSearchAttribute = defineSearchAttributeKey(PIPELINE_SEARCH_ATTRIBUTE, SearchAttributeType.KEYWORD);

export interface ConnectedClient {
  client: Client;
  close(): Promise<void>;
}

export async function connectClient(config: MlpipeConfig): Promise<ConnectedClient> {
  if (!config.temporalAddress) throw new Error('no Temporal address configured (MLPIPE_TEMPORAL_ADDRESS)');
  const address = config.temporalAddress;
  const connection = await reachTemporal(address, () => Connection.connect({ address }));
  return {
    client: new Client({ connection, namespace: config.temporalNamespace }),
    close: () => connection.close(),
  };
}

/** The workflow start options of a pipeline run; schedules reuse them so both look alike in the UI. */
export function pipelineStartOptions(spec: PipelineSpec, options: Partial<RunOptions> = {}) {
  const args: [RunPipelineInput] = [{ spec, options: { noCache: options.noCache ?? false } }];
  return {
    taskQueue: TASK_QUEUES.control,
    args,
    typedSearchAttributes: [{ key: pipelineSearchAttribute, value: spec.name }],
    staticSummary: `mlpipe pipeline **${spec.name}** (${spec.nodes.length} nodes)`,
    staticDetails: spec.nodes.map((n) => `- \`${n.id}\`: ${n.component} on ${n.resource}`).join('\n'),
  };
}

export async function startPipeline(
  client: Client,
  spec: PipelineSpec,
  options: Partial<RunOptions> = {},
): Promise<WorkflowHandle> {
  return client.workflow.start(PIPELINE_WORKFLOW_TYPE, {
    ...pipelineStartOptions(spec, options),
    workflowId: `${spec.name}-${randomUUID().slice(0, 8)}`,
  });
}

export async function queryStatus(handle: WorkflowHandle): Promise<PipelineStatus> {
  return PipelineStatusSchema.parse(await handle.query(STATUS_QUERY));
}

/**
 * A run's status now: from the status query while it runs; from its history once it has closed (its
 * result, or the status its PipelineFailed failure carries). A closed run is never queried: a run's own
 * embedded stack stops its workers as soon as the run ends, and a query nobody answers waits out its
 * RPC deadline. Null while a running run's query cannot be answered yet.
 */
export async function currentStatus(handle: WorkflowHandle): Promise<PipelineStatus | null> {
  if ((await handle.describe()).status.name === 'RUNNING') return queryStatus(handle).catch(() => null);
  try {
    return PipelineStatusSchema.parse(await handle.result());
  } catch (err) {
    const details = err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure ? err.cause.details?.[0] : undefined;
    const parsed = PipelineStatusSchema.safeParse(details);
    if (parsed.success) return parsed.data;
    throw err;
  }
}

/** The nodes of a run that wait for a decision now, in the pipeline's order. */
export function nodesAwaitingApproval(status: PipelineStatus): string[] {
  return Object.entries(status.nodes).filter(([, n]) => n.state === 'awaiting-approval').map(([id]) => id);
}

/** Delivers a decision to a waiting node (the run takes it only while that node waits). */
export async function sendApproval(handle: WorkflowHandle, decision: ApproveSignal): Promise<void> {
  await handle.signal(APPROVE_SIGNAL, ApproveSignalSchema.parse(decision));
}

/** A node's executor being retried, as Temporal reports its pending activity. */
export interface NodeRetry {
  /** The attempt running now, or the next one while it waits for its backoff. */
  attempt: number;
  maximumAttempts: number;
  /** What the previous attempt failed with. */
  lastError: string;
  /** While waiting between attempts: when the next one starts. */
  nextAttemptAt?: Date;
}

/**
 * Nodes whose executor is on its second attempt or later, by node id. The executor activity's id is
 * the node id (runs started before that have numeric ids and are not matched).
 */
export async function nodeRetries(handle: WorkflowHandle, nodeIds: ReadonlySet<string>): Promise<Map<string, NodeRetry>> {
  const { raw } = await handle.describe();
  const retries = new Map<string, NodeRetry>();
  for (const a of raw.pendingActivities ?? []) {
    if (!a.activityId || !nodeIds.has(a.activityId) || (a.attempt ?? 1) < 2) continue;
    const next = a.nextAttemptScheduleTime?.seconds;
    retries.set(a.activityId, {
      attempt: a.attempt!,
      maximumAttempts: a.maximumAttempts ?? 0,
      lastError: innermostFailureMessage(a.lastFailure) ?? 'no reason recorded',
      ...(next ? { nextAttemptAt: new Date(Number(next) * 1000 + Math.round((a.nextAttemptScheduleTime!.nanos ?? 0) / 1e6)) } : {}),
    });
  }
  return retries;
}

type FailureProto = { message?: string | null; cause?: FailureProto | null } | null | undefined;

function innermostFailureMessage(failure: FailureProto): string | undefined {
  let cur = failure;
  while (cur?.cause) cur = cur.cause;
  return cur?.message ?? undefined;
}

export interface RunProgress {
  status: PipelineStatus;
  retries: Map<string, NodeRetry>;
}

/**
 * Waits for a run to end, calling `onProgress` as it goes (node states, and the retries Temporal is
 * making), and returns its final status. A failed run returns the status recorded in its failure
 * (per-node states) rather than throwing.
 */
export async function waitForRun(
  handle: WorkflowHandle,
  onProgress?: (progress: RunProgress) => void,
  pollMs = 250,
): Promise<{ status: PipelineStatus; runId: string; error?: string }> {
  const stopPolling = new AbortController();
  const poller = (async () => {
    while (!stopPolling.signal.aborted && onProgress) {
      try {
        const status = await queryStatus(handle);
        const running = new Set(Object.entries(status.nodes).filter(([, n]) => n.state === 'running').map(([id]) => id));
        onProgress({ status, retries: running.size > 0 ? await nodeRetries(handle, running) : new Map() });
      } catch {
        // The first workflow task may not have run yet, or the run just closed; try again.
      }
      // Ends early when the run ends: the caller should not wait out a poll interval for nothing.
      await sleep(pollMs, undefined, { signal: stopPolling.signal }).catch(() => undefined);
    }
  })();
  try {
    const result = PipelineStatusSchema.parse(await handle.result());
    const { runId } = await handle.describe();
    return { status: result, runId };
  } catch (err) {
    const description = await handle.describe();
    let status: PipelineStatus;
    try {
      status = await queryStatus(handle);
    } catch {
      status = { pipeline: '', state: 'failed', nodes: {} };
    }
    if (description.status.name === 'CANCELLED') status.state = 'cancelled';
    else if (status.state === 'running') status.state = 'failed';
    const error = err instanceof WorkflowFailedError ? innermostMessage(err) : (err as Error).message;
    return { status, runId: description.runId, error };
  } finally {
    stopPolling.abort();
    await poller;
  }
}

function innermostMessage(err: Error): string {
  let cur: Error = err;
  while ((cur as { cause?: unknown }).cause instanceof Error) cur = (cur as { cause: Error }).cause;
  return cur.message;
}
