import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { withDuckDb } from '../components/data/duckdb-session';
import { sqlString } from '../components/data/sql';
import { ExampleGen } from '../components/example-gen/spec';
import { runExecutorForTest } from '../test/support/executor-harness';
import { vegaFile } from '../test/components/vega-data';
import { childArgs, gib, measureInChild, reportFromChild, timed, type ChildReport } from './support/child-rss';

/**
 * ExampleGen on a CSV of about 30 M rows (flights-3m.parquet written ten times, made here in a temp
 * dir): rows/s, and the peak RSS of the process that ran it, against the 1 GB target. ExampleGen runs
 * in a child process of its own, so the peak is its alone (the parent wrote the CSV); the child reads
 * its own `process.resourceUsage().maxRSS` at the end. Beside it, in the same run, the plainest DuckDB
 * CSV-to-Parquet copy of the same file, timed in a child process too.
 *
 *   node dist/bench/example-gen-large-csv.js
 */

const COPIES = 10;
const RSS_TARGET_BYTES = 1024 ** 3;

const signal = new AbortController().signal;

/** The ~30 M-row CSV (flights-3m.parquet written ten times); the StatisticsGen large-CSV bench reads it too. */
export async function writeLargeCsv(file: string, scratch: string): Promise<void> {
  await withDuckDb({ tmpDir: scratch, signal }, (db) =>
    db.query(
      `COPY (SELECT f.* FROM range(${COPIES}) r, read_parquet(${sqlString(vegaFile('flights-3m.parquet'))}) f) TO ${sqlString(file)} (FORMAT csv, HEADER)`,
    ),
  );
}

/** In the child: one run, its figures as JSON on stdout. */
function child(mode: string, csv: string, scratch: string): Promise<void> {
  return reportFromChild(async () => {
    if (mode === 'baseline') {
      const reader = await withDuckDb({ tmpDir: scratch, signal }, (db) =>
        db.query(`COPY (SELECT * FROM read_csv(${sqlString(csv)})) TO ${sqlString(path.join(scratch, 'copy.parquet'))} (FORMAT parquet)`),
      );
      return Number(reader.getRowObjectsJS()[0]?.Count);
    }
    const run = await runExecutorForTest(ExampleGen, { parameters: { input: csv } });
    const count = Number(run.result.properties?.examples?.num_examples);
    await rm(run.outputDirs.examples!, { recursive: true, force: true });
    return count;
  });
}

const inChild = (mode: string, csv: string, scratch: string): Promise<ChildReport> => measureInChild(__filename, [mode, csv, scratch]);

async function main(): Promise<void> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'mlpipe-bench-large-csv-'));
  try {
    const csv = path.join(scratch, 'flights-30m.csv');
    const made = await timed(() => writeLargeCsv(csv, scratch));
    const size = (await stat(csv)).size;
    process.stdout.write(`wrote ${csv}: ${(size / 1e9).toFixed(2)} GB in ${made.seconds.toFixed(1)} s\n`);
    const base = await inChild('baseline', csv, scratch);
    const gen = await inChild('example-gen', csv, scratch);
    const rate = (r: ChildReport) => `${(r.rows / r.seconds / 1e6).toFixed(2)} M rows/s`;
    const verdict = gen.maxRssBytes <= RSS_TARGET_BYTES ? 'met' : 'MISSED';
    process.stdout.write(
      `ExampleGen, ${gen.rows} CSV rows (train:eval 2:1): ${gen.seconds.toFixed(1)} s, ${rate(gen)}, ` +
        `peak RSS ${gib(gen.maxRssBytes)} (target ${gib(RSS_TARGET_BYTES)}: ${verdict})\n` +
        `baseline, DuckDB CSV-to-Parquet copy of the same file:  ${base.seconds.toFixed(1)} s, ${rate(base)}, peak RSS ${gib(base.maxRssBytes)}\n` +
        `ratio ExampleGen / baseline: ${(gen.seconds / base.seconds).toFixed(1)}x (on ${os.cpus().length} cores)\n`,
    );
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const [mode, csv, scratch] = childArgs() ?? [];
  const run = mode && csv && scratch ? child(mode, csv, scratch) : main();
  run.catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
