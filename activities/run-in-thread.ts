import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ActivityMessage, ExecutorMessage, ExecutorRunData } from './executor-runtime';
import { ABORT_GRACE_MS, dispatchExecutorMessage, ExecutorRunError, type ExecutorHooks, type ExecutorOutcome } from './executor-runner';

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

  run(data: ExecutorRunData, hooks: ExecutorHooks): Promise<ExecutorOutcome> {
    if (this.closed) return Promise.reject(new Error('executor thread pool is closed'));
    const thread = this.idle.pop() ?? this.spawn();
    thread.busy = true;
    const runId = this.nextRunId++;
    return new Promise<ExecutorOutcome>((resolve, reject) => {
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
        worker.postMessage({ type: 'abort', runId } satisfies ActivityMessage);
        killTimer = setTimeout(() => {
          if (settled) return;
          this.forget(thread);
          void worker.terminate();
        }, ABORT_GRACE_MS);
      };
      const onMessage = (msg: ExecutorMessage) => {
        if (msg.runId !== runId || settled) return;
        dispatchExecutorMessage(
          msg,
          hooks,
          (answer) => worker.postMessage(answer),
          (outcome) => {
            // The executor returned (or threw), so the thread is idle again, cancelled or not.
            cleanup(true);
            if ('ok' in outcome) resolve(outcome.ok);
            else reject(outcome.error);
          },
        );
      };
      const onExit = (code: number) => {
        if (settled) return;
        cleanup(false);
        reject(
          hooks.signal.aborted
            ? new ExecutorRunError('AbortError', 'executor stopped after cancellation')
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
        worker.postMessage({ type: 'run', runId, data } satisfies ActivityMessage);
      } catch (err) {
        // Parameters or inputs that structured clone refuses (functions, class instances).
        cleanup(true);
        reject(new ExecutorRunError('DataCloneError', (err as Error).message));
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
