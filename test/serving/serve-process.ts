import { spawn } from 'node:child_process';
import path from 'node:path';

/** `mlpipe serve` with `args` as its own process (serve-cli-entry), its output collected. */
export function serveProcess(args: string[]) {
  const fromSource = __filename.endsWith('.ts');
  const entry = path.join(__dirname, `serve-cli-entry${fromSource ? '.ts' : '.js'}`);
  const child = spawn(process.execPath, [...(fromSource ? ['--require', 'tsx/cjs'] : []), entry, 'serve', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

/** Waits until a `mlpipe serve` process printed its ports; returns them. */
export async function servedPorts(p: ReturnType<typeof serveProcess>, timeoutMs = 60_000): Promise<{ http: number; grpc: number }> {
  const deadline = Date.now() + timeoutMs;
  while (!/gRPC\s+127\.0\.0\.1:\d+/.test(p.out())) {
    if (Date.now() > deadline) throw new Error(`no ports printed; stderr: ${p.err()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { http: Number(/HTTP\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(p.out())![1]), grpc: Number(/gRPC\s+127\.0\.0\.1:(\d+)/.exec(p.out())![1]) };
}
