import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { withDuckDb } from '../components/data/duckdb-session';
import { sqlString } from '../components/data/sql';
import { ExampleGen } from '../components/example-gen/spec';
import { runExecutorForTest } from '../test/support/executor-harness';
import { vegaFile } from '../test/components/vega-data';

/**
 * ExampleGen throughput on flights-3m.parquet (3M rows, 5 columns), against the plainest DuckDB
 * Parquet-to-Parquet copy of the same file in the same process: the ratio is what the default hash split
 * (canonical key, md5, bucket arithmetic, a staged file, one file per split) costs on top of reading and
 * writing. Each side runs twice, interleaved, and the faster run counts (the machine is shared); the two
 * ExampleGen runs' files are compared byte for byte. Then what each split key costs, on a CSV of the
 * file's first 300,000 rows: the default key against `tfxCompatibleSplit` (TFX's key and sha256).
 *
 *   node dist/bench/example-gen.js
 */

const INPUT = vegaFile('flights-3m.parquet');
const RUNS = 2;

export interface ExampleGenFigures {
  rows: number;
  exampleGenSeconds: number;
  baselineSeconds: number;
  /** Whether the runs wrote the same bytes. */
  identicalRuns: boolean;
}

const KEY_COMPARISON_ROWS = 300_000;

async function splitDigests(examplesDir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const split of (await readdir(examplesDir)).filter((d) => d.startsWith('Split-')).sort()) {
    hash.update(await readFile(path.join(examplesDir, split, 'data-00000.parquet')));
  }
  return hash.digest('hex');
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
    const digests = new Set<string>();
    for (let i = 0; i < RUNS; i++) {
      base.push(await timed(() => baselineCopy(scratch)));
      let examplesDir = '';
      gen.push(
        await timed(async () => {
          const run = await runExecutorForTest(ExampleGen, { parameters: { input: INPUT } });
          rows = Number(run.result.properties?.examples?.num_examples);
          examplesDir = run.outputDirs.examples!;
        }),
      );
      digests.add(await splitDigests(examplesDir));
      await rm(examplesDir, { recursive: true, force: true });
    }
    return { rows, exampleGenSeconds: Math.min(...gen), baselineSeconds: Math.min(...base), identicalRuns: digests.size === 1 };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Seconds of one ExampleGen run on `input` with the default key and with TFX's. */
async function benchKeys(): Promise<{ defaultSeconds: number; tfxSeconds: number }> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'mlpipe-bench-example-gen-keys-'));
  try {
    const input = path.join(scratch, 'flights.csv');
    await withDuckDb({ tmpDir: scratch, signal: new AbortController().signal }, (db) =>
      db.query(`COPY (SELECT * FROM read_parquet(${sqlString(INPUT)}) LIMIT ${KEY_COMPARISON_ROWS}) TO ${sqlString(input)} (FORMAT csv, HEADER)`),
    );
    const run = (tfxCompatibleSplit: boolean) =>
      timed(async () => {
        const result = await runExecutorForTest(ExampleGen, { parameters: { input, tfxCompatibleSplit } });
        await rm(result.outputDirs.examples!, { recursive: true, force: true });
      });
    return { defaultSeconds: await run(false), tfxSeconds: await run(true) };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { rows, exampleGenSeconds, baselineSeconds, identicalRuns } = await benchExampleGen();
  const rate = (s: number, n = rows) => `${(n / s / 1e6).toFixed(2)} M rows/s`;
  process.stdout.write(
    `ExampleGen, flights-3m.parquet (${rows} rows, train:eval 2:1 hash split): ${exampleGenSeconds.toFixed(2)} s, ${rate(exampleGenSeconds)}\n` +
      `baseline, DuckDB Parquet copy of the same file without a split:        ${baselineSeconds.toFixed(2)} s, ${rate(baselineSeconds)}\n` +
      `ratio ExampleGen / baseline: ${(exampleGenSeconds / baselineSeconds).toFixed(1)}x (on ${os.cpus().length} cores); runs byte-identical: ${identicalRuns ? 'yes' : 'NO'}\n`,
  );
  const { defaultSeconds, tfxSeconds } = await benchKeys();
  process.stdout.write(
    `split keys, CSV of ${KEY_COMPARISON_ROWS} flights rows: default (md5 in DuckDB) ${defaultSeconds.toFixed(2)} s, ${rate(defaultSeconds, KEY_COMPARISON_ROWS)}; ` +
      `tfxCompatibleSplit (sha256 of tf.Example in JavaScript) ${tfxSeconds.toFixed(2)} s, ${rate(tfxSeconds, KEY_COMPARISON_ROWS)}; ratio ${(tfxSeconds / defaultSeconds).toFixed(1)}x\n`,
  );
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
