import os from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { builtinRegistry } from '../activities/builtin-components';
import type { ComponentRegistry } from '../activities/component-registry';
import { createControlActivities } from '../activities/control';
import { createExecutorActivities } from '../activities/execute-component';
import { ExecutorThreadPool } from '../activities/run-in-thread';
import { ExecutorProcessRunner } from '../activities/run-in-process';
import { openArtifactStore } from '../artifacts/open-store';
import { s3SourcesOf } from '../artifacts/s3-sources';
import type { ArtifactStore } from '../artifacts/store';
import { openMetadataStore, type MetadataStore } from '../artifacts/metadata/metadata-store';
import { reachTemporal } from '../client/temporal-connection';
import { TASK_QUEUES, type QueueName, type ResolvedConfig } from '../config/config';
import { NODE_PROGRESS_SIGNAL } from '../workflows/pipeline-types';
import { workflowCodeOption } from './workflow-bundle';

export interface StartWorkersOptions {
  config: ResolvedConfig;
  queues: QueueName[];
  /** Concurrent activities per queue (executor queues default to 1: an executor uses the whole machine). */
  concurrency?: Partial<Record<QueueName, number>>;
  identity?: string;
  /** Modules exporting custom components (made with defineComponent). */
  componentModules?: string[];
  registry?: ComponentRegistry;
  /** Opened beforehand with openWorkerResources (e.g. while Temporal starts); closed with the workers. */
  resources?: WorkerResources;
}

export interface RunningWorkers {
  identity: string;
  queues: QueueName[];
  /** Resolves when every worker has stopped. */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

const DEFAULT_CONCURRENCY: Record<QueueName, number> = { control: 50, cpu: 1, gpu: 1 };

function concurrencyOf(config: ResolvedConfig, overrides: Partial<Record<QueueName, number>> = {}): Record<QueueName, number> {
  return { ...DEFAULT_CONCURRENCY, ...config.worker.concurrency, ...overrides };
}

/** What a process's workers use besides Temporal: the stores and the executor threads. */
export interface WorkerResources {
  store: ArtifactStore;
  /** Opened only for the control queue, whose fleet alone writes the metadata store. */
  metadata: MetadataStore | null;
  /** Started only for executor queues, as are the executor processes. */
  threads: ExecutorThreadPool | null;
  processes: ExecutorProcessRunner | null;
  close(): Promise<void>;
}

/**
 * Opens the stores and starts the executor threads for the given queues. It needs no Temporal
 * server, so a process that starts one (the embedded stack) does this while the server boots.
 */
export async function openWorkerResources(config: ResolvedConfig, queues: QueueName[], concurrency?: Partial<Record<QueueName, number>>): Promise<WorkerResources> {
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const c of closers) await c().catch(() => undefined);
    closers.length = 0;
  };
  try {
    const store = await openArtifactStore(config.artifactRoot, config.s3, { cacheDir: `${config.home}/cache` });
    closers.unshift(() => store.close());
    let metadata: MetadataStore | null = null;
    if (queues.includes('control')) {
      const opened = await openMetadataStore(config.metadataUrl);
      metadata = opened;
      closers.unshift(() => opened.close());
    }
    let threads: ExecutorThreadPool | null = null;
    let processes: ExecutorProcessRunner | null = null;
    const executorQueues = queues.filter((q) => q !== 'control');
    if (executorQueues.length > 0) {
      const pool = new ExecutorThreadPool();
      const counts = concurrencyOf(config, concurrency);
      pool.warm(executorQueues.reduce((n, q) => n + counts[q], 0));
      threads = pool;
      closers.unshift(() => pool.close());
      const runner = new ExecutorProcessRunner();
      processes = runner;
      closers.unshift(() => runner.close());
    }
    return { store, metadata, threads, processes, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * Starts one Temporal worker per requested queue in this process, sharing one connection: the
 * control queue runs the pipeline workflow and control activities; cpu/gpu run executors.
 */
export async function startWorkers(opts: StartWorkersOptions): Promise<RunningWorkers> {
  const { config } = opts;
  if (!config.temporalAddress) throw new Error('no Temporal address configured (MLPIPE_TEMPORAL_ADDRESS)');
  const identity = opts.identity ?? config.worker.identity ?? `${opts.queues.join('+')}@${os.hostname()}:${process.pid}`;
  const registry = opts.registry ?? builtinRegistry();
  for (const mod of opts.componentModules ?? []) registry.registerModule(mod);
  const concurrency = concurrencyOf(config, opts.concurrency);

  const address = config.temporalAddress;
  const closers: Array<() => Promise<void>> = [];
  const workers: Worker[] = [];
  try {
    const resources = opts.resources ?? (await openWorkerResources(config, opts.queues, opts.concurrency));
    closers.push(() => resources.close());
    const connection = await reachTemporal(address, () => NativeConnection.connect({ address }));
    closers.unshift(() => connection.close());
    if (opts.queues.includes('control')) {
      if (!resources.metadata) throw new Error('worker resources were opened without the control queue');
      workers.push(
        await Worker.create({
          connection,
          namespace: config.temporalNamespace,
          taskQueue: TASK_QUEUES.control,
          identity,
          ...workflowCodeOption(),
          activities: createControlActivities({ store: resources.store, metadata: resources.metadata, registry, s3Sources: s3SourcesOf(config) }),
          // Control steps run as local activities of this worker (see workflows/pipeline.ts).
          maxConcurrentLocalActivityExecutions: concurrency.control,
        }),
      );
    }
    const executorQueues = opts.queues.filter((q): q is 'cpu' | 'gpu' => q !== 'control');
    if (executorQueues.length > 0) {
      const { threads, processes } = resources;
      if (!threads || !processes) throw new Error('worker resources were opened without an executor queue');
      const clientConnection = await Connection.connect({ address: config.temporalAddress });
      closers.unshift(() => clientConnection.close());
      const client = new Client({ connection: clientConnection, namespace: config.temporalNamespace });
      const activities = createExecutorActivities({
        store: resources.store,
        registry,
        threads,
        processes,
        identity,
        s3Sources: s3SourcesOf(config),
        modelRegistry: { metadataUrl: config.metadataUrl, s3Sources: s3SourcesOf(config) },
        notifyProgress: (workflowId, signal) => client.workflow.getHandle(workflowId).signal(NODE_PROGRESS_SIGNAL, signal),
      });
      for (const queue of executorQueues) {
        workers.push(
          await Worker.create({
            connection,
            namespace: config.temporalNamespace,
            taskQueue: TASK_QUEUES[queue],
            identity,
            activities,
            maxConcurrentActivityTaskExecutions: concurrency[queue],
            // Cancellation reaches an activity only in a heartbeat response, and the SDK otherwise
            // throttles heartbeats to 80% of the heartbeat timeout (24 s by default): a cancelled run
            // would keep its executor busy that long. One heartbeat RPC a second per executor is cheap.
            maxHeartbeatThrottleInterval: '1 second',
            defaultHeartbeatThrottleInterval: '1 second',
          }),
        );
      }
    }
  } catch (err) {
    for (const close of closers) await close().catch(() => undefined);
    throw err;
  }

  const done = Promise.allSettled(workers.map((w) => w.run())).then(async (results) => {
    for (const close of closers) await close().catch(() => undefined);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  });
  let stopping: Promise<void> | undefined;
  return {
    identity,
    queues: opts.queues,
    done,
    shutdown() {
      stopping ??= (async () => {
        for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
        await done;
      })();
      return stopping;
    },
  };
}
