import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ExecutorResult, Progress } from './executor-api';
import type { ThreadData, ThreadMessage } from './executor-thread';

export class ExecutorThreadError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
    readonly threadStack?: string,
  ) {
    super(message);
    this.name = errorName;
  }
}

export interface ThreadHooks {
  onProgress(progress: Progress): void;
  onCheckpoint(state: unknown): void;
  signal: AbortSignal;
}

/** How long a cancelled executor may take to stop by itself before its thread is terminated. */
const ABORT_GRACE_MS = 2000;

/**
 * Runs an executor in a worker thread so CPU-bound work never blocks the activity worker's event
 * loop: heartbeats keep flowing and cancellation is observed while the executor computes.
 */
export function runExecutorInThread(data: ThreadData, hooks: ThreadHooks): Promise<ExecutorResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(path.join(__dirname, 'executor-thread.js'), { workerData: data });
    let settled = false;
    let killTimer: NodeJS.Timeout | undefined;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      if (killTimer) clearTimeout(killTimer);
      hooks.signal.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => {
      worker.postMessage({ type: 'abort' });
      killTimer = setTimeout(() => void worker.terminate(), ABORT_GRACE_MS);
    };
    hooks.signal.addEventListener('abort', onAbort, { once: true });
    if (hooks.signal.aborted) onAbort();
    worker.on('message', (msg: ThreadMessage) => {
      switch (msg.type) {
        case 'progress':
          hooks.onProgress(msg.progress);
          break;
        case 'checkpoint':
          hooks.onCheckpoint(msg.state);
          break;
        case 'result':
          settle(() => resolve((msg.result ?? {}) as ExecutorResult));
          void worker.terminate();
          break;
        case 'error':
          settle(() => reject(new ExecutorThreadError(msg.name, msg.message, msg.stack)));
          void worker.terminate();
          break;
      }
    });
    worker.on('error', (err) => settle(() => reject(err)));
    worker.on('exit', (code) =>
      settle(() =>
        reject(
          hooks.signal.aborted
            ? new ExecutorThreadError('AbortError', 'executor stopped after cancellation')
            : new Error(`executor thread exited with code ${code} before returning a result`),
        ),
      ),
    );
  });
}
