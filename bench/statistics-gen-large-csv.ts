import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ExampleGen } from '../components/example-gen/spec';
import { StatisticsGen } from '../components/statistics-gen/spec';
import { runExecutorForTest } from '../test/support/executor-harness';
import { writeLargeCsv } from './example-gen-large-csv';
import { childArgs, gib, measureInChild, reportFromChild, timed } from './support/child-rss';

/**
 * StatisticsGen (full set) on the Examples of the ~30 M-row CSV of the ExampleGen large-CSV bench:
 * ExampleGen ingests it (train:eval 2:1), then StatisticsGen runs in a child process of its own, so
 * its peak RSS is its alone, against the 1 GB target; the 3 M-row run of bench/statistics-gen.ts is
 * the rate to compare with (memory must not grow with the rows).
 *
 *   node dist/bench/statistics-gen-large-csv.js
 */

const RSS_TARGET_BYTES = 1024 ** 3;

function child(examples: string): Promise<void> {
  return reportFromChild(async () => {
    const run = await runExecutorForTest(StatisticsGen, { inputs: { examples: [examples] } });
    return Number(run.progress.at(-1)?.counters?.rowsRead);
  });
}

async function main(): Promise<void> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'mlpipe-bench-statistics-large-csv-'));
  try {
    const csv = path.join(scratch, 'flights-30m.csv');
    await writeLargeCsv(csv, scratch);
    const ingest = await timed(() => runExecutorForTest(ExampleGen, { parameters: { input: csv } }));
    await rm(csv);
    const examples = ingest.value.outputDirs.examples!;
    process.stdout.write(`ExampleGen: ${ingest.value.result.properties?.examples?.num_examples} rows ingested in ${ingest.seconds.toFixed(1)} s\n`);
    const stats = await measureInChild(__filename, [examples]);
    const verdict = stats.maxRssBytes <= RSS_TARGET_BYTES ? 'met' : 'MISSED';
    process.stdout.write(
      `StatisticsGen (full set), ${stats.rows} rows in 2 splits, 5 features: ${stats.seconds.toFixed(1)} s, ` +
        `${(stats.rows / stats.seconds / 1e6).toFixed(2)} M rows/s, peak RSS ${gib(stats.maxRssBytes)} (target ${gib(RSS_TARGET_BYTES)}: ${verdict}; on ${os.cpus().length} cores)\n`,
    );
    await rm(examples, { recursive: true, force: true });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const [examples] = childArgs() ?? [];
  const run = examples ? child(examples) : main();
  run.catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
