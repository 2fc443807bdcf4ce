import { parentPort } from 'node:worker_threads';
import type { Executor, ExecutorContext, ExecutorInput, Progress } from './executor-api';

/** Messages from this thread to the executor activity (parent). */
export type ThreadMessage =
  | { type: 'progress'; runId: number; progress: Progress }
  | { type: 'checkpoint'; runId: number; state: unknown }
  | { type: 'result'; runId: number; result: unknown; executorMs: number }
  | { type: 'error'; runId: number; name: string; message: string; stack?: string };

/** Messages from the parent. */
export type ParentMessage = { type: 'run'; runId: number; data: ThreadData } | { type: 'abort'; runId: number };

export interface ThreadData {
  executorModule: string;
  executorExport: string;
  nodeId: string;
  parameters: unknown;
  inputs: Record<string, ExecutorInput[]>;
  outputDirs: Record<string, string>;
  tmpDir: string;
  resumeState: unknown;
}

/**
 * A long-lived executor thread: it runs one executor at a time, for as many runs as the pool gives
 * it, so thread start-up and module loading are paid once rather than per node.
 */
const port = parentPort!;
const running = new Map<number, AbortController>();
const post = (msg: ThreadMessage) => port.postMessage(msg);

async function run(runId: number, data: ThreadData): Promise<void> {
  const controller = new AbortController();
  running.set(runId, controller);
  try {
    const mod = require(data.executorModule) as Record<string, unknown>;
    const executor = mod[data.executorExport];
    if (typeof executor !== 'function') {
      throw new Error(`${data.executorModule} does not export an executor function named '${data.executorExport}'`);
    }
    const ctx: ExecutorContext<unknown> = {
      nodeId: data.nodeId,
      parameters: data.parameters,
      inputs: data.inputs,
      outputDirs: data.outputDirs,
      tmpDir: data.tmpDir,
      resumeState: data.resumeState,
      progress: (progress) => post({ type: 'progress', runId, progress }),
      checkpoint: (state) => post({ type: 'checkpoint', runId, state }),
      signal: controller.signal,
    };
    const started = performance.now();
    const result = await (executor as Executor)(ctx);
    post({ type: 'result', runId, result, executorMs: performance.now() - started });
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    post({ type: 'error', runId, name: e.name, message: e.message, stack: e.stack });
  } finally {
    running.delete(runId);
  }
}

port.on('message', (msg: ParentMessage) => {
  if (msg.type === 'run') void run(msg.runId, msg.data);
  else if (msg.type === 'abort') running.get(msg.runId)?.abort();
});
