import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ComponentError, defineExecutor, UserInputError } from '../../dsl/executor';
import { withDuckDb, type DuckDbSession } from '../data/duckdb-session';
import { monotonicProgress } from '../data/progress';
import { sqlIdentifier, sqlString } from '../data/sql';
import { assignSplitsSql, featureKeySql, recordKeySql, RESERVED_COLUMNS, SPLIT_INDEX_COLUMN } from './hash-split';
import { splitDataFileName, splitDirName, splitNamesProperty } from '../data/examples-layout';
import { asReadError, checkCsvRejects, loadJsReadInput, noRowsError, sourceOf, type Source } from './source';
import { loadWithTfxSplit } from './tfx-split';
import { ExampleGen } from './spec';
import { spanProperties } from './input-patterns';
import { localInputFiles } from './s3-input';

const ROWS_TABLE = '__mlpipe_rows';
/** Share of the progress bar for reading and hashing; writing the splits takes the rest. */
const READ_SHARE = 0.8;

async function keySql(db: DuckDbSession, source: Source, partitionFeature: string | undefined): Promise<string> {
  const columns = await db.columns(source.relationSql).catch(async (err: unknown) => {
    throw await asReadError(db, err, source);
  });
  const reserved = columns.find((c) => RESERVED_COLUMNS.includes(c.name));
  if (reserved) throw new UserInputError(`input column "${reserved.name}" uses a name reserved by ExampleGen; rename it`);
  if (partitionFeature === undefined) return recordKeySql(columns);
  const feature = columns.find((c) => c.name === partitionFeature);
  if (!feature) {
    throw new UserInputError(
      `partitionFeature "${partitionFeature}" is not a column of ${source.input}; its columns are: ${columns.map((c) => `"${c.name}"`).join(', ')}`,
    );
  }
  return featureKeySql(feature);
}

async function splitRowCounts(db: DuckDbSession, splitCount: number): Promise<number[]> {
  const reader = await db.query(`SELECT ${sqlIdentifier(SPLIT_INDEX_COLUMN)} AS i, count(*) AS n FROM ${ROWS_TABLE} GROUP BY ALL`);
  const counts = new Array<number>(splitCount).fill(0);
  for (const row of reader.getRowObjectsJS()) counts[Number(row.i)] = Number(row.n);
  return counts;
}

/** ExampleGen: the resolved input files → Parquet per split (`Split-<name>/data-00000.parquet`). */
export const executor = defineExecutor(ExampleGen, async (ctx) => {
  const { parameters: params, signal } = ctx;
  const progress = monotonicProgress(ctx.progress);
  const outDir = ctx.outputDirs.examples;
  const input = ctx.resolved.files.input;
  if (!input) throw new ComponentError('ExampleGen ran without its resolved input files');
  const local = await localInputFiles(input, {
    sources: ctx.s3Sources,
    sourceName: params.s3Source,
    dir: path.join(ctx.tmpDir, 's3-input'),
    signal,
    progress,
  });
  const source = sourceOf(params, local);

  return withDuckDb({ tmpDir: ctx.tmpDir, signal }, async (db) => {
    progress({ fraction: 0, message: `reading ${source.files.length} ${source.format} file(s)` });
    if (params.tfxCompatibleSplit) {
      // TFX's own key and sha256, hashed in JavaScript (tfx-split.ts); the row count is unknown until read.
      await loadWithTfxSplit(db, source, params, {
        table: ROWS_TABLE,
        signal,
        onProgress: (p) => progress({ fraction: 0, message: p.message, counters: { rowsRead: p.rows } }),
      });
    } else {
      await loadJsReadInput(db, source, {
        signal,
        onProgress: (p) => progress({ fraction: 0, message: `reading ${p.file}`, counters: { rowsRead: p.rows } }),
      });
      const key = await keySql(db, source, params.partitionFeature);

      // Materialised once so the input is read and hashed once; insertion order is kept, which makes the
      // written files byte-identical from run to run.
      await db
        .query(`CREATE TEMP TABLE ${ROWS_TABLE} AS ${assignSplitsSql(source.relationSql, key, params.splits)}`, (p) =>
          progress({ fraction: p.fraction * READ_SHARE, message: 'reading and hashing rows', counters: { rowsRead: p.rowsProcessed } }),
        )
        .catch(async (err: unknown) => {
          throw await asReadError(db, err, source);
        });
      await checkCsvRejects(db, source);
    }

    const counts = await splitRowCounts(db, params.splits.length);
    const total = counts.reduce((a, b) => a + b, 0);
    if (total === 0) throw noRowsError(source);

    let written = 0;
    for (const [i, split] of params.splits.entries()) {
      const dir = path.join(outDir, splitDirName(split.name));
      await mkdir(dir, { recursive: true });
      const select = `SELECT * EXCLUDE (${sqlIdentifier(SPLIT_INDEX_COLUMN)}) FROM ${ROWS_TABLE} WHERE ${sqlIdentifier(SPLIT_INDEX_COLUMN)} = ${i}`;
      await db.query(`COPY (${select}) TO ${sqlString(path.join(dir, splitDataFileName(0)))} (FORMAT parquet)`);
      written += counts[i]!;
      progress({
        fraction: READ_SHARE + ((1 - READ_SHARE) * written) / total,
        message: `wrote split ${split.name}`,
        counters: { rowsRead: total, rowsWritten: written },
      });
    }

    const perSplit = Object.fromEntries(params.splits.map((s, i) => [s.name, counts[i]!]));
    return {
      properties: {
        examples: {
          split_names: splitNamesProperty(params.splits.map((s) => s.name)),
          ...spanProperties(input),
          num_examples: total,
          ...Object.fromEntries(params.splits.map((s, i) => [`num_examples_${s.name}`, counts[i]!])),
          input_format: source.format,
        },
      },
      summary: { rows: total, splits: perSplit, format: source.format, files: source.files.length },
    };
  });
});
