import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ArtifactRef } from '../artifacts/artifact-types';
import type { ArtifactStore, StagingArea } from '../artifacts/store';
import {
  ExecuteComponentInputSchema,
  type ExecuteComponentInput,
  type ExecuteComponentResult,
  type NodeProgressSignal,
} from '../workflows/pipeline-types';
import type { ComponentRegistry } from './component-registry';
import { ExecutorResultSchema, ProgressSchema, type ExecutorInput, type Progress } from '../dsl/executor';
import { assertUnchanged } from '../artifacts/input-files';
import { NOTHING_RESOLVED } from '../dsl/resolve';
import { describeIssues } from '../dsl/zod-issues';
import { ExecutorThreadError, type ExecutorThreadPool } from './run-in-thread';

export interface ExecutorDeps {
  store: ArtifactStore;
  registry: ComponentRegistry;
  threads: ExecutorThreadPool;
  /** Recorded in the metadata store as the worker that ran the node. */
  identity: string;
  /** Delivers progress to the workflow's status query (a signal); failures are ignored. */
  notifyProgress?: (workflowId: string, signal: NodeProgressSignal) => Promise<void>;
}

/** Heartbeat cadence: cancellation reaches an activity only through heartbeat responses. */
const HEARTBEAT_EVERY_MS = 1000;
/**
 * Progress signals cost a workflow task and a history event each. One a second reads as live in the
 * first minute; after that one every 15 s keeps a multi-hour training node to a few hundred events,
 * far from Temporal's 51,200-event history limit.
 */
const PROGRESS_SIGNAL_EVERY_MS = 1000;
const PROGRESS_SIGNAL_LATER_EVERY_MS = 15_000;
const PROGRESS_SIGNAL_FAST_FOR_MS = 60_000;

interface HeartbeatDetails {
  progress?: Progress;
  checkpoint?: unknown;
}

/** Executor activities (queues mlpipe-cpu and mlpipe-gpu): run a component's executor and commit its outputs. */
export function createExecutorActivities({ store, registry, threads, identity, notifyProgress }: ExecutorDeps) {
  return {
    async executeComponent(raw: ExecuteComponentInput): Promise<ExecuteComponentResult> {
      const input = ExecuteComponentInputSchema.parse(raw);
      const ctx = Context.current();
      const attempt = ctx.info.attempt;
      let spec;
      try {
        spec = registry.require(input.component);
      } catch (err) {
        // Retryable: during a rolling deploy another worker on this queue may know the component.
        throw ApplicationFailure.retryable((err as Error).message, 'UnknownComponent');
      }
      const params = spec.parameters.safeParse(input.parameters);
      if (!params.success) throw ApplicationFailure.nonRetryable(`parameters: ${describeIssues(params.error, '(parameters)')}`, 'UserInputError');
      if (spec.resolve && !input.resolved) {
        throw ApplicationFailure.nonRetryable(
          `${spec.type} was scheduled by a run started before this worker's build, which resolves its inputs first: run the pipeline again`,
          'StalePreparation',
        );
      }

      const previous = (ctx.info.heartbeatDetails ?? {}) as HeartbeatDetails;
      const details: HeartbeatDetails = { checkpoint: previous.checkpoint, progress: { message: 'preparing inputs' } };
      // No heartbeat right away: each one is a server write, and nodes shorter than the interval
      // need none (the heartbeat timeout is many intervals long).
      let heartbeatTimer: NodeJS.Timeout | undefined;
      // Starting the clock now means nodes shorter than the interval send no signal at all: each
      // signal costs the workflow a task, which would dominate the overhead of short nodes.
      const activityStarted = Date.now();
      let lastSignal = activityStarted;
      const signalProgress = () => {
        const now = Date.now();
        const every = now - activityStarted < PROGRESS_SIGNAL_FAST_FOR_MS ? PROGRESS_SIGNAL_EVERY_MS : PROGRESS_SIGNAL_LATER_EVERY_MS;
        if (!notifyProgress || now - lastSignal < every) return;
        lastSignal = now;
        notifyProgress(input.workflowId, { nodeId: input.nodeId, attempt, progress: details.progress ?? {} }).catch(() => undefined);
      };

      const stagings: Record<string, StagingArea> = {};
      let tmpDir: string | undefined;
      try {
        heartbeatTimer = setInterval(() => ctx.heartbeat(details), HEARTBEAT_EVERY_MS);
        tmpDir = await mkdtemp(path.join(os.tmpdir(), 'mlpipe-exec-'));
        for (const set of Object.values(input.resolved?.files ?? {})) {
          await assertUnchanged(set).catch((err: Error) => {
            throw ApplicationFailure.nonRetryable(err.message, 'InputChanged');
          });
        }
        // Every declared input is there, empty when an optional one is not wired.
        const inputs: Record<string, ExecutorInput[]> = {};
        for (const key of Object.keys(spec.inputs)) {
          inputs[key] = await Promise.all((input.inputs[key] ?? []).map(async (ref) => ({ ref, localDir: await store.materialize(ref.uri) })));
        }
        for (const key of Object.keys(input.outputUris)) stagings[key] = await store.createStaging();

        let outcome;
        try {
          outcome = await threads.run(
            {
              executorModule: spec.executor.module,
              executorExport: spec.executor.export ?? 'executor',
              nodeId: input.nodeId,
              resolved: input.resolved ?? NOTHING_RESOLVED,
              parameters: params.data,
              inputs,
              outputDirs: Object.fromEntries(Object.entries(stagings).map(([k, s]) => [k, s.localDir])),
              tmpDir,
              resumeState: previous.checkpoint,
            },
            {
              onProgress: (progress) => {
                // Executors are user code: a malformed report is dropped, not shown.
                const parsed = ProgressSchema.safeParse(progress);
                if (!parsed.success) return;
                details.progress = parsed.data;
                signalProgress();
              },
              onCheckpoint: (state) => {
                details.checkpoint = state;
                ctx.heartbeat(details);
              },
              signal: ctx.cancellationSignal,
            },
          );
        } catch (err) {
          if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
          const e = err as Error;
          // The executor's own stack (from its thread) goes with the failure: the user reads the
          // message, the failure's details in the Temporal UI hold where it came from.
          const stack = err instanceof ExecutorThreadError ? err.threadStack : e.stack;
          const failure = (message: string, type: string, nonRetryable: boolean) =>
            ApplicationFailure.create({ message, type, nonRetryable, details: stack ? [{ stack }] : [] });
          if (e.name === 'UserInputError' || e.name === 'ComponentError') throw failure(e.message, e.name, true);
          if (e.name === 'DataCloneError') throw failure(`${spec.type} parameters cannot be passed to its executor thread: ${e.message}`, 'ComponentError', true);
          throw failure(`${spec.type} executor failed: ${e.message}`, e.name, false);
        }
        const parsedResult = ExecutorResultSchema.safeParse(outcome.result);
        if (!parsedResult.success) {
          throw ApplicationFailure.nonRetryable(`${spec.type} executor returned ${describeIssues(parsedResult.error, '(result)')}`, 'ComponentError');
        }
        const result = parsedResult.data;
        const { executorMs } = outcome;

        details.progress = { ...details.progress, message: 'committing outputs' };
        const outputs: Record<string, ArtifactRef[]> = {};
        for (const [key, staging] of Object.entries(stagings)) {
          const manifest = await store.commit(staging, input.outputUris[key]!);
          delete stagings[key];
          outputs[key] = [
            {
              type: spec.outputs[key]!,
              uri: manifest.uri,
              contentHash: manifest.contentHash,
              properties: result.properties?.[key] ?? {},
            },
          ];
        }
        details.progress = { fraction: 1, message: 'done' };
        return {
          outputs,
          worker: identity,
          attempt,
          executorMs,
          summary: result.summary,
          componentVersion: spec.version,
          ...(result.block ? { block: result.block } : {}),
        };
      } finally {
        clearInterval(heartbeatTimer);
        await Promise.all(Object.values(stagings).map((s) => store.abort(s).catch(() => undefined)));
        if (tmpDir) await rm(tmpDir, { recursive: true, force: true });
      }
    },
  };
}

export type ExecutorActivities = ReturnType<typeof createExecutorActivities>;
