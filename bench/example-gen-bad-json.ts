import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { withDuckDb } from '../components/data/duckdb-session';
import { sqlString } from '../components/data/sql';
import { scanJsonLines } from '../components/example-gen/json-lines-scan';
import { ExampleGen } from '../components/example-gen/spec';
import { runExecutorForTest } from '../test/support/executor-harness';
import { vegaFile } from '../test/components/vega-data';

/**
 * What maxBadRows costs on JSON lines: ExampleGen on a 1M-line file made from flights-3m, clean (the
 * baseline, no scan: DuckDB reads it at once) beside the same file with one bad line at its end (DuckDB
 * fails, the lines are scanned, the good ones read again), and the streaming scan alone.
 *
 *   node dist/bench/example-gen-bad-json.js
 */

const ROWS = 1_000_000;

async function timed<T>(what: () => Promise<T>): Promise<number> {
  const start = performance.now();
  await what();
  return (performance.now() - start) / 1000;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-bad-json-'));
  try {
    const clean = path.join(dir, 'clean.jsonl');
    const bad = path.join(dir, 'bad.jsonl');
    await withDuckDb({ tmpDir: dir, signal: new AbortController().signal }, async (db) => {
      const rows = `(SELECT * FROM read_parquet(${sqlString(vegaFile('flights-3m.parquet'))}) LIMIT ${ROWS})`;
      await db.query(`COPY ${rows} TO ${sqlString(clean)} (FORMAT json)`);
      await db.query(`COPY ${rows} TO ${sqlString(bad)} (FORMAT json)`);
    });
    await appendFile(bad, '{"date": 1, "delay":\n');
    const run = (input: string) => timed(() => runExecutorForTest(ExampleGen, { parameters: { input, maxBadRows: 10 } }));
    const baseline = await run(clean);
    const withBad = await run(bad);
    const scanOnly = await timed(() => scanJsonLines([clean], [path.join(dir, 'scan-out.jsonl')], new Map(), new AbortController().signal));
    console.log(`ExampleGen, ${ROWS} JSON lines, maxBadRows 10, no bad line: ${baseline.toFixed(2)} s (${Math.round(ROWS / baseline)} rows/s)`);
    console.log(`same with one bad line at the end: ${withBad.toFixed(2)} s, ${(withBad / baseline).toFixed(2)}x the clean file`);
    console.log(`the line scan alone: ${scanOnly.toFixed(2)} s, ${(scanOnly / baseline).toFixed(2)}x the clean file's ExampleGen`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

void main();
