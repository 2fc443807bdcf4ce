import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../support/repo-root';

/** The compiled `mlpipe` command, as `npm install` puts it on a user's PATH (package.json `bin`). */
export const CLI_MAIN = path.join(REPO_ROOT, 'dist', 'cli', 'main.js');

const DEFAULT_TIMEOUT_MS = 60_000;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment a CLI process sees: this process's environment without any MLPIPE_* setting
 * (a developer's own configuration must not leak into a test), plus `vars`.
 */
export function cliEnv(vars: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MLPIPE_')) env[k] = v;
  return { ...env, ...vars };
}

export interface CliOptions {
  /** Working directory; a temp dir keeps a stray mlpipe.config.json out of the test. */
  cwd: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Its own process group, as a terminal's foreground job: `stop()` then signals the whole group, as Ctrl-C does. */
  processGroup?: boolean;
}

/** What a failed expectation prints so the reader sees what the command said. */
export function describeResult(args: readonly string[], r: CliResult): string {
  return `mlpipe ${args.join(' ')} → exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\n--- stdout ---\n${r.stdout.slice(-4000)}\n--- stderr ---\n${r.stderr.slice(-4000)}`;
}

/** A running `mlpipe` process whose output is collected as it arrives. */
export class CliProcess {
  readonly child: ChildProcess;
  private readonly group: boolean;
  stdout = '';
  stderr = '';
  readonly exited: Promise<CliResult>;

  constructor(readonly args: readonly string[], opts: CliOptions) {
    this.child = spawn(process.execPath, [CLI_MAIN, ...args], {
      cwd: opts.cwd,
      env: cliEnv(opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: opts.processGroup === true,
    });
    this.group = opts.processGroup === true;
    this.child.stdout!.setEncoding('utf8').on('data', (s: string) => (this.stdout += s));
    this.child.stderr!.setEncoding('utf8').on('data', (s: string) => (this.stderr += s));
    this.exited = new Promise((resolve, reject) => {
      this.child.once('error', reject);
      this.child.once('close', (code, signal) => resolve({ code, signal, stdout: this.stdout, stderr: this.stderr }));
    });
  }

  get result(): CliResult {
    return { code: this.child.exitCode, signal: this.child.signalCode, stdout: this.stdout, stderr: this.stderr };
  }

  /** Resolves with the first match of `pattern` on stdout; fails with everything printed so far when the process exits first or the deadline passes. */
  async waitForStdout(pattern: RegExp, timeoutMs: number, what: string): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true), () => (exited = true));
    for (;;) {
      const match = this.stdout.match(pattern);
      if (match) return match;
      if (exited) throw new Error(`${what}: the process exited first\n${describeResult(this.args, this.result)}`);
      if (Date.now() > deadline) throw new Error(`${what}: not printed within ${timeoutMs} ms\n${describeResult(this.args, this.result)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private signal(signal: NodeJS.Signals): void {
    try {
      if (this.group && this.child.pid !== undefined) process.kill(-this.child.pid, signal);
      else this.child.kill(signal);
    } catch {
      // Already gone.
    }
  }

  /** Sends `signal` (to the whole group when it has one, as Ctrl-C does) and waits for the exit; SIGKILLs and fails when it does not exit in time. */
  async stop(signal: NodeJS.Signals, timeoutMs: number): Promise<CliResult> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.exited;
    this.signal(signal);
    return withDeadline(this.exited, timeoutMs, () => {
      this.signal('SIGKILL');
      return `mlpipe ${this.args.join(' ')} did not exit within ${timeoutMs} ms of ${signal}\n${describeResult(this.args, this.result)}`;
    });
  }

  /** For after() hooks: whatever still runs is killed, group included. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.signal('SIGKILL');
  }
}

async function withDeadline<T>(promise: Promise<T>, timeoutMs: number, onTimeout: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(onTimeout())), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `mlpipe <args>` to completion; a process still running at the deadline is killed and the test fails with its output. */
export async function runCli(args: readonly string[], opts: CliOptions): Promise<CliResult> {
  const proc = new CliProcess(args, opts);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return withDeadline(proc.exited, timeoutMs, () => {
    proc.child.kill('SIGKILL');
    return `mlpipe ${args.join(' ')} did not finish within ${timeoutMs} ms\n${describeResult(args, proc.result)}`;
  });
}

const shellQuote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

/**
 * Runs `mlpipe <args>` with a pseudo-terminal as stdin/stdout/stderr (util-linux `script`), as a
 * person at a terminal runs it; everything it wrote comes back on stdout.
 */
export async function runCliOnTty(args: readonly string[], opts: CliOptions): Promise<CliResult> {
  const command = [process.execPath, CLI_MAIN, ...args].map(shellQuote).join(' ');
  const child = spawn('script', ['--quiet', '--return', '--flush', '--command', command, '/dev/null'], {
    cwd: opts.cwd,
    env: { ...cliEnv(opts.env), COLUMNS: '160' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<CliResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return withDeadline(exited, timeoutMs, () => {
    child.kill('SIGKILL');
    return `mlpipe ${args.join(' ')} (on a pty) did not finish within ${timeoutMs} ms\n${describeResult(args, { code: null, signal: null, stdout, stderr })}`;
  });
}

/** Parses stdout that must be exactly one JSON value (what `--json` promises scripts). */
export function parseJsonStdout(args: readonly string[], r: CliResult): unknown {
  try {
    return JSON.parse(r.stdout);
  } catch (err) {
    throw new Error(`stdout is not one JSON value (${(err as Error).message})\n${describeResult(args, r)}`);
  }
}

/** Process ids whose command line mentions `needle` (e.g. a temp MLPIPE_HOME), to prove nothing was left running. */
export function processesMentioning(needle: string): Array<{ pid: number; cmdline: string }> {
  const found: Array<{ pid: number; cmdline: string }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    } catch {
      continue;
    }
    if (cmdline.includes(needle)) found.push({ pid: Number(entry), cmdline });
  }
  return found;
}

/** Waits until no process mentions `needle`; fails naming the survivors. */
export async function expectNoProcessesMentioning(needle: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = processesMentioning(needle);
    if (left.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`processes still running ${timeoutMs} ms after the command ended:\n${left.map((p) => `  ${p.pid}: ${p.cmdline}`).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
