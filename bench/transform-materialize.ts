import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { withDuckDb } from '../components/data/duckdb-session';
import { sqlString } from '../components/data/sql';
import { materializeSplit } from '../components/transform/materialize';
import { GraphSignatureSchema } from '../components/transform/signature';
import { flightsAnalyzers, flightsGraph } from '../test/components/transform-graphs';
import { vegaFile } from '../test/components/vega-data';
import { childArgs, gib, measureInChild, reportFromChild, type ChildReport } from './support/child-rss';

/**
 * Transform materialisation of flights-3m.parquet (3 M rows) as one split, Parquet in to Parquet out,
 * with the flights transform graph (test/components/transform-graphs.ts: two z-scores, vocabularies of
 * origin and destination with top 50 + 1 OOV bucket, month, day of week, hour, distance deciles), once
 * with vocabulary ids and once with one-hot vectors (2 × FLOAT[51]); beside it, in the same run, DuckDB
 * reading and writing the same file with no transform (`COPY (SELECT * FROM read_parquet(..)) TO ..`).
 * Each runs in a child process of its own (its peak RSS is its alone), twice, interleaved; the faster
 * run counts (the machine is shared).
 *
 *   node dist/bench/transform-materialize.js [threads]
 */

const INPUT = vegaFile('flights-3m.parquet');
const RUNS = 2;
const RATE_TARGET = 1e6;
const signal = new AbortController().signal;

type Mode = 'copy' | 'ids' | 'one-hot';

async function child(mode: Mode, scratch: string, threads: string | undefined): Promise<void> {
  const out = path.join(scratch, `out-${mode}`);
  await rm(out, { recursive: true, force: true });
  if (mode === 'copy') {
    return reportFromChild(() =>
      withDuckDb({ tmpDir: scratch, signal }, async (db) => {
        await db.query(`COPY (SELECT * FROM read_parquet(${sqlString(INPUT)})) TO ${sqlString(`${out}.parquet`)} (FORMAT parquet)`);
        const [row] = (await db.query(`SELECT count(*)::DOUBLE AS n FROM read_parquet(${sqlString(`${out}.parquet`)})`)).getRowObjectsJS();
        return Number(row!.n);
      }),
    );
  }
  const model = await readFile(path.join(scratch, `${mode}.onnx`));
  const signature = GraphSignatureSchema.parse(JSON.parse(await readFile(path.join(scratch, `${mode}.json`), 'utf8')));
  return reportFromChild(async () => {
    const result = await materializeSplit({
      model: new Uint8Array(model),
      signature,
      inputFiles: [INPUT],
      outDir: out,
      tmpDir: scratch,
      signal,
      ...(threads ? { threads: Number(threads) } : {}),
    });
    return result.rows;
  });
}

async function main(): Promise<void> {
  const threads = process.argv[2];
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'mlpipe-bench-transform-'));
  try {
    const analyzers = await flightsAnalyzers(`read_parquet(${sqlString(INPUT)})`);
    for (const encoding of ['ids', 'one-hot'] as const) {
      const graph = flightsGraph(analyzers, encoding);
      await writeFile(path.join(scratch, `${encoding}.onnx`), graph.model);
      await writeFile(path.join(scratch, `${encoding}.json`), JSON.stringify(graph.signature));
    }
    const best: Partial<Record<Mode, ChildReport>> = {};
    for (let i = 0; i < RUNS; i++) {
      for (const mode of ['copy', 'ids', 'one-hot'] as const) {
        const report = await measureInChild(__filename, [mode, scratch, ...(threads ? [threads] : [])]);
        if (!best[mode] || report.seconds < best[mode].seconds) best[mode] = report;
      }
    }
    const { copy, ids, 'one-hot': oneHot } = best as Record<Mode, ChildReport>;
    const rate = (r: ChildReport) => r.rows / r.seconds;
    const line = (label: string, r: ChildReport) => `${label}${r.seconds.toFixed(2)} s, ${(rate(r) / 1e6).toFixed(2)} M rows/s, peak RSS ${gib(r.maxRssBytes)}\n`;
    const met = (ok: boolean) => (ok ? 'met' : 'MISSED');
    process.stdout.write(
      line(`Transform materialisation, flights-3m.parquet (${ids.rows} rows), vocabulary ids:  `, ids) +
        line('Transform materialisation, same rows, one-hot (2 x FLOAT[51]):            ', oneHot) +
        line('DuckDB COPY (SELECT * FROM read_parquet(..)) TO parquet, no transform:      ', copy) +
        `ratios: ids ${(ids.seconds / copy.seconds).toFixed(2)}x the DuckDB copy, one-hot ${(oneHot.seconds / copy.seconds).toFixed(2)}x ` +
        `(${threads ?? os.availableParallelism()} materialisation threads, ${os.cpus().length} cores)\n` +
        `target ${RATE_TARGET / 1e6} M rows/s (ids): ${met(rate(ids) >= RATE_TARGET)}\n`,
    );
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const [mode, scratch, threads] = childArgs() ?? [];
  const run = mode && scratch ? child(mode as Mode, scratch, threads) : main();
  run.catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
