import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Progress } from '../dsl/executor';
import type { ParentMessage, ThreadData, ThreadMessage } from './executor-thread';

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

export interface ThreadOutcome {
  /** What the executor returned, unchecked: the caller validates it. */
  result: unknown;
  /** Time inside the executor function itself, excluding thread start-up and module loading. */
  executorMs: number;
}

/** How long a cancelled executor may take to stop by itself before its thread is terminated. */
const ABORT_GRACE_MS = 2000;
const THREAD_SCRIPT = path.join(__dirname, 'executor-thread.js');

interface PooledThread {
  worker: Worker;
  busy: boolean;
}

/**
 * Runs executors in worker threads so CPU-bound work never blocks the activity worker's event loop:
 * heartbeats keep flowing and cancellation is observed while the executor computes. Threads are
 * reused (a fresh one costs ~100 ms to start on a small machine); a thread that had to be
 * terminated, or that died, is replaced.
 */
export class ExecutorThreadPool {
  private readonly idle: PooledThread[] = [];
  private readonly all = new Set<PooledThread>();
  private nextRunId = 1;
  private closed = false;

  /** Starts `count` threads ahead of the first run. */
  warm(count: number): void {
    for (let i = this.all.size; i < count; i++) this.idle.push(this.spawn());
  }

  private spawn(): PooledThread {
    const thread: PooledThread = { worker: new Worker(THREAD_SCRIPT), busy: false };
    thread.worker.unref();
    thread.worker.on('exit', () => this.forget(thread));
    thread.worker.on('error', () => this.forget(thread));
    this.all.add(thread);
    return thread;
  }

  private forget(thread: PooledThread): void {
    this.all.delete(thread);
    const i = this.idle.indexOf(thread);
    if (i >= 0) this.idle.splice(i, 1);
  }

  run(data: ThreadData, hooks: ThreadHooks): Promise<ThreadOutcome> {
    if (this.closed) return Promise.reject(new Error('executor thread pool is closed'));
    const thread = this.idle.pop() ?? this.spawn();
    thread.busy = true;
    const runId = this.nextRunId++;
    return new Promise<ThreadOutcome>((resolve, reject) => {
      let settled = false;
      let killTimer: NodeJS.Timeout | undefined;
      const { worker } = thread;
      const cleanup = (reusable: boolean) => {
        settled = true;
        if (killTimer) clearTimeout(killTimer);
        hooks.signal.removeEventListener('abort', onAbort);
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        worker.off('error', onError);
        thread.busy = false;
        if (reusable && !this.closed && this.all.has(thread)) this.idle.push(thread);
      };
      const onAbort = () => {
        worker.postMessage({ type: 'abort', runId } satisfies ParentMessage);
        killTimer = setTimeout(() => {
          if (settled) return;
          this.forget(thread);
          void worker.terminate();
        }, ABORT_GRACE_MS);
      };
      const onMessage = (msg: ThreadMessage) => {
        if (msg.runId !== runId || settled) return;
        switch (msg.type) {
          case 'progress':
            hooks.onProgress(msg.progress);
            break;
          case 'checkpoint':
            hooks.onCheckpoint(msg.state);
            break;
          case 'result':
            cleanup(true);
            resolve({ result: msg.result ?? {}, executorMs: msg.executorMs });
            break;
          case 'error':
            // The executor returned (by throwing), so the thread is idle again, cancelled or not.
            cleanup(true);
            reject(new ExecutorThreadError(msg.name, msg.message, msg.stack));
            break;
        }
      };
      const onExit = (code: number) => {
        if (settled) return;
        cleanup(false);
        reject(
          hooks.signal.aborted
            ? new ExecutorThreadError('AbortError', 'executor stopped after cancellation')
            : new Error(`executor thread exited with code ${code} before returning a result`),
        );
      };
      const onError = (err: Error) => {
        if (settled) return;
        cleanup(false);
        reject(err);
      };
      worker.on('message', onMessage);
      worker.on('exit', onExit);
      worker.on('error', onError);
      hooks.signal.addEventListener('abort', onAbort, { once: true });
      try {
        worker.postMessage({ type: 'run', runId, data } satisfies ParentMessage);
      } catch (err) {
        // Parameters or inputs that structured clone refuses (functions, class instances).
        cleanup(true);
        reject(new ExecutorThreadError('DataCloneError', (err as Error).message));
        return;
      }
      if (hooks.signal.aborted) onAbort();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.all].map((t) => t.worker.terminate()));
    this.all.clear();
    this.idle.length = 0;
  }
}
