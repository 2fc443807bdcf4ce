import { ComponentError, type Executor, type ExecutorContext, type ExecutorInput, type ModelRegistryAccess, type Progress, type RunIdentity } from '../dsl/executor';
import type { ResolvedInputs } from '../dsl/resolve';
import type { S3Sources } from '../artifacts/s3-sources';

/** What the executor activity hands an executor thread or process for one run. */
export interface ExecutorRunData {
  executorModule: string;
  executorExport: string;
  nodeId: string;
  run: RunIdentity;
  resolved: ResolvedInputs;
  s3Sources: S3Sources;
  modelRegistry?: ModelRegistryAccess;
  parameters: unknown;
  inputs: Record<string, ExecutorInput[]>;
  outputDirs: Record<string, string>;
  tmpDir: string;
  checkpointDir: string;
  resumeState: unknown;
}

/** Messages from an executor (thread or child process) to the executor activity. */
export type ExecutorMessage =
  | { type: 'progress'; runId: number; progress: Progress }
  | { type: 'checkpoint'; runId: number; seq: number; state: unknown }
  | { type: 'result'; runId: number; result: unknown; executorMs: number }
  | { type: 'error'; runId: number; name: string; message: string; stack?: string };

/** Messages from the executor activity. */
export type ActivityMessage =
  | { type: 'run'; runId: number; data: ExecutorRunData }
  | { type: 'abort'; runId: number }
  | { type: 'checkpoint-done'; runId: number; seq: number; error?: string };

let typescriptLoader = false;

/** An executor written in TypeScript (a user's component run from its sources) loads through tsx, as its pipeline module did. */
function loadExecutorModule(file: string): Record<string, unknown> {
  if (/\.[cm]?tsx?$/.test(file) && !typescriptLoader) {
    (require('tsx/cjs/api') as { register(): void }).register();
    typescriptLoader = true;
  }
  return require(file) as Record<string, unknown>;
}

/**
 * The executor side of the protocol, shared by executor threads and executor processes: loads
 * executors, runs one per `run` message with its context, and settles `checkpoint` calls when the
 * activity reports the checkpoint durable.
 */
export class ExecutorRuntime {
  private readonly running = new Map<number, AbortController>();
  private readonly pendingCheckpoints = new Map<string, { resolve(): void; reject(err: Error): void }>();
  private nextSeq = 1;

  constructor(private readonly post: (msg: ExecutorMessage) => void) {}

  receive(msg: ActivityMessage): void {
    switch (msg.type) {
      case 'run':
        void this.run(msg.runId, msg.data);
        break;
      case 'abort':
        this.running.get(msg.runId)?.abort();
        break;
      case 'checkpoint-done': {
        const key = `${msg.runId}/${msg.seq}`;
        const pending = this.pendingCheckpoints.get(key);
        this.pendingCheckpoints.delete(key);
        if (msg.error === undefined) pending?.resolve();
        else pending?.reject(new Error(`checkpoint not saved: ${msg.error}`));
        break;
      }
    }
  }

  private checkpoint(runId: number, state: unknown): Promise<void> {
    const seq = this.nextSeq++;
    const saved = new Promise<void>((resolve, reject) => {
      this.pendingCheckpoints.set(`${runId}/${seq}`, { resolve, reject });
      try {
        this.post({ type: 'checkpoint', runId, seq, state });
      } catch (err) {
        this.pendingCheckpoints.delete(`${runId}/${seq}`);
        reject(new Error(`checkpoint state must be plain data: ${(err as Error).message}`));
      }
    });
    // An executor that does not await its checkpoint must not bring its thread down when it fails:
    // the rejection still reaches whoever awaits it.
    saved.catch(() => undefined);
    return saved;
  }

  /** Values the activity cannot receive are the component's fault: say which value it was. */
  private postValue(msg: ExecutorMessage, what: string): void {
    try {
      this.post(msg);
    } catch (err) {
      throw new ComponentError(`the executor's ${what} cannot be sent to the activity (plain data only): ${(err as Error).message}`);
    }
  }

  private async run(runId: number, data: ExecutorRunData): Promise<void> {
    const controller = new AbortController();
    this.running.set(runId, controller);
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
        run: data.run,
        parameters: data.parameters,
        inputs: data.inputs,
        outputDirs: data.outputDirs,
        resolved: data.resolved,
        s3Sources: data.s3Sources,
        ...(data.modelRegistry ? { modelRegistry: data.modelRegistry } : {}),
        tmpDir: data.tmpDir,
        checkpointDir: data.checkpointDir,
        resumeState: data.resumeState,
        progress: (progress) => this.postValue({ type: 'progress', runId, progress }, 'progress'),
        checkpoint: (state) => this.checkpoint(runId, state),
        signal: controller.signal,
      };
      const started = performance.now();
      const result = await (executor as Executor)(ctx);
      this.postValue({ type: 'result', runId, result, executorMs: performance.now() - started }, 'result');
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      this.post({ type: 'error', runId, name: e.name, message: e.message, stack: e.stack });
    } finally {
      this.running.delete(runId);
    }
  }
}
