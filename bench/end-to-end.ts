/**
 * Figures: the examples end to end (ExampleGen to Pusher, nine nodes) as whole `mlpipe run` processes,
 * wall time and each node's, cold (a fresh MLPIPE_HOME: no cache, no model yet) and as an identical
 * re-run (every node a cache hit). Penguins through a running `mlpipe dev` (targets: cold ≤ 15 s,
 * re-run ≤ 1.5 s) and with the embedded stack the run starts itself; flights at a sample (CI size) and,
 * with --flights-full, all 3 M rows. The baseline in the same run: the cold run itself (the re-run's
 * share of it), and bare `node -e 0`.
 *   npm run build && node dist/bench/end-to-end.js [--runs 5] [--flights-sample 0.01] [--flights-full]
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { numberArg } from './support/bench-stack';
import { startDev } from './support/dev-process';
import { median } from './stats';

const run = promisify(execFile);
const CLI = path.join(__dirname, '..', 'cli', 'main.js');
const EXAMPLES = path.join(__dirname, '..', 'examples');

const RunJsonSchema = z.object({
  status: z.string(),
  error: z.string().optional(),
  nodes: z.record(z.string(), z.object({ status: z.string(), durationMs: z.number().nullable() })),
});
type RunJson = z.infer<typeof RunJsonSchema>;

async function mlpipeRun(home: string, example: string, params: string[]): Promise<{ ms: number; result: RunJson }> {
  const started = performance.now();
  const { stdout } = await run(process.execPath, [CLI, 'run', path.join(EXAMPLES, example, 'pipeline.js'), ...params.flatMap((p) => ['--param', p]), '--json'], {
    env: { ...process.env, MLPIPE_HOME: home },
    maxBuffer: 64 * 1024 * 1024,
  });
  const ms = Math.round(performance.now() - started);
  const result = RunJsonSchema.parse(JSON.parse(stdout));
  if (result.status !== 'succeeded') throw new Error(`${example} run ${result.status}: ${result.error ?? stdout}`);
  return { ms, result };
}

const perNode = (r: RunJson) =>
  Object.entries(r.nodes)
    .map(([id, n]) => `${id} ${n.durationMs === null ? '-' : n.durationMs < 1000 ? `${n.durationMs} ms` : `${(n.durationMs / 1000).toFixed(1)} s`}`)
    .join(', ');

/** A cold run and `runs` identical re-runs (each must be all cache hits) on a fresh MLPIPE_HOME, with or without `mlpipe dev`. */
async function coldAndCached(example: string, params: string[], runs: number, viaDev: boolean): Promise<{ cold: { ms: number; result: RunJson }; cached: number }> {
  const home = mkdtempSync(path.join(os.tmpdir(), `mlpipe-bench-e2e-${example}-`));
  const stopDev = viaDev ? await startDev(home) : null;
  try {
    const cold = await mlpipeRun(home, example, params);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const { ms, result } = await mlpipeRun(home, example, params);
      const ran = Object.entries(result.nodes).filter(([, n]) => n.status !== 'cached');
      if (ran.length > 0) throw new Error(`re-run ${i + 1} of ${example} ran ${ran.map(([id]) => id).join(', ')}`);
      times.push(ms);
    }
    return { cold, cached: median(times) };
  } finally {
    await stopDev?.();
    rmSync(home, { recursive: true, force: true });
  }
}

function print(label: string, m: { cold: { ms: number; result: RunJson }; cached: number }, runs: number, targets?: { cold: number; cached: number }): void {
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  console.log(`${label}:`);
  console.log(`  cold, fresh state:          ${s(m.cold.ms)}${targets ? `  (target ≤ ${s(targets.cold)}: ${(m.cold.ms / targets.cold).toFixed(2)}× it)` : ''}`);
  console.log(`    per node: ${perNode(m.cold.result)}`);
  console.log(
    `  identical re-run, median of ${runs}: ${s(m.cached)}  (${((m.cached / m.cold.ms) * 100).toFixed(1)}% of the cold run${targets ? `; target ≤ ${s(targets.cached)}: ${(m.cached / targets.cached).toFixed(2)}× it` : ''})`,
  );
}

(async () => {
  const runs = numberArg('runs', 5);
  const sample = numberArg('flights-sample', 0.01);
  const bareNode = median(await Promise.all([0, 1, 2].map(async () => {
    const started = performance.now();
    await run(process.execPath, ['-e', '0']);
    return performance.now() - started;
  })));
  console.log(`load average at start: ${os.loadavg()[0]!.toFixed(2)}; bare \`node -e 0\`: ${Math.round(bareNode)} ms`);
  print('penguins, whole `mlpipe run` against a running `mlpipe dev`', await coldAndCached('penguins', [], runs, true), runs, { cold: 15_000, cached: 1500 });
  print('penguins, whole `mlpipe run` starting the embedded stack itself', await coldAndCached('penguins', [], runs, false), runs);
  print(`flights, ${sample * 100}% sample (CI size), through \`mlpipe dev\``, await coldAndCached('flights', [`sample=${sample}`], Math.min(runs, 2), true), Math.min(runs, 2));
  if (process.argv.includes('--flights-full')) {
    print('flights, all 3 M rows (5 epochs), through `mlpipe dev`', await coldAndCached('flights', [], 1, true), 1);
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
