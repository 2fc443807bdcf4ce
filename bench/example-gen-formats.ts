import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { withDuckDb } from '../components/data/duckdb-session';
import { sqlString } from '../components/data/sql';
import { ExampleGen } from '../components/example-gen/spec';
import { runExecutorForTest } from '../test/support/executor-harness';
import { writeTfRecords, type TestExample } from '../test/support/tfrecord-writer';
import { duckQuery } from '../test/components/parquet-rows';
import { vegaFile } from '../test/components/vega-data';

/**
 * ExampleGen rows/s per input format on the same data: the first ROWS rows of flights-3m, written by
 * this script in each format, beside ExampleGen on the same rows as Parquet (the baseline, measured in
 * the same run). Each input runs twice and the faster run counts (the machine is shared).
 *
 *   node dist/bench/example-gen-formats.js
 */

const ROWS = 200_000;
const RUNS = 2;

interface FormatInput {
  name: string;
  /** Writes the sample in this format under `dir` and returns the file. */
  write(dir: string, sampleParquet: string): Promise<string>;
}

const FORMATS: FormatInput[] = [
  {
    name: 'TFRecord (tf.Example)',
    write: async (dir, sample) => {
      const rows = await duckQuery(`SELECT CAST(date AS VARCHAR) AS date, delay, distance, origin, destination FROM read_parquet(${sqlString(sample)})`);
      const examples: TestExample[] = rows.map((r) => ({
        date: { bytes: [String(r.date)] },
        delay: { int64: [r.delay as bigint] },
        distance: { int64: [r.distance as bigint] },
        origin: { bytes: [String(r.origin)] },
        destination: { bytes: [String(r.destination)] },
      }));
      return writeTfRecords(path.join(dir, 'flights.tfrecord'), examples);
    },
  },
];

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
    const sample = path.join(dir, 'flights.parquet');
    await withDuckDb({ tmpDir: dir, signal: new AbortController().signal }, (db) =>
      db.query(`COPY (SELECT * FROM read_parquet(${sqlString(vegaFile('flights-3m.parquet'))}) LIMIT ${ROWS}) TO ${sqlString(sample)} (FORMAT parquet)`),
    );
    const baseline = await rowsPerSecond(sample);
    console.log(`ExampleGen on ${ROWS} flights rows, Parquet (baseline): ${(baseline / 1e6).toFixed(3)} M rows/s`);
    for (const format of FORMATS) {
      const rate = await rowsPerSecond(await format.write(dir, sample));
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
