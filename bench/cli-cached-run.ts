/**
 * Figure: a cached `mlpipe run` of the penguins demo as a whole process that starts and stops the
 * embedded stack itself (target < 2 s: what `npm run demo` costs after the first time), against the
 * same run through an already running `mlpipe dev` stack (the baseline, about 0.45 s). The parts of
 * the difference are measured on their own: Node and the CLI's modules, the Temporal dev server's
 * start, and `npm run demo` around it (npm and the incremental build).
 *   npm run build && node dist/bench/cli-cached-run.js [--runs 5]
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startTemporalDevServer } from '../stack/temporal-dev-server';
import { numberArg } from './support/bench-stack';
import { startDev } from './support/dev-process';
import { median } from './stats';

const run = promisify(execFile);
const REPO = path.join(__dirname, '..', '..');
const CLI = path.join(__dirname, '..', 'cli', 'main.js');
const PENGUINS = path.join(__dirname, '..', 'examples', 'penguins', 'pipeline.js');

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return Math.round(performance.now() - started);
}

async function medianOf(runs: number, fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await timed(fn));
  return median(times);
}

function cachedRun(home: string): Promise<void> {
  return run(process.execPath, [CLI, 'run', PENGUINS, '--json'], { env: { ...process.env, MLPIPE_HOME: home } }).then(({ stdout }) => {
    const result = JSON.parse(stdout) as { nodes: Record<string, { status: string }> };
    if (!Object.values(result.nodes).every((n) => n.status === 'cached')) throw new Error(`not a cached run: ${stdout}`);
  });
}

(async () => {
  const runs = numberArg('runs', 5);
  const home = mkdtempSync(path.join(os.tmpdir(), 'mlpipe-bench-cli-'));
  try {
    const first = await timed(() => run(process.execPath, [CLI, 'run', PENGUINS, '--json'], { env: { ...process.env, MLPIPE_HOME: home } }));
    const embedded = await medianOf(runs, () => cachedRun(home));
    const demo = await medianOf(runs, () => run('npm', ['run', 'demo'], { cwd: REPO, env: { ...process.env, MLPIPE_HOME: home } }));
    const stopDev = await startDev(home);
    const throughDev = await medianOf(runs, () => cachedRun(home)).finally(stopDev);
    const bareNode = await medianOf(runs, () => run(process.execPath, ['-e', '0']));
    const cliModules = await medianOf(runs, () => run(process.execPath, [CLI, '--version']));
    const temporalStart = await medianOf(runs, async () => {
      const server = await startTemporalDevServer({ dbFile: path.join(home, 'temporal.db'), port: 0, uiPort: 0 });
      await server.kill();
    });
    console.log(`penguins demo, cached, median of ${runs} (MLPIPE_HOME ${home}):`);
    console.log(`  whole \`mlpipe run\` process, embedded stack:   ${embedded} ms  (target < 2000 ms; ${(embedded / throughDev).toFixed(2)}x the run through \`mlpipe dev\`)`);
    console.log(`  the same through a running \`mlpipe dev\`:       ${throughDev} ms  (baseline)`);
    console.log(`  \`npm run demo\` (npm + incremental build + run): ${demo} ms`);
    console.log('where the time goes:');
    console.log(`  node start-up (node -e 0):                      ${bareNode} ms`);
    console.log(`  node + the CLI's modules (mlpipe --version):    ${cliModules} ms`);
    console.log(`  Temporal dev server, spawn to serving:           ${temporalStart} ms  (the embedded stack loads the SDK, stores and threads meanwhile)`);
    console.log(`  first, uncached run on a fresh MLPIPE_HOME:      ${first} ms`);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
