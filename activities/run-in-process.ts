import { fork, type ChildProcess } from 'node:child_process';
import { open } from 'node:fs/promises';
import path from 'node:path';
import type { ActivityMessage, ExecutorMessage, ExecutorRunData } from './executor-runtime';
import { ABORT_GRACE_MS, dispatchExecutorMessage, ExecutorRunError, type ExecutorHooks, type ExecutorOutcome } from './executor-runner';

const PROCESS_SCRIPT = path.join(__dirname, 'executor-process.js');

/**
 * Runs each executor in a child process of its own (components whose executor says `runIn:
 * 'process'`): a crash, a native library's abort or a leak ends with the process, not the worker, and
 * GPU work gets a process whose device state dies with it. The child's stdout and stderr go to
 * `logFile`. A child that dies before answering fails the attempt; the retry resumes from the last
 * checkpoint.
 */
export class ExecutorProcessRunner {
  private readonly children = new Set<ChildProcess>();
  private nextRunId = 1;
  private closed = false;

  async run(data: ExecutorRunData, hooks: ExecutorHooks, options: { logFile: string }): Promise<ExecutorOutcome> {
    if (this.closed) throw new Error('executor process runner is closed');
    const log = await open(options.logFile, 'a');
    let child: ChildProcess;
    try {
      // Structured clone, as threads get: typed arrays and Maps in parameters survive the trip.
      child = fork(PROCESS_SCRIPT, [], { serialization: 'advanced', stdio: ['ignore', log.fd, log.fd, 'ipc'] });
    } finally {
      await log.close();
    }
    this.children.add(child);
    const runId = this.nextRunId++;
    const send = (msg: ActivityMessage) => {
      // A child that already exited cannot take answers; its exit settles the run.
      if (child.connected) child.send(msg, () => undefined);
    };
    return new Promise<ExecutorOutcome>((resolve, reject) => {
      let settled = false;
      let killTimer: NodeJS.Timeout | undefined;
      const finish = (outcome: { ok: ExecutorOutcome } | { error: Error }) => {
        if (settled) return;
        settled = true;
        if (killTimer) clearTimeout(killTimer);
        hooks.signal.removeEventListener('abort', onAbort);
        // Disconnecting ends the child (see executor-process.ts), which has answered and has nothing left to do.
        if (child.connected) child.disconnect();
        if ('ok' in outcome) resolve(outcome.ok);
        else reject(outcome.error);
      };
      const onAbort = () => {
        send({ type: 'abort', runId });
        killTimer = setTimeout(() => child.kill('SIGKILL'), ABORT_GRACE_MS);
      };
      child.on('message', (msg: ExecutorMessage) => {
        if (msg.runId === runId && !settled) dispatchExecutorMessage(msg, hooks, send, finish);
      });
      child.on('error', (err) => finish({ error: err }));
      child.on('exit', (code, signal) => {
        this.children.delete(child);
        if (hooks.signal.aborted) {
          finish({ error: new ExecutorRunError('AbortError', 'executor stopped after cancellation') });
          return;
        }
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        finish({ error: new ExecutorRunError('ExecutorProcessExited', `executor process ${child.pid} ${how} before returning a result`) });
      });
      hooks.signal.addEventListener('abort', onAbort, { once: true });
      send({ type: 'run', runId, data });
      if (hooks.signal.aborted) onAbort();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const child of this.children) child.kill('SIGKILL');
    this.children.clear();
  }
}
