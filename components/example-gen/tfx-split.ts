/**
 * The TFX-compatible split (`tfxCompatibleSplit: true`): the same train/eval assignment TFX 1.21's
 * ExampleGen makes of the same data, for teams whose evaluation numbers must stay comparable.
 *
 * bucket = sha256(key) read as a big-endian 256-bit integer, modulo the total hash buckets; the
 * cumulative bucket counts pick the split (as hash-split.ts). The key is what TFX hashes:
 *  - CSV (CsvExampleGen): the row's tf.Example, serialised deterministically (features sorted by name),
 *    after CsvExampleGen's type inference over the whole input (tfx-csv-example.ts);
 *  - TFRecord (ImportExampleGen, payload FORMAT_TF_EXAMPLE): the record parsed and re-serialised
 *    deterministically, not its raw bytes; with `{ payloadFormat: 'proto' }` (FORMAT_PROTO), the raw
 *    record bytes;
 *  - with `partitionFeature`: that feature's serialised tf.train.Feature (bytes_list or int64_list only).
 *
 * Unlike the default key, a CSV row's split here can depend on other rows: one cell that does not
 * parse as a number turns its whole column into bytes and changes every row's key. Bad CSV rows (those
 * the ordinary read rejects: a wrong field count, a value not parsing as its declared type) skipped
 * within `maxBadRows` are set apart before CsvExampleGen's type inference, which runs over the
 * remaining rows: the good rows split as TFX splits a file holding only them. The hashing runs in
 * JavaScript over rows streamed in batches, slower than the default split.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { INTEGER, type DuckDBValue } from '@duckdb/node-api';
import { UserInputError } from '../../dsl/executor';
import type { DuckDbSession } from '../data/duckdb-session';
import { sqlIdentifier, sqlString } from '../data/sql';
import { SPLIT_INDEX_COLUMN, splitBucketBounds, totalBuckets } from './hash-split';
import { loadRecords } from './formats/load-records';
import { serializeExample, serializeFeature, type Feature, type TfExample } from './formats/tf-example';
import { describeOffset } from './formats/tfrecord-frames';
import { openTfRecordSources, type TfRecordRead } from './formats/tfrecord';
import { asReadError, notAColumnOf, type Source } from './source';
import { checkBadRowBudget, csvBadRows, csvRejectedLines, type BadRows } from './bad-rows';
import { copyWithoutLines } from './text-lines';
import { csvCellFeature, widenColumnType, type CsvColumnType } from './tfx-csv-example';
import type { ExampleGenParameters, SplitConfig } from './spec';

type TfxSplitParameters = Pick<ExampleGenParameters, 'splits' | 'partitionFeature' | 'tfxCompatibleSplit' | 'csv' | 'maxBadRows'>;

function payloadFormat(params: TfxSplitParameters): 'tf_example' | 'proto' {
  return typeof params.tfxCompatibleSplit === 'object' ? params.tfxCompatibleSplit.payloadFormat : 'tf_example';
}

export interface TfxSplitProgress {
  rows: number;
  message: string;
}

export interface TfxSplitOptions {
  /** The table to create: the input's rows plus SPLIT_INDEX_COLUMN. */
  table: string;
  /** Where a CSV's good lines are copied when it has bad ones. */
  tmpDir: string;
  signal: AbortSignal;
  onProgress?: (progress: TfxSplitProgress) => void;
}

const CSV_CHUNK_ROWS = 50_000;

/** The split index TFX's `_PartitionFn` gives a key. */
export function tfxSplitIndex(key: Uint8Array, splits: readonly SplitConfig[]): number {
  const total = totalBuckets(splits);
  const digest = createHash('sha256').update(key).digest();
  // Horner over 32-bit words: r < total ≤ 10^6, so r * 2^32 + word stays below 2^53, exact in a double.
  let bucket = 0;
  for (let i = 0; i < 32; i += 4) bucket = (bucket * 2 ** 32 + digest.readUInt32BE(i)) % total;
  // bucket < total, the last bound: some split's bound is above it.
  return splitBucketBounds(splits).findIndex((upper) => bucket < upper);
}

/** TFX's `_GeneratePartitionKey` for a partition feature, with its checks as errors naming the row. */
function partitionKey(feature: Feature | undefined, name: string, where: () => string): Uint8Array {
  if (!feature) throw new UserInputError(`${where()}: partitionFeature "${name}" does not exist in this example (TFX requires it in every one)`);
  if (feature.kind === null) throw new UserInputError(`${where()}: partitionFeature "${name}" has no kind set, which TFX rejects`);
  if (feature.kind === 'float_list') {
    throw new UserInputError(`${where()}: partitionFeature "${name}" is a float_list; TFX partitions on bytes_list or int64_list features only`);
  }
  return serializeFeature(feature);
}

/**
 * Reads `source` into `options.table` with each row's TFX split index; CSV and TFRecord only (the
 * inputs TFX's CsvExampleGen and ImportExampleGen read).
 */
export async function loadWithTfxSplit(db: DuckDbSession, source: Source, params: TfxSplitParameters, options: TfxSplitOptions): Promise<number> {
  if (payloadFormat(params) === 'proto' && source.format !== 'tfrecord') {
    throw new UserInputError(`tfxCompatibleSplit.payloadFormat applies to TFRecord input; input "${source.input}" is read as ${source.format}`);
  }
  switch (source.format) {
    case 'csv':
      return loadCsvWithTfxSplit(db, source, params, options);
    case 'tfrecord':
      return loadTfRecordWithTfxSplit(db, source, params, options);
    default:
      throw new UserInputError(
        `tfxCompatibleSplit reproduces TFX's CsvExampleGen and ImportExampleGen, which read CSV and TFRecord; input "${source.input}" is read as ${source.format}`,
      );
  }
}

async function loadTfRecordWithTfxSplit(db: DuckDbSession, source: Source, params: TfxSplitParameters, options: TfxSplitOptions): Promise<number> {
  const feature = params.partitionFeature;
  const proto = payloadFormat(params) === 'proto';
  if (proto && feature !== undefined) {
    throw new UserInputError('TFX partitions by partitionFeature only for tf.Example payloads; drop payloadFormat "proto" or partitionFeature');
  }
  const where = (r: TfRecordRead) => `${r.file} record ${r.frame.index} at ${describeOffset(r.frame.offset, r.gzip)}`;
  const keyOf = (r: TfRecordRead): Uint8Array => {
    if (proto) return r.frame.data;
    if (feature !== undefined) return partitionKey(r.example.features.get(feature)?.feature, feature, () => where(r));
    if (r.example.hasUnknownFields) {
      throw new UserInputError(`${where(r)}: the record holds fields outside tf.Example, which TFX would hash as they are; its TFX split cannot be reproduced`);
    }
    return serializeExample(r.example);
  };
  const sources = await openTfRecordSources(source.files, {
    signal: options.signal,
    derived: [{ column: { name: SPLIT_INDEX_COLUMN, type: INTEGER }, valueOf: (r) => tfxSplitIndex(keyOf(r), params.splits) }],
    onSchemaProgress: (p) => options.onProgress?.({ rows: 0, message: `read the features of ${p.file} (${p.records} records)` }),
  });
  return loadRecords(db, options.table, sources, {
    signal: options.signal,
    onProgress: (p) => options.onProgress?.({ rows: p.rows, message: 'reading and hashing records' }),
  });
}

/**
 * `read_csv` of every cell as text, with the header line TFX requires, and the quote, escape and
 * delimiter of the typed read (source.ts), so that both reads cut the same rows and pair by file order.
 */
function rawCsvSql(files: readonly string[], source: Source, csv: TfxSplitParameters['csv']): string {
  const quote = sqlString(source.csvQuote ?? '"');
  const options = ['all_varchar = true', 'header = true', `quote = ${quote}`, `escape = ${quote}`];
  if (csv?.delimiter !== undefined) options.push(`delim = ${sqlString(csv.delimiter)}`);
  return `read_csv([${files.map(sqlString).join(', ')}], ${options.join(', ')})`;
}

/**
 * The files CsvExampleGen's typing reads: the input's own, or, when the typed read skipped bad rows
 * (within maxBadRows), copies of them without those lines. TFX reads a CSV line by line, so a bad row
 * is its line; its type inference then runs over the good rows only, as it would over a file without them.
 */
async function goodLineFiles(db: DuckDbSession, source: Source, bad: BadRows, options: TfxSplitOptions): Promise<readonly string[]> {
  if (bad.count === 0) return source.files;
  const rejected = await csvRejectedLines(db);
  const dir = path.join(options.tmpDir, 'tfx-good-lines');
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (const [i, file] of source.files.entries()) {
    const skip = rejected.get(file);
    if (!skip) {
      files.push(file);
      continue;
    }
    if (file.endsWith('.zst')) {
      throw new UserInputError(`tfxCompatibleSplit cannot set the bad rows of the zstd-compressed ${file} apart (the first: line ${skip[0]}); decompress it, or fix its bad rows`);
    }
    const copy = path.join(dir, `${i}-${path.basename(file).replace(/\.gz$/, '')}`);
    await copyWithoutLines(file, copy, new Set(skip), options.signal);
    files.push(copy);
  }
  return files;
}

async function* csvChunks(db: DuckDbSession, table: string, columns: string, rows: number): AsyncGenerator<{ first: number; cells: DuckDBValue[][] }> {
  for (let first = 0; first < rows; first += CSV_CHUNK_ROWS) {
    const reader = await db.query(`SELECT ${columns} FROM ${sqlIdentifier(table)} WHERE rowid >= ${first} AND rowid < ${first + CSV_CHUNK_ROWS} ORDER BY rowid`);
    yield { first, cells: reader.getRows() };
  }
}

async function countRows(db: DuckDbSession, table: string): Promise<number> {
  const reader = await db.query(`SELECT count(*) AS n FROM ${sqlIdentifier(table)}`);
  return Number(reader.getRowObjectsJS()[0]!.n);
}

async function loadCsvWithTfxSplit(db: DuckDbSession, source: Source, params: TfxSplitParameters, options: TfxSplitOptions): Promise<number> {
  if (params.csv?.header === false) throw new UserInputError('tfxCompatibleSplit on CSV needs a header line, as CsvExampleGen reads its feature names from it');
  const typed = `${options.table}_typed`;
  const raw = `${options.table}_text`;
  const splitsTable = `${options.table}_splits`;
  // Two reads of the file, each kept as a table until the split indexes are joined: the rows as the
  // ordinary route types them (what the Examples hold), and every cell as text for CsvExampleGen's own
  // typing; both keep file order in their rowid, which pairs them up. One read cannot give both without
  // changing some rows' splits:
  //  - the typed read loses the text TFX hashes: in a column declared `float`, '3' and '3.0' are both
  //    3.0, but INT and FLOAT features to TFX (every key of that column changes with its type); 'True'
  //    read as a BOOLEAN and '01/02/2016' read as a DATE through a sniffed format lose the spelling TFX
  //    hashes as bytes;
  //  - typing the text read instead (TRY_CAST to the types DuckDB sniffs) does not reproduce the CSV
  //    reader's own casts (its sniffed date and timestamp formats) nor, with them, which rows it rejects:
  //    those lines are set apart before TFX's typing, so a row more or less rejected changes the types
  //    TFX infers, and with them every key.
  // The text table is read twice (types over the whole input, then keys), hence kept rather than streamed.
  await db.query(`CREATE TEMP TABLE ${sqlIdentifier(typed)} AS SELECT * FROM ${source.relationSql}`).catch(async (err: unknown) => {
    throw await asReadError(db, err, source);
  });
  const typedRows = await countRows(db, typed);
  const bad = await csvBadRows(db);
  checkBadRowBudget(bad, params.maxBadRows, typedRows);
  const rawSql = rawCsvSql(await goodLineFiles(db, source, bad, options), source, params.csv);
  await db.query(`CREATE TEMP TABLE ${sqlIdentifier(raw)} AS SELECT * FROM ${rawSql}`).catch(async (err: unknown) => {
    throw await asReadError(db, err, source);
  });
  const rows = await countRows(db, raw);
  if (rows !== typedRows) {
    throw new UserInputError(`input ${source.input}: read with its first line as the header it has ${rows} rows, but ${typedRows} as detected; tfxCompatibleSplit needs the header line CsvExampleGen expects`);
  }
  const names = (await db.columns(sqlIdentifier(raw))).map((c) => c.name);
  const columnsSql = names.map(sqlIdentifier).join(', ');
  const partition = params.partitionFeature === undefined ? undefined : names.indexOf(params.partitionFeature);
  if (partition === -1) {
    throw new UserInputError(`partitionFeature "${params.partitionFeature}" is ${notAColumnOf(source.input, names)}`);
  }

  const types: CsvColumnType[] = names.map(() => null);
  for await (const { cells } of csvChunks(db, raw, columnsSql, rows)) {
    for (const row of cells) for (let c = 0; c < names.length; c++) types[c] = widenColumnType(types[c]!, row[c] as string | null);
    options.onProgress?.({ rows: 0, message: 'inferring column types as CsvExampleGen does' });
  }

  const nameBytes = names.map((n) => Buffer.from(n, 'utf8'));
  await db.query(`CREATE TEMP TABLE ${sqlIdentifier(splitsTable)} (rid BIGINT, split INTEGER)`);
  const appender = await db.appender(splitsTable);
  try {
    for await (const { first, cells } of csvChunks(db, raw, columnsSql, rows)) {
      for (const [i, row] of cells.entries()) {
        const rowNumber = first + i;
        const where = () => `${source.input} data row ${rowNumber + 1}`;
        let key: Uint8Array;
        if (partition !== undefined) {
          key = partitionKey(csvCellFeature(types[partition]!, row[partition] as string | null), params.partitionFeature!, where);
        } else {
          const example: Pick<TfExample, 'features' | 'hasFeatures'> = { features: new Map(), hasFeatures: true };
          names.forEach((name, c) => example.features.set(name, { nameBytes: nameBytes[c]!, feature: csvCellFeature(types[c]!, row[c] as string | null) }));
          key = serializeExample(example);
        }
        appender.appendBigInt(BigInt(rowNumber));
        appender.appendInteger(tfxSplitIndex(key, params.splits));
        appender.endRow();
      }
      options.onProgress?.({ rows: first + cells.length, message: 'hashing rows as TFX does' });
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
  await db.query(
    `CREATE TEMP TABLE ${sqlIdentifier(options.table)} AS SELECT t.*, s.split AS ${sqlIdentifier(SPLIT_INDEX_COLUMN)} FROM ${sqlIdentifier(typed)} t JOIN ${sqlIdentifier(splitsTable)} s ON t.rowid = s.rid ORDER BY t.rowid`,
  );
  for (const t of [typed, raw, splitsTable]) await db.query(`DROP TABLE ${sqlIdentifier(t)}`);
  return rows;
}
