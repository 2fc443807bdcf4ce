import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const LOG_TAIL_BYTES = 16 * 1024;
const STOP_GRACE_MS = 10_000;
const READY_POLL_MS = 100;

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A long-running server child whose output is kept (tail in memory, all of it in an optional log file). */
export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  /** Set once the process has exited. */
  exitInfo(): ExitInfo | null;
  logTail(): string;
  /** True once the server printed a line matching `readyLine`. */
  printedReadyLine(): boolean;
  /** SIGTERM, then SIGKILL if it has not exited after a grace period. */
  stop(): Promise<void>;
  /** SIGKILL at once: for a server whose state is durable and whose graceful stop only waits. */
  kill(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Servers must not outlive the Node process that started them, even when it exits without
 * calling stop() (a crashed test run, process.exit from mocha --exit). Only synchronous work
 * is allowed in an 'exit' handler, so this is a plain SIGKILL.
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

export interface SpawnServerOptions {
  env?: NodeJS.ProcessEnv;
  logFile?: string;
  /** A line the server prints once it serves (see `printedReadyLine`). */
  readyLine?: RegExp;
}

let setprivPath: string | null | undefined;

/**
 * util-linux `setpriv --pdeathsig` makes the kernel kill the server when this process dies
 * by any means, SIGKILL included, which no handler in Node can cover. It execs the server, so
 * the pid stays the server's.
 */
function parentDeathWrapper(): string | null {
  if (setprivPath !== undefined) return setprivPath;
  setprivPath = null;
  if (process.platform !== 'linux') return setprivPath;
  for (const candidate of ['/usr/bin/setpriv', '/bin/setpriv']) {
    const probe = spawnSync(candidate, ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore' });
    if (probe.status === 0) {
      setprivPath = candidate;
      break;
    }
  }
  return setprivPath;
}

export function spawnServer(name: string, command: string, args: string[], opts: SpawnServerOptions = {}): ServerProcess {
  installExitHook();
  const wrapper = parentDeathWrapper();
  const [file, argv] = wrapper ? [wrapper, ['--pdeathsig', 'KILL', '--', command, ...args]] : [command, args];
  // Pipes rather than inherited file descriptors: without setpriv, a Go server that loses its
  // parent still dies of SIGPIPE on its next log write instead of lingering.
  const child = spawn(file, argv, { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  let exit: ExitInfo | null = null;
  let spawnError: Error | null = null;
  const log: WriteStream | null = opts.logFile ? createWriteStream(opts.logFile, { flags: 'a' }) : null;
  let ready = false;
  let partialLine = '';
  const onData = (chunk: Buffer): void => {
    log?.write(chunk);
    const text = chunk.toString('utf8');
    tail = (tail + text).slice(-LOG_TAIL_BYTES);
    if (opts.readyLine && !ready) {
      const lines = (partialLine + text).split('\n');
      partialLine = lines.pop() ?? '';
      ready = lines.some((line) => opts.readyLine!.test(line));
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('error', (err) => {
      spawnError = err;
      exit = { code: null, signal: null };
      live.delete(child);
      resolve(exit);
    });
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      live.delete(child);
      resolve(exit);
    });
  });
  void exited.then(() => log?.end());
  if (child.pid !== undefined) live.add(child);

  return {
    name,
    pid: child.pid ?? -1,
    exitInfo: () => exit,
    logTail: () => (spawnError ? `${spawnError.message}\n${tail}` : tail),
    printedReadyLine: () => ready,
    async stop(): Promise<void> {
      if (exit) return;
      child.kill('SIGTERM');
      const grace = new AbortController();
      const graceful = await Promise.race([
        exited.then(() => true),
        sleep(STOP_GRACE_MS, false, { signal: grace.signal }).catch(() => true),
      ]);
      grace.abort();
      if (!graceful) {
        child.kill('SIGKILL');
        await exited;
      }
    },
    async kill(): Promise<void> {
      if (exit) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

function describeExit(info: ExitInfo): string {
  return info.signal ? `was killed by ${info.signal}` : `exited with code ${info.code}`;
}

function indentTail(text: string, lines = 30): string {
  const kept = text.trimEnd().split('\n').slice(-lines);
  return kept.length && kept[0] !== '' ? kept.map((l) => `    ${l}`).join('\n') : '    (no output)';
}

export class ServerStartError extends Error {
  override name = 'ServerStartError';
  constructor(
    message: string,
    readonly logTail: string,
  ) {
    super(`${message}\n  last output:\n${indentTail(logTail)}`);
  }
}

/**
 * Polls `probe` until it succeeds; fails fast when the server exits, and on timeout names the
 * server and shows what it last printed, which is almost always the reason.
 */
export async function waitUntilReady(
  proc: ServerProcess,
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  pollMs = READY_POLL_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const exit = proc.exitInfo();
    if (exit) throw new ServerStartError(`${proc.name} ${describeExit(exit)} before ${what} answered`, proc.logTail());
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) {
      await proc.stop();
      throw new ServerStartError(`${proc.name} did not answer at ${what} within ${Math.round(timeoutMs / 1000)} s`, proc.logTail());
    }
    await sleep(pollMs);
  }
}

export function looksLikePortClash(logTail: string): boolean {
  return /address already in use|bind: address/i.test(logTail);
}
