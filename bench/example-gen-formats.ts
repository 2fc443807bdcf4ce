import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ExampleGen } from '../components/example-gen/spec';
import { runExecutorForTest } from '../test/support/executor-harness';
import { formatsNamed, writeFlightsSample } from './support/flights-formats';

/**
 * ExampleGen rows/s per input format on the same data: the first ROWS rows of flights-3m, written by
 * this script in each format, beside ExampleGen on the same rows as Parquet (the baseline, measured in
 * the same run). Each input runs twice and the faster run counts (the machine is shared).
 *
 *   node dist/bench/example-gen-formats.js [format ...]
 *
 * Naming formats (any part of a name below, case-insensitive, e.g. `tfrecord`) runs only those,
 * beside the baseline.
 */

const ROWS = 1_000_000;
const RUNS = 2;

async function rowsPerSecond(input: string): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < RUNS; i++) {
    const started = process.hrtime.bigint();
    const run = await runExecutorForTest(ExampleGen, { parameters: { input } });
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e9);
    await rm(run.outputDirs.examples!, { recursive: true, force: true });
  }
  return ROWS / best;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mlpipe-bench-formats-'));
  try {
    const sample = await writeFlightsSample(dir, ROWS);
    const baseline = await rowsPerSecond(sample);
    console.log(`ExampleGen on ${ROWS} flights rows, Parquet (baseline): ${(baseline / 1e6).toFixed(3)} M rows/s`);
    for (const format of formatsNamed(process.argv.slice(2))) {
      const rate = await rowsPerSecond(await format.write(dir, sample, 1));
      console.log(`ExampleGen on ${ROWS} flights rows, ${format.name}: ${(rate / 1e6).toFixed(3)} M rows/s (${(baseline / rate).toFixed(1)}x slower than Parquet)`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
