import { fork } from 'node:child_process';
import path from 'node:path';
import type { LoadResult, LoadSpec } from './load-protocol';

export interface MeasuredLoad extends LoadResult {
  /** CPU cores this (the server's) process used while the client measured, onnxruntime threads included. */
  serverCores: number;
}

/** Runs one load cell in a fresh client process and returns what it measured. */
export function runLoad(spec: LoadSpec): Promise<MeasuredLoad> {
  const fromSource = __filename.endsWith('.ts');
  const entry = path.join(__dirname, `load-client${fromSource ? '.ts' : '.js'}`);
  const child = fork(entry, [], { execArgv: fromSource ? ['--require', 'tsx/cjs'] : [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    let result: MeasuredLoad | undefined;
    let cpu0 = process.cpuUsage();
    let t0 = performance.now();
    child.on('message', (m: LoadResult | 'measuring') => {
      if (m === 'measuring') {
        cpu0 = process.cpuUsage();
        t0 = performance.now();
        return;
      }
      const cpu = process.cpuUsage(cpu0);
      result = { ...m, serverCores: (cpu.user + cpu.system) / 1000 / (performance.now() - t0) };
    });
    child.once('error', reject);
    child.once('exit', (code) => (result ? resolve(result) : reject(new Error(`load client exited with ${code} and no result`))));
    child.send(spec);
  });
}
