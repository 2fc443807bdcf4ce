import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

/**
 * `mlpipe serve` over a scratch repository in its own process: a model that crashes or hangs the
 * server cannot take the worker with it, and the server is the one users run. The entry is the built
 * CLI (dist/cli/main.js) whether this module runs from dist/ or from sources.
 */

export class ServerStartError extends Error {}

export interface ServerProcess {
  http: string;
  grpcAddress: string;
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 5_000;
const OUTPUT_TAIL_CHARS = 2_000;

function cliEntry(): string {
  return __filename.endsWith('.ts') ? path.join(__dirname, '..', '..', 'dist', 'cli', 'main.js') : path.join(__dirname, '..', '..', 'cli', 'main.js');
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), STOP_GRACE_MS).unref());
  if ((await Promise.race([exited, timer])) === 'late') {
    child.kill('SIGKILL');
    await exited;
  }
}

/** Starts the server and waits until it listens with the repository loaded; any failure stops it. */
export async function startServerProcess(options: { repository: string; model: string; readyTimeoutMs: number; signal: AbortSignal }): Promise<ServerProcess> {
  options.signal.throwIfAborted();
  const args = ['serve', '--repository', options.repository, '--http-port', '0', '--grpc-port', '0', '--model-control-mode', 'none', '--poll-interval-ms', '0', '--shutdown-timeout-ms', '2000'];
  const child = spawn(process.execPath, [cliEntry(), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-OUTPUT_TAIL_CHARS)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const stop = () => stopChild(child, exited);
  const onAbort = () => void stop();
  options.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const deadline = Date.now() + options.readyTimeoutMs;
    for (;;) {
      options.signal.throwIfAborted();
      if (/gRPC\s+\S+:\d+/.test(stdout)) break;
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new ServerStartError(`the model server exited (${child.exitCode ?? child.signalCode}) before it was ready: ${stderr.trim() || stdout.trim()}`);
      }
      if (Date.now() > deadline) throw new ServerStartError(`the model server was not ready within ${options.readyTimeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const notServing = /not serving: (.*)/.exec(stdout);
    if (notServing) throw new ServerStartError(`the model server could not load the model: ${notServing[1]}`);
    const http = `http://127.0.0.1:${/HTTP\s+http:\/\/[^:]+:(\d+)/.exec(stdout)![1]}`;
    const grpcAddress = `127.0.0.1:${/gRPC\s+[^:]+:(\d+)/.exec(stdout)![1]}`;
    const ready = await fetch(`${http}/v2/models/${options.model}/ready`, { signal: AbortSignal.timeout(options.readyTimeoutMs) });
    if (ready.status !== 200) throw new ServerStartError(`the model server says model "${options.model}" is not ready (HTTP ${ready.status}: ${await ready.text()})`);
    return {
      http,
      grpcAddress,
      stop: async () => {
        options.signal.removeEventListener('abort', onAbort);
        await stop();
      },
    };
  } catch (err) {
    options.signal.removeEventListener('abort', onAbort);
    await stop();
    throw err;
  }
}
