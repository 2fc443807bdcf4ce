import os from 'node:os';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { builtinRegistry } from '../activities/builtin-components';
import type { ComponentRegistry } from '../activities/component-registry';
import { createControlActivities } from '../activities/control';
import { createExecutorActivities } from '../activities/execute-component';
import { ExecutorThreadPool } from '../activities/run-in-thread';
import { openArtifactStore } from '../artifacts/open-store';
import { openMetadataStore } from '../artifacts/metadata/metadata-store';
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
}

export interface RunningWorkers {
  identity: string;
  queues: QueueName[];
  /** Resolves when every worker has stopped. */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

const DEFAULT_CONCURRENCY: Record<QueueName, number> = { control: 50, cpu: 1, gpu: 1 };

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
  const concurrency = { ...DEFAULT_CONCURRENCY, ...config.worker.concurrency, ...opts.concurrency };

  const address = config.temporalAddress;
  const connection = await reachTemporal(address, () => NativeConnection.connect({ address }));
  const closers: Array<() => Promise<void>> = [() => connection.close()];
  const workers: Worker[] = [];
  try {
    const store = await openArtifactStore(config.artifactRoot, config.s3, { cacheDir: `${config.home}/cache` });
    closers.unshift(() => store.close());
    if (opts.queues.includes('control')) {
      const metadata = await openMetadataStore(config.metadataUrl);
      closers.unshift(() => metadata.close());
      workers.push(
        await Worker.create({
          connection,
          namespace: config.temporalNamespace,
          taskQueue: TASK_QUEUES.control,
          identity,
          ...workflowCodeOption(),
          activities: createControlActivities({ store, metadata }),
          // Control steps run as local activities of this worker (see workflows/pipeline.ts).
          maxConcurrentLocalActivityExecutions: concurrency.control,
        }),
      );
    }
    const executorQueues = opts.queues.filter((q): q is 'cpu' | 'gpu' => q !== 'control');
    if (executorQueues.length > 0) {
      const clientConnection = await Connection.connect({ address: config.temporalAddress });
      closers.unshift(() => clientConnection.close());
      const client = new Client({ connection: clientConnection, namespace: config.temporalNamespace });
      const threads = new ExecutorThreadPool();
      threads.warm(executorQueues.reduce((n, q) => n + concurrency[q], 0));
      closers.unshift(() => threads.close());
      const activities = createExecutorActivities({
        store,
        registry,
        threads,
        identity,
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
