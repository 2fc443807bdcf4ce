import { parentPort, workerData } from 'node:worker_threads';
import type { Executor, ExecutorContext, ExecutorInput, Progress } from './executor-api';

/** Messages between the executor activity (parent) and this thread. */
export type ThreadMessage =
  | { type: 'progress'; progress: Progress }
  | { type: 'checkpoint'; state: unknown }
  | { type: 'result'; result: unknown }
  | { type: 'error'; name: string; message: string; stack?: string };

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

async function main(): Promise<void> {
  const port = parentPort!;
  const data = workerData as ThreadData;
  const controller = new AbortController();
  port.on('message', (msg: { type?: string }) => {
    if (msg?.type === 'abort') controller.abort();
  });
  const post = (msg: ThreadMessage) => port.postMessage(msg);
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
      progress: (progress) => post({ type: 'progress', progress }),
      checkpoint: (state) => post({ type: 'checkpoint', state }),
      signal: controller.signal,
    };
    const result = await (executor as Executor)(ctx);
    post({ type: 'result', result });
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    post({ type: 'error', name: e.name, message: e.message, stack: e.stack });
  }
}

void main();
