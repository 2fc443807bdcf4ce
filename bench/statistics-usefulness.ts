import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StatisticsGen } from '../components/statistics-gen/spec';
import { runExecutorForTest } from '../test/support/executor-harness';
import { vegaFile } from '../test/components/vega-data';

/**
 * What a `label` adds to StatisticsGen's time: usefulness (mutual information with the label in one
 * GROUPING SETS scan, correlations and one-to-one counts in another) on flights-3m.parquet (3 M rows,
 * 5 features) as one split, beside StatisticsGen without a label in the same process. Each runs RUNS
 * times, interleaved, and the fastest counts (the machine is shared); a first unmeasured run loads
 * the modules and warms the file cache.
 *
 *   node dist/bench/statistics-usefulness.js
 */

const INPUT = vegaFile('flights-3m.parquet');
const RUNS = 3;
const LABELS = [undefined, 'origin', 'delay'] as const;

async function seconds(examples: string, label: string | undefined): Promise<number> {
  const start = process.hrtime.bigint();
  await runExecutorForTest(StatisticsGen, { parameters: label === undefined ? {} : { label }, inputs: { examples: [examples] } });
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function main(): Promise<void> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'mlpipe-bench-usefulness-'));
  try {
    const examples = path.join(scratch, 'examples');
    await mkdir(path.join(examples, 'Split-all'), { recursive: true });
    await symlink(INPUT, path.join(examples, 'Split-all', 'data-00000.parquet'));
    await seconds(examples, 'origin');
    const best = new Map<string | undefined, number>();
    for (let i = 0; i < RUNS; i++) {
      for (const label of LABELS) best.set(label, Math.min(best.get(label) ?? Infinity, await seconds(examples, label)));
    }
    const plain = best.get(undefined)!;
    process.stdout.write(`StatisticsGen without a label, flights-3m.parquet (3 M rows, 5 features): ${plain.toFixed(2)} s\n`);
    for (const label of LABELS.filter((l) => l !== undefined)) {
      const withLabel = best.get(label)!;
      process.stdout.write(`with label ${label}: ${withLabel.toFixed(2)} s, usefulness adds ${(withLabel - plain).toFixed(2)} s (${(withLabel / plain).toFixed(2)}x)\n`);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
