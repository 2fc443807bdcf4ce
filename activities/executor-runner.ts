import type { Progress } from '../dsl/executor';
import type { ActivityMessage, ExecutorMessage } from './executor-runtime';

/** An executor's own error, carried out of its thread or process with the executor's stack. */
export class ExecutorRunError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
    readonly executorStack?: string,
  ) {
    super(message);
    this.name = errorName;
  }
}

export interface ExecutorHooks {
  onProgress(progress: Progress): void;
  /** Makes the checkpoint durable; the executor's `checkpoint` call settles with it. */
  onCheckpoint(state: unknown): Promise<void>;
  signal: AbortSignal;
}

export interface ExecutorOutcome {
  /** What the executor returned, unchecked: the caller validates it. */
  result: unknown;
  /** Time inside the executor function itself, excluding start-up and module loading. */
  executorMs: number;
}

/** How long a cancelled executor may take to stop by itself before its thread or process is killed. */
export const ABORT_GRACE_MS = 2000;

/**
 * Handles one message of a run: progress and checkpoints go to the hooks (a checkpoint's outcome is
 * sent back with `reply`), a result or an error settles the run through `settle`.
 */
export function dispatchExecutorMessage(
  msg: ExecutorMessage,
  hooks: ExecutorHooks,
  reply: (msg: ActivityMessage) => void,
  settle: (outcome: { ok: ExecutorOutcome } | { error: Error }) => void,
): void {
  switch (msg.type) {
    case 'progress':
      hooks.onProgress(msg.progress);
      break;
    case 'checkpoint':
      hooks.onCheckpoint(msg.state).then(
        () => reply({ type: 'checkpoint-done', runId: msg.runId, seq: msg.seq }),
        (err: Error) => reply({ type: 'checkpoint-done', runId: msg.runId, seq: msg.seq, error: err.message }),
      );
      break;
    case 'result':
      settle({ ok: { result: msg.result ?? {}, executorMs: msg.executorMs } });
      break;
    case 'error':
      settle({ error: new ExecutorRunError(msg.name, msg.message, msg.stack) });
      break;
  }
}
