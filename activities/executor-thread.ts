import { parentPort } from 'node:worker_threads';
import { ComponentError, type Executor, type ExecutorContext, type ExecutorInput, type Progress } from '../dsl/executor';
import type { ResolvedInputs } from '../dsl/resolve';

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
  resolved: ResolvedInputs;
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
let typescriptLoader = false;

/** An executor written in TypeScript (a user's component run from its sources) loads through tsx, as its pipeline module did. */
function loadExecutorModule(file: string): Record<string, unknown> {
  if (/\.[cm]?tsx?$/.test(file) && !typescriptLoader) {
    (require('tsx/cjs/api') as { register(): void }).register();
    typescriptLoader = true;
  }
  return require(file) as Record<string, unknown>;
}

async function run(runId: number, data: ThreadData): Promise<void> {
  const controller = new AbortController();
  running.set(runId, controller);
  try {
    let mod: Record<string, unknown>;
    try {
      mod = loadExecutorModule(data.executorModule);
    } catch (err) {
      throw new ComponentError(`cannot load the executor module ${data.executorModule}: ${(err as Error).message.split('\n')[0]}`);
    }
    const executor = mod[data.executorExport];
    if (typeof executor !== 'function') {
      throw new ComponentError(`${data.executorModule} does not export an executor function named '${data.executorExport}'`);
    }
    const ctx: ExecutorContext = {
      nodeId: data.nodeId,
      parameters: data.parameters,
      inputs: data.inputs,
      outputDirs: data.outputDirs,
      resolved: data.resolved,
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
