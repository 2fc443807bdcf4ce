import os from 'node:os';
import { computeAnalyzers, collectAnalyzers } from '../components/transform/analyzers';
import { withDuckDb } from '../components/data/duckdb-session';
import { sqlString } from '../components/data/sql';
import { bucketize, fillMissing, log1p, scaleTo01, scaleToZScore, transform, vocabulary, clip } from '../components/transform/dsl';
import { vegaFile } from '../test/components/vega-data';

/**
 * Transform's analyzer pass over flights-3m.parquet (3 M rows), beside one DuckDB scan of the same
 * columns in the same run: the analyzers of a realistic transform (mean and variance, min and max,
 * median, decile boundaries, two vocabularies, and a z-score of a mean-filled feature, which needs a
 * second scan for the mean it fills with). Each timing is the faster of two runs (the machine is shared).
 *
 *   node dist/bench/transform-analyzers.js
 */
const RUNS = 2;
const KINDS = { date: 'timestamp', delay: 'number', distance: 'number', origin: 'string', destination: 'string' } as const;

async function best(fn: () => Promise<unknown>): Promise<number> {
  let fastest = Infinity;
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint();
    await fn();
    fastest = Math.min(fastest, Number(process.hrtime.bigint() - start) / 1e9);
  }
  return fastest;
}

async function main(): Promise<void> {
  const file = vegaFile('flights-3m.parquet');
  const ir = transform(
    ({ f }) => ({
      delayZ: scaleToZScore(f.delay),
      distance01: scaleTo01(f.distance),
      distanceBucket: bucketize(f.distance, 10),
      delayFilled: fillMissing(f.delay, 'median'),
      delayLog: log1p(clip(f.delay, { min: 0 })),
      delayMeanFilled: scaleToZScore(fillMissing(f.delay, 'mean')),
      originId: vocabulary(f.origin, { topK: 50, numOovBuckets: 1 }).ids(),
      destinationOneHot: vocabulary(f.destination, { frequencyThreshold: 100 }).oneHot(),
    }),
    KINDS,
  );
  const tmpDir = os.tmpdir();
  const signal = new AbortController().signal;
  let values: Awaited<ReturnType<typeof computeAnalyzers>> = {};
  const analyzers = await best(() =>
    withDuckDb({ tmpDir, signal }, async (db) => {
      values = await computeAnalyzers(db, ir, [file]);
    }),
  );
  const scanSql = `SELECT count(delay), sum(delay), count(distance), sum(distance), count(origin), count(destination) FROM read_parquet([${sqlString(file)}])`;
  const scan = (threads?: number) =>
    best(() =>
      withDuckDb({ tmpDir, signal }, async (db) => {
        if (threads !== undefined) await db.query(`SET threads = ${threads}`);
        return db.query(scanSql);
      }),
    );
  const scanAllThreads = await scan();
  const scanOneThread = await scan(1);
  // Each output's analyzers on their own, as a transform without shared scans would run them.
  const separate = await best(() =>
    withDuckDb({ tmpDir, signal }, async (db) => {
      for (const output of ir.outputs) await computeAnalyzers(db, { version: 1, outputs: [output] }, [file]);
    }),
  );
  const uses = collectAnalyzers(ir);
  const described = uses.map((u) => {
    const v = values[u.key];
    return `  ${u.node.analyzer} for ${u.outputs.join(', ')}: ${Array.isArray(v) ? `${v.length} values` : String(v)}`;
  });
  process.stdout.write(
    `flights-3m.parquet (3,000,000 rows), ${uses.length} distinct analyzers in 2 scans (one nested: the z-score of a mean-filled delay), on one DuckDB thread as the executor runs them:\n` +
      `${described.join('\n')}\n` +
      `analyzer pass:                        ${analyzers.toFixed(2)} s\n` +
      `each output's analyzers on their own: ${separate.toFixed(2)} s (${(separate / analyzers).toFixed(1)}x the shared pass)\n` +
      `one DuckDB scan of the same columns:  ${scanOneThread.toFixed(2)} s on one thread (${(analyzers / scanOneThread).toFixed(1)}x), ${scanAllThreads.toFixed(2)} s on all ${os.availableParallelism()} (${(analyzers / scanAllThreads).toFixed(1)}x)\n`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
