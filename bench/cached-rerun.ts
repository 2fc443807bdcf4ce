/**
 * Figure: wall time of a cached re-run of the penguins pipeline (target ≤ 1.5 s), against its first,
 * uncached run in the same session. Measured two ways: a client already connected (what a schedule
 * or a service sees), and a whole `mlpipe run --json` process against running workers (what a
 * person at a terminal sees, Node start-up included).
 *   npm run build && node dist/bench/cached-rerun.js [--runs 5]
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import createPenguins from '../examples/penguins/pipeline';
import { numberArg, runBench } from './support/bench-stack';
import { median } from './stats';

const run = promisify(execFile);
const CLI = path.join(__dirname, '..', 'cli', 'main.js');
const PIPELINE = path.join(__dirname, '..', 'examples', 'penguins', 'pipeline.js');

runBench(async (stack) => {
  const runs = numberArg('runs', 5);
  // A model repository of the run's own: the Pusher must not publish into this checkout's `.mlpipe/models`.
  const repository = pathToFileURL(mkdtempSync(path.join(os.tmpdir(), 'mlpipe-bench-models-'))).href;
  const first = await stack.run(createPenguins({ repository }), { noCache: true });
  if (first.status.state !== 'succeeded') throw new Error(`first run failed: ${first.error}`);
  const inProcess: number[] = [];
  for (let r = 0; r < runs; r++) {
    const { status, wallMs } = await stack.run(createPenguins({ repository }));
    if (!Object.values(status.nodes).every((n) => n.state === 'cached')) throw new Error('re-run was not fully cached');
    inProcess.push(wallMs);
  }
  const env = { ...process.env, ...stack.env() };
  const cli: number[] = [];
  for (let r = 0; r < runs; r++) {
    const started = Date.now();
    const { stdout } = await run(process.execPath, [CLI, 'run', PIPELINE, '--param', `repository=${repository}`, '--json'], { env });
    cli.push(Date.now() - started);
    const parsed = JSON.parse(stdout) as { nodes: Record<string, { status: string }> };
    if (!Object.values(parsed.nodes).every((n) => n.status === 'cached')) throw new Error('CLI re-run was not fully cached');
  }
  const nodeStart = Date.now();
  await run(process.execPath, ['-e', '0']);
  const bareNode = Date.now() - nodeStart;
  console.log('penguins pipeline (the example, ExampleGen to Pusher), Temporal dev server, file:// store:');
  console.log(`  first run, uncached:                    ${first.wallMs} ms`);
  console.log(`  cached re-run, connected client:        median ${median(inProcess)} ms over ${runs}  (${((median(inProcess) / first.wallMs) * 100).toFixed(1)}% of the first run)`);
  console.log(`  cached re-run, whole \`mlpipe run\` CLI:  median ${median(cli)} ms over ${runs}  (target ≤ 1500 ms; bare \`node -e 0\` here: ${bareNode} ms)`);
});
