import { constants as fsConstants } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure, Context, type Info as ActivityInfo } from '@temporalio/activity';
import type { ArtifactRef } from '../artifacts/artifact-types';
import type { ArtifactStore, StagingArea } from '../artifacts/store';
import {
  ExecuteComponentInputSchema,
  type ExecuteComponentInput,
  type ExecuteComponentResult,
  type NodeProgressSignal,
} from '../workflows/pipeline-types';
import type { ComponentRegistry } from './component-registry';
import { ExecutorResultSchema, ProgressSchema, type ExecutorInput, type ModelRegistryAccess, type Progress } from '../dsl/executor';
import { assertUnchanged } from '../artifacts/input-files';
import { NOTHING_RESOLVED } from '../dsl/resolve';
import { describeIssues } from '../dsl/zod-issues';
import type { ExecutorThreadPool } from './run-in-thread';
import type { ExecutorProcessRunner } from './run-in-process';
import { ExecutorRunError, type ExecutorHooks } from './executor-runner';
import type { ExecutorRunData } from './executor-runtime';
import { NodeCheckpoints } from './node-checkpoints';
import { NO_S3_SOURCES, s3SourcesFor, type S3Sources } from '../artifacts/s3-sources';
import { checkpointsKey } from './run-layout';

export interface ExecutorDeps {
  store: ArtifactStore;
  registry: ComponentRegistry;
  threads: ExecutorThreadPool;
  processes: ExecutorProcessRunner;
  /** Recorded in the metadata store as the worker that ran the node. */
  identity: string;
  /** Handed to executors that read s3:// inputs themselves. */
  s3Sources?: S3Sources;
  /** Handed only to executors of components that write the model registry (the Pusher). */
  modelRegistry?: ModelRegistryAccess;
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

/** Log lines of an executor process quoted in its failure: enough for a stack trace, small enough for the UI. */
const LOG_TAIL_LINES = 30;
export const EXECUTOR_LOG_NAME = 'executor.log';

/** What the Temporal UI shows of a running node. The checkpoint only mirrors the store, which is what a retry reads. */
interface HeartbeatDetails {
  progress?: Progress;
  checkpoint?: { number: number; state: unknown };
}

/** The run's id names its store prefix; an executor activity is always started by a pipeline run. */
function runIdOf(info: ActivityInfo): string {
  const runId = info.workflowExecution?.runId;
  if (!runId) throw ApplicationFailure.nonRetryable('executeComponent runs only as an activity of a pipeline run', 'ComponentError');
  return runId;
}

async function logTail(file: string): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
}

/** Executor activities (queues mlpipe-cpu and mlpipe-gpu): run a component's executor and commit its outputs. */
export function createExecutorActivities({ store, registry, threads, processes, identity, notifyProgress, s3Sources = NO_S3_SOURCES, modelRegistry }: ExecutorDeps) {
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

      const details: HeartbeatDetails = { progress: { message: 'preparing inputs' } };
      // No heartbeat right away: each one is a server write, and nodes shorter than the interval
      // need none (the heartbeat timeout is many intervals long).
      let heartbeatTimer: NodeJS.Timeout | undefined;
      // Starting the clock now means nodes shorter than the interval send no signal at all: each
      // signal costs the workflow a task, which would dominate the overhead of short nodes.
      const activityStarted = Date.now();
      let lastSignal = activityStarted;
      /**
       * `phase`: a change of what the node does (resuming, committing) is shown at once, except in a
       * node's first interval, where it would cost every short node a signal.
       */
      const signalProgress = (phase = false) => {
        const now = Date.now();
        const every = now - activityStarted < PROGRESS_SIGNAL_FAST_FOR_MS ? PROGRESS_SIGNAL_EVERY_MS : PROGRESS_SIGNAL_LATER_EVERY_MS;
        const tooSoon = phase ? now - activityStarted < PROGRESS_SIGNAL_EVERY_MS : now - lastSignal < every;
        if (!notifyProgress || tooSoon) return;
        lastSignal = now;
        notifyProgress(input.workflowId, { nodeId: input.nodeId, attempt, progress: details.progress ?? {} }).catch(() => undefined);
      };

      const stagings: Record<string, StagingArea> = {};
      // Checkpoints still being saved: an executor need not await them, but the attempt does, before
      // it commits outputs (which clears checkpoints) and before its files go.
      let saving: Promise<unknown> = Promise.resolve();
      const runProcess = spec.executor.runIn === 'process';
      let workDir: string | undefined;
      try {
        heartbeatTimer = setInterval(() => ctx.heartbeat(details), HEARTBEAT_EVERY_MS);
        workDir = await mkdtemp(path.join(os.tmpdir(), 'mlpipe-exec-'));
        const tmpDir = path.join(workDir, 'tmp');
        const checkpointDir = path.join(workDir, 'checkpoint');
        const logFile = path.join(workDir, EXECUTOR_LOG_NAME);
        await Promise.all([mkdir(tmpDir), mkdir(checkpointDir)]);
        const checkpoints = new NodeCheckpoints(store, checkpointsKey(input.pipeline, runIdOf(ctx.info), input.nodeId), attempt);
        // A first attempt has nothing to resume (the prefix is its run's own), so it spares the store a listing.
        const restored = attempt > 1 ? await checkpoints.restore(checkpointDir) : null;
        if (restored) {
          details.checkpoint = { number: restored.number, state: restored.state };
          details.progress = { message: `resuming from checkpoint ${restored.number}` };
          signalProgress(true);
        }
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

        const runData: ExecutorRunData = {
          executorModule: spec.executor.module,
          executorExport: spec.executor.export ?? 'executor',
          nodeId: input.nodeId,
          run: { pipeline: input.pipeline, workflowId: input.workflowId, runId: runIdOf(ctx.info) },
          resolved: input.resolved ?? NOTHING_RESOLVED,
          s3Sources: s3SourcesFor(s3Sources, Object.values(input.resolved?.files ?? {})),
          ...(spec.writesModelRegistry && modelRegistry ? { modelRegistry } : {}),
          parameters: params.data,
          inputs,
          outputDirs: Object.fromEntries(Object.entries(stagings).map(([k, s]) => [k, s.localDir])),
          tmpDir,
          checkpointDir,
          resumeState: restored?.state,
        };
        const hooks: ExecutorHooks = {
          onProgress: (progress) => {
            // Executors are user code: a malformed report is dropped, not shown.
            const parsed = ProgressSchema.safeParse(progress);
            if (!parsed.success) return;
            details.progress = parsed.data;
            signalProgress();
          },
          // One checkpoint at a time, in the order asked: each copies checkpointDir as it is then.
          onCheckpoint: (state) => {
            const saved = saving.then(async () => {
              const number = await checkpoints.save(checkpointDir, state);
              details.checkpoint = { number, state };
              ctx.heartbeat(details);
            });
            saving = saved.catch(() => undefined);
            return saved;
          },
          signal: ctx.cancellationSignal,
        };
        let outcome;
        try {
          outcome = runProcess ? await processes.run(runData, hooks, { logFile }) : await threads.run(runData, hooks);
        } catch (err) {
          if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
          const e = err as Error;
          // The executor's own stack (from its thread or process) goes with the failure: the user
          // reads the message, the failure's details in the Temporal UI hold where it came from.
          const stack = err instanceof ExecutorRunError ? err.executorStack : e.stack;
          const tail = runProcess ? await logTail(logFile) : '';
          const failure = (message: string, type: string, nonRetryable: boolean) =>
            ApplicationFailure.create({
              message: tail && e.name === 'ExecutorProcessExited' ? `${message}; the end of its log:\n${tail}` : message,
              type,
              nonRetryable,
              details: [{ ...(stack ? { stack } : {}), ...(tail ? { log: tail } : {}) }],
            });
          if (e.name === 'UserInputError' || e.name === 'ComponentError') throw failure(e.message, e.name, true);
          if (e.name === 'DataCloneError') throw failure(`${spec.type} parameters or inputs cannot be passed to its executor: ${e.message}`, 'ComponentError', true);
          throw failure(`${spec.type} executor failed: ${e.message}`, e.name, false);
        }
        const parsedResult = ExecutorResultSchema.safeParse(outcome.result);
        if (!parsedResult.success) {
          throw ApplicationFailure.nonRetryable(`${spec.type} executor returned ${describeIssues(parsedResult.error, '(result)')}`, 'ComponentError');
        }
        const result = parsedResult.data;
        const { executorMs } = outcome;

        await saving;
        details.progress = { ...details.progress, message: 'committing outputs' };
        signalProgress(true);
        if (spec.executor.logTo) {
          await copyFile(logFile, path.join(stagings[spec.executor.logTo]!.localDir, EXECUTOR_LOG_NAME), fsConstants.COPYFILE_EXCL).catch((err: Error) => {
            throw ApplicationFailure.nonRetryable(
              `${spec.type} wrote ${EXECUTOR_LOG_NAME} into its output '${spec.executor.logTo}', where its executor log goes (executor.logTo): ${err.message}`,
              'ComponentError',
            );
          });
        }
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
        // Best effort: leftovers only cost space under the run's prefix, and the outputs are safe.
        await checkpoints.clear().catch(() => undefined);
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
        await saving;
        await Promise.all(Object.values(stagings).map((s) => store.abort(s).catch(() => undefined)));
        if (workDir) await rm(workDir, { recursive: true, force: true });
      }
    },
  };
}

export type ExecutorActivities = ReturnType<typeof createExecutorActivities>;
