import { spawn } from 'node:child_process';
import path from 'node:path';

const CLI = path.join(__dirname, '..', '..', 'cli', 'main.js');

/** `mlpipe dev` in the background, on free ports, until its banner says it is up; resolves to its stop. */
export async function startDev(home: string): Promise<() => Promise<void>> {
  const dev = spawn(process.execPath, [CLI, 'dev', '--port', '0', '--ui-port', '0'], { env: { ...process.env, MLPIPE_HOME: home }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    dev.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Ctrl-C stops everything')) resolve();
    });
    dev.once('exit', (code) => reject(new Error(`mlpipe dev exited (${code}): ${out}`)));
  });
  return async () => {
    dev.kill('SIGINT');
    await new Promise((resolve) => dev.once('exit', resolve));
  };
}
