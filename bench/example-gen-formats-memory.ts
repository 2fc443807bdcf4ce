import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { withDuckDb } from '../components/data/duckdb-session';
import { ExampleGen } from '../components/example-gen/spec';
import { runExecutorForTest } from '../test/support/executor-harness';
import { numberArg } from './support/bench-stack';
import { childArgs, measureInChild, reportFromChild, type ChildReport } from './support/child-rss';
import { formatsNamed, writeFlightsSample } from './support/flights-formats';

/**
 * ExampleGen's peak RSS per streamed input format, on an input of ROWS flights rows and on one COPIES
 * times larger (the same rows written over again into one file): if a reader held a whole file, or
 * kept its batches, the larger input's peak would grow with it. Each run is a child process of its own
 * (its `maxRSS`, as bench/example-gen-large-csv.ts measures it); the baseline, in the same run, is a
 * child that only loads ExampleGen's modules and opens DuckDB, the floor every run starts from.
 *
 *   node dist/bench/example-gen-formats-memory.js [--rows 1000000] [--copies 4] [format ...]
 *
 * Naming formats (any part of a name, case-insensitive, e.g. `arrow`) runs only those.
 */

const ROWS = numberArg('rows', 1_000_000);
const COPIES = numberArg('copies', 4);

/** In the child: ExampleGen on `input` (or, for the floor, DuckDB opened and nothing read). */
function child(input: string): Promise<void> {
  return reportFromChild(async () => {
    if (input === 'floor') {
      const scratch = await mkdtemp(path.join(os.tmpdir(), 'mlpipe-bench-floor-'));
      await withDuckDb({ tmpDir: scratch, signal: new AbortController().signal }, (db) => db.query('SELECT 1'));
      await rm(scratch, { recursive: true, force: true });
      return 0;
    }
    const run = await runExecutorForTest(ExampleGen, { parameters: { input } });
    await rm(run.outputDirs.examples!, { recursive: true, force: true });
    return Number(run.result.properties?.examples?.num_examples);
  });
}

const mib = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(0)} MiB`;

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mlpipe-bench-formats-memory-'));
  // Format names are the arguments that are neither an option nor its value.
  const formats = formatsNamed(process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--')));
  try {
    const floor = await measureInChild(__filename, ['floor']);
    console.log(`baseline: a process with ExampleGen's modules and DuckDB open, nothing read: peak RSS ${mib(floor.maxRssBytes)}`);
    const sample = await writeFlightsSample(dir, ROWS);
    for (const format of formats) {
      const runs: Array<{ report: ChildReport; bytes: number }> = [];
      for (const copies of [1, COPIES]) {
        const input = await format.write(dir, sample, copies);
        const bytes = (await stat(input)).size;
        const report = await measureInChild(__filename, [input]);
        if (report.rows !== ROWS * copies) throw new Error(`${format.name}: ExampleGen wrote ${report.rows} rows of ${ROWS * copies}`);
        runs.push({ report, bytes });
        await rm(input);
      }
      const [small, large] = runs as [(typeof runs)[0], (typeof runs)[0]];
      const line = (r: (typeof runs)[0]) =>
        `${r.report.rows} rows (${mib(r.bytes)} file): peak RSS ${mib(r.report.maxRssBytes)} (${mib(r.report.maxRssBytes - floor.maxRssBytes)} over the baseline), ${(r.report.rows / r.report.seconds / 1e6).toFixed(2)} M rows/s`;
      console.log(
        `${format.name}:\n  ${line(small)}\n  ${line(large)}\n` +
          `  ratio larger / smaller: input ${(large.bytes / small.bytes).toFixed(1)}x, peak RSS ${(large.report.maxRssBytes / small.report.maxRssBytes).toFixed(2)}x ` +
          `(over the baseline ${((large.report.maxRssBytes - floor.maxRssBytes) / Math.max(small.report.maxRssBytes - floor.maxRssBytes, 1)).toFixed(2)}x)`,
      );
    }
    console.log(`(on ${os.cpus().length} cores)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const [input] = childArgs() ?? [];
  (input ? child(input) : main()).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
