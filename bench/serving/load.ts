import { fork } from 'node:child_process';
import path from 'node:path';
import type { LoadResult, LoadSpec } from './load-protocol';

/** Runs one load cell in a fresh client process and returns what it measured. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const fromSource = __filename.endsWith('.ts');
  const entry = path.join(__dirname, `load-client${fromSource ? '.ts' : '.js'}`);
  const child = fork(entry, [], { execArgv: fromSource ? ['--require', 'tsx/cjs'] : [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    let result: LoadResult | undefined;
    child.once('message', (m: LoadResult) => (result = m));
    child.once('error', reject);
    child.once('exit', (code) => (result ? resolve(result) : reject(new Error(`load client exited with ${code} and no result`))));
    child.send(spec);
  });
}
