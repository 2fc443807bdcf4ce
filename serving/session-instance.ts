import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ServingError } from './errors';
import {
  transferList,
  type SessionWorkerData,
  type SessionWorkerReply,
  type SessionWorkerRequest,
  type WireTensor,
  type WireValueInfo,
} from './session-protocol';

export interface SessionRunResult {
  outputs: WireTensor[];
  /** Time onnxruntime spent in `run`, measured inside the worker thread. */
  inferMs: number;
}

/**
 * Under tsx (tests, benches run from source) the worker is the .ts file and needs tsx's loader; from
 * dist it is the compiled .js next to this one.
 */
function workerEntry(): { file: string; execArgv: string[] } {
  const compiled = path.join(__dirname, 'session-worker.js');
  if (existsSync(compiled)) return { file: compiled, execArgv: [] };
  return { file: path.join(__dirname, 'session-worker.ts'), execArgv: ['--require', 'tsx/cjs'] };
}

/** One onnxruntime session running in a worker thread: one model instance of Triton's instance_group. */
export class SessionInstance {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: SessionRunResult) => void; reject: (e: Error) => void }>();
  private exited = false;

  private constructor(
    private readonly worker: Worker,
    readonly inputs: WireValueInfo[],
    readonly outputs: WireValueInfo[],
  ) {
    worker.on('message', (msg: SessionWorkerReply) => this.onMessage(msg));
    worker.on('error', (err) => this.failAll(`session thread failed: ${err.message}`));
    worker.on('exit', () => {
      this.exited = true;
      this.failAll('session thread exited');
    });
  }

  /** Creates the session; rejects with onnxruntime's own message when the model cannot be loaded. */
  static start(data: SessionWorkerData): Promise<SessionInstance> {
    const entry = workerEntry();
    const transfer = typeof data.model === 'string' ? [] : [data.model.buffer as ArrayBuffer];
    return new Promise((resolve, reject) => {
      const worker = new Worker(entry.file, { workerData: data, transferList: transfer, execArgv: entry.execArgv });
      const onError = (err: Error) => reject(err);
      const onExit = (code: number) => reject(new Error(`session thread exited with code ${code} while loading`));
      worker.once('error', onError);
      worker.once('exit', onExit);
      worker.once('message', (msg: SessionWorkerReply) => {
        worker.off('error', onError);
        worker.off('exit', onExit);
        if (msg.type === 'ready') {
          resolve(new SessionInstance(worker, msg.inputs, msg.outputs));
        } else {
          void worker.terminate();
          reject(new Error(msg.type === 'load-error' ? msg.message : `unexpected ${msg.type} from session thread`));
        }
      });
    });
  }

  run(feeds: WireTensor[], outputNames: string[]): Promise<SessionRunResult> {
    if (this.exited) return Promise.reject(new ServingError('internal', 'session thread is gone'));
    const id = this.nextId++;
    const request: SessionWorkerRequest = { type: 'run', id, feeds, outputNames };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage(request, transferList(feeds));
    });
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    const request: SessionWorkerRequest = { type: 'close' };
    this.worker.postMessage(request);
    const timer = setTimeout(() => void this.worker.terminate(), 5000);
    await exited;
    clearTimeout(timer);
  }

  private onMessage(msg: SessionWorkerReply): void {
    if (msg.type !== 'result' && msg.type !== 'run-error') return;
    const waiter = this.pending.get(msg.id);
    if (!waiter) return;
    this.pending.delete(msg.id);
    if (msg.type === 'result') waiter.resolve({ outputs: msg.outputs, inferMs: msg.inferMs });
    else waiter.reject(new ServingError('internal', `onnxruntime: ${msg.message}`));
  }

  private failAll(message: string): void {
    for (const waiter of this.pending.values()) waiter.reject(new ServingError('internal', message));
    this.pending.clear();
  }
}
