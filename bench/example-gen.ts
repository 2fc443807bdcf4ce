import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { withDuckDb } from '../components/data/duckdb-session';
import { sqlString } from '../components/data/sql';
import { ExampleGen } from '../components/example-gen/spec';
import { runExecutorForTest } from '../test/support/executor-harness';
import { vegaFile } from '../test/components/vega-data';

/**
 * ExampleGen throughput on flights-3m.parquet (3M rows, 5 columns), against the plainest DuckDB
 * Parquet-to-Parquet copy of the same file in the same process: the ratio is what the hash split
 * (canonical key, sha256, bucket arithmetic, one file per split) costs on top of reading and writing.
 * Each side runs twice, interleaved, and the faster run counts (the machine is shared).
 *
 *   node dist/bench/example-gen.js
 */

const INPUT = vegaFile('flights-3m.parquet');
const RUNS = 2;

export interface ExampleGenFigures {
  rows: number;
  exampleGenSeconds: number;
  baselineSeconds: number;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

async function baselineCopy(scratch: string): Promise<void> {
  await withDuckDb({ tmpDir: scratch, signal: new AbortController().signal }, (db) =>
    db.query(`COPY (SELECT * FROM read_parquet(${sqlString(INPUT)})) TO ${sqlString(path.join(scratch, 'copy.parquet'))} (FORMAT parquet)`),
  );
}

export async function benchExampleGen(): Promise<ExampleGenFigures> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'mlpipe-bench-example-gen-'));
  try {
    let rows = 0;
    const gen: number[] = [];
    const base: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      base.push(await timed(() => baselineCopy(scratch)));
      gen.push(
        await timed(async () => {
          const run = await runExecutorForTest(ExampleGen, { parameters: { input: INPUT } });
          rows = Number(run.result.properties?.examples?.num_examples);
          await rm(run.outputDirs.examples!, { recursive: true, force: true });
        }),
      );
    }
    return { rows, exampleGenSeconds: Math.min(...gen), baselineSeconds: Math.min(...base) };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { rows, exampleGenSeconds, baselineSeconds } = await benchExampleGen();
  const rate = (s: number) => `${(rows / s / 1e6).toFixed(2)} M rows/s`;
  process.stdout.write(
    `ExampleGen, flights-3m.parquet (${rows} rows, train:eval 2:1 hash split): ${exampleGenSeconds.toFixed(2)} s, ${rate(exampleGenSeconds)}\n` +
      `baseline, DuckDB Parquet copy of the same file without a split:        ${baselineSeconds.toFixed(2)} s, ${rate(baselineSeconds)}\n` +
      `ratio ExampleGen / baseline: ${(exampleGenSeconds / baselineSeconds).toFixed(1)}x (on ${os.cpus().length} cores)\n`,
  );
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
