import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { withDuckDb } from '../components/data/duckdb-session';
import { sqlString } from '../components/data/sql';
import { StatisticsGen } from '../components/statistics-gen/spec';
import { runExecutorForTest } from '../test/support/executor-harness';
import { vegaFile } from '../test/components/vega-data';

/**
 * StatisticsGen throughput on flights-3m.parquet (3M rows, 5 columns) as one split, against the
 * cheapest query that still reads every value once (max of each column) in the same process: the
 * ratio is what exact distinct counts, top values and moments cost on top of the scan. Each side runs
 * twice, interleaved, and the faster run counts (the machine is shared). A last line times DuckDB's
 * exact and HyperLogLog distinct counts of one column, which is why the statistics use exact counts.
 *
 *   node dist/bench/statistics-gen.js
 */

const INPUT = vegaFile('flights-3m.parquet');
const RUNS = 2;

export interface StatisticsGenFigures {
  rows: number;
  statisticsSeconds: number;
  scanSeconds: number;
  distinct: { exact: number; exactSeconds: number; approximate: number; approximateSeconds: number };
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const started = process.hrtime.bigint();
  const value = await fn();
  return [Number(process.hrtime.bigint() - started) / 1e9, value];
}

function query(scratch: string, sql: string): Promise<Record<string, unknown>> {
  return withDuckDb({ tmpDir: scratch, signal: new AbortController().signal }, async (db) => (await db.query(sql)).getRowObjectsJS()[0]!);
}

export async function benchStatisticsGen(): Promise<StatisticsGenFigures> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'mlpipe-bench-statistics-gen-'));
  try {
    // An Examples artifact with one split holding the whole file, without copying it.
    const examples = path.join(scratch, 'examples');
    await mkdir(path.join(examples, 'Split-all'), { recursive: true });
    await symlink(INPUT, path.join(examples, 'Split-all', 'data-00000.parquet'));
    const source = `read_parquet(${sqlString(INPUT)})`;

    let rows = 0;
    const stats: number[] = [];
    const scans: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      scans.push((await timed(() => query(scratch, `SELECT max(date), max(delay), max(distance), max(origin), max(destination) FROM ${source}`)))[0]);
      const [seconds, run] = await timed(() => runExecutorForTest(StatisticsGen, { inputs: { examples: [examples] } }));
      rows = Number(run.progress.at(-1)?.counters?.rowsRead);
      stats.push(seconds);
    }
    const [exactSeconds, exact] = await timed(() => query(scratch, `SELECT count(DISTINCT origin) AS n FROM ${source}`));
    const [approximateSeconds, approximate] = await timed(() => query(scratch, `SELECT approx_count_distinct(origin) AS n FROM ${source}`));
    return {
      rows,
      statisticsSeconds: Math.min(...stats),
      scanSeconds: Math.min(...scans),
      distinct: { exact: Number(exact.n), exactSeconds, approximate: Number(approximate.n), approximateSeconds },
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { rows, statisticsSeconds, scanSeconds, distinct } = await benchStatisticsGen();
  const rate = (s: number) => `${(rows / s / 1e6).toFixed(2)} M rows/s`;
  process.stdout.write(
    `StatisticsGen, flights-3m.parquet (${rows} rows, 5 features, one split): ${statisticsSeconds.toFixed(2)} s, ${rate(statisticsSeconds)}\n` +
      `baseline, one DuckDB scan reading every value (max per column):        ${scanSeconds.toFixed(2)} s, ${rate(scanSeconds)}\n` +
      `ratio StatisticsGen / baseline: ${(statisticsSeconds / scanSeconds).toFixed(1)}x (on ${os.cpus().length} cores)\n` +
      `distinct origins: exact ${distinct.exact} in ${(distinct.exactSeconds * 1000).toFixed(0)} ms, ` +
      `HyperLogLog ${distinct.approximate} in ${(distinct.approximateSeconds * 1000).toFixed(0)} ms ` +
      `(${((Math.abs(distinct.approximate - distinct.exact) / distinct.exact) * 100).toFixed(1)}% off)\n`,
  );
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
