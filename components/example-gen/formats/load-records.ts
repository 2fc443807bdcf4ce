import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { DuckDBDataChunk, DuckDBVector, type DuckDBAppender, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { ComponentError, UserInputError } from '../../../dsl/executor';
import type { DuckDbSession } from '../../data/duckdb-session';
import { sqlIdentifier, sqlString } from '../../data/sql';
import { ColumnsOutgrown, type RecordBatch, type RecordSource, type SourceColumn } from './record-source';

export interface LoadProgress {
  rows: number;
  file: string;
  /** Bytes of the input files consumed so far, out of `totalBytes`. */
  bytesRead: number;
  /** The input files' sizes on disk (compressed ones for a compressed file, as `bytesRead` counts them). */
  totalBytes: number;
}

/**
 * Rows appended to a table in DuckDB's memory before they are written out as a Parquet part: about
 * 25 MB of flights rows. An in-memory table holds every row until the session's memory limit (about
 * 90 bytes a flights row), so one table for the whole input grew with it; parts keep the load's memory
 * flat (bench/example-gen-formats-memory.ts). Far larger parts save no time, far smaller ones cost it.
 */
export const PART_ROWS = 128 * 2048;

/**
 * Loads the rows of `sources` (files of one input, read in order), streamed batch by batch, and makes
 * them readable as the temporary view `table`: the rows go into Parquet part files in a folder of the
 * session's temp directory, PART_ROWS at a time, and the view reads the parts in order. Every source
 * must declare the same columns, in the same order and types, as the first: a file that differs is
 * named with what was expected. Sources whose columns came from a sample and prove too narrow
 * (ColumnsOutgrown) are widened, and the load starts over. `dropLoadedRecords` removes view and parts.
 *
 * Rows go in as whole data chunks: appending value by value through the appender's per-value calls
 * ran at about 0.12 M flights rows/s here, a chunk filled column by column at about 1.2 M rows/s, and
 * a source that lays its rows out in columns itself (a ColumnBatch) fills the chunk faster still.
 */
export async function loadRecords(
  db: DuckDbSession,
  table: string,
  sources: readonly RecordSource[],
  options: { signal: AbortSignal; onProgress?: (progress: LoadProgress) => void },
): Promise<number> {
  const first = sources[0];
  if (!first) throw new UserInputError('no input files to read');
  const totalBytes = (await Promise.all(sources.map(async (s) => (await stat(s.file)).size))).reduce((a, b) => a + b, 0);
  const dir = await partsFolder(db, table);
  try {
    try {
      return await loadOnce(db, table, dir, sources, totalBytes, options);
    } catch (err) {
      if (!(err instanceof ColumnsOutgrown) || !first.widen) throw err;
      await first.widen();
      return await loadOnce(db, table, await emptyFolder(dir), sources, totalBytes, options);
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Drops the view `loadRecords` made and deletes its parts. */
export async function dropLoadedRecords(db: DuckDbSession, table: string): Promise<void> {
  await db.query(`DROP VIEW ${sqlIdentifier(table)}`);
  await rm(await partsFolder(db, table, false), { recursive: true, force: true });
}

/** The folder of `table`'s parts in the session's temp directory (emptied, unless only named). */
async function partsFolder(db: DuckDbSession, table: string, empty = true): Promise<string> {
  const [setting] = (await db.query(`SELECT current_setting('temp_directory') AS dir`)).getRowObjectsJS();
  const tempDir = typeof setting?.dir === 'string' ? setting.dir : '';
  if (!tempDir) throw new ComponentError('the DuckDB session has no temp directory to write loaded records to');
  const dir = path.join(tempDir, `mlpipe-records-${table}`);
  return empty ? emptyFolder(dir) : dir;
}

async function emptyFolder(dir: string): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  return dir;
}

/**
 * A table in DuckDB's memory taking appended chunks, written out as a Parquet part and dropped every
 * PART_ROWS rows, so no more than a part's rows are ever held.
 */
class PartWriter {
  readonly files: string[] = [];
  private appender: DuckDBAppender | undefined;
  private rowsInPart = 0;

  constructor(
    private readonly db: DuckDbSession,
    private readonly dir: string,
    private readonly staging: string,
    private readonly columnsSql: string,
  ) {}

  /** The appender of the part being filled, its table created on first use. */
  async current(): Promise<DuckDBAppender> {
    if (!this.appender) {
      await this.db.query(`CREATE TEMP TABLE ${sqlIdentifier(this.staging)} (${this.columnsSql})`);
      this.appender = await this.db.appender(this.staging);
    }
    return this.appender;
  }

  /** Counts `rows` appended to the current part; writes it out once it is full. */
  async appended(rows: number): Promise<void> {
    this.rowsInPart += rows;
    if (this.rowsInPart >= PART_ROWS) await this.writePart();
  }

  /** Writes the last part: a partial one, or an empty one when no row came (the view needs a file to read). */
  async finish(): Promise<string[]> {
    if (this.rowsInPart > 0 || this.files.length === 0) await this.writePart();
    return this.files;
  }

  /** After a failure: the table of a part not written out is dropped. */
  async discard(): Promise<void> {
    if (!this.appender) return;
    this.appender.closeSync();
    this.appender = undefined;
    await this.db.query(`DROP TABLE ${sqlIdentifier(this.staging)}`);
  }

  private async writePart(): Promise<void> {
    const appender = await this.current();
    appender.closeSync();
    this.appender = undefined;
    const file = path.join(this.dir, `part-${String(this.files.length).padStart(6, '0')}.parquet`);
    // No dictionary: DuckDB's Parquet dictionary takes -0.0 for 0.0 (equal as numbers) and would write
    // the first of them for both; plain values keep every float's bits.
    await this.db.query(`COPY ${sqlIdentifier(this.staging)} TO ${sqlString(file)} (FORMAT parquet, DICTIONARY_SIZE_LIMIT 0)`);
    await this.db.query(`DROP TABLE ${sqlIdentifier(this.staging)}`);
    this.files.push(file);
    this.rowsInPart = 0;
  }
}

async function loadOnce(
  db: DuckDbSession,
  table: string,
  dir: string,
  sources: readonly RecordSource[],
  totalBytes: number,
  options: { signal: AbortSignal; onProgress?: (progress: LoadProgress) => void },
): Promise<number> {
  const first = sources[0]!;
  const columns = first.columns;
  const types = columns.map((c) => c.type);
  const columnsSql = columns.map((c) => `${sqlIdentifier(c.name)} ${c.type.toString()}`).join(', ');
  const parts = new PartWriter(db, dir, `${table}_part`, columnsSql);
  const chunkRows = DuckDBVector.standardSize();
  const expected = describeColumns(columns);
  let rows = 0;
  let bytesBefore = 0;
  try {
    for (const source of sources) {
      const got = describeColumns(source.columns);
      if (got !== expected) {
        throw new UserInputError(`${source.file}: its columns (${got}) differ from those of ${first.file} (${expected}); files of one input must share their columns`);
      }
      for await (const batch of source.batches(options.signal)) {
        const appended = appendBatch(await parts.current(), types, batch, chunkRows);
        rows += appended;
        await parts.appended(appended);
        options.onProgress?.({ rows, file: source.file, bytesRead: bytesBefore + source.bytesRead(), totalBytes });
      }
      bytesBefore += source.bytesRead();
    }
    const files = await parts.finish();
    await db.query(`CREATE TEMP VIEW ${sqlIdentifier(table)} AS SELECT * FROM read_parquet([${files.map(sqlString).join(', ')}])`);
  } catch (err) {
    await parts.discard();
    throw err;
  }
  return rows;
}

/** Appends `batch` as data chunks of at most `chunkRows` rows; returns its row count. */
function appendBatch(appender: DuckDBAppender, types: DuckDBType[], batch: RecordBatch, chunkRows: number): number {
  if (!isRowBatch(batch)) {
    const rowCount = batch.rowCount;
    const chunk = DuckDBDataChunk.create(types, rowCount);
    batch.writeTo(chunk);
    appender.appendDataChunk(chunk);
    return rowCount;
  }
  for (let start = 0; start < batch.length; start += chunkRows) {
    const chunk = DuckDBDataChunk.create(types, Math.min(chunkRows, batch.length - start));
    fillChunk(chunk, batch, start);
    appender.appendDataChunk(chunk);
  }
  return batch.length;
}

function isRowBatch(batch: RecordBatch): batch is readonly (readonly DuckDBValue[])[] {
  return Array.isArray(batch);
}

function describeColumns(columns: readonly SourceColumn[]): string {
  return columns.map((c) => `${c.name} ${c.type.toString()}`).join(', ');
}

/** Column by column: each vector is written once and copied into DuckDB in one flush. */
function fillChunk(chunk: DuckDBDataChunk, batch: readonly (readonly DuckDBValue[])[], start: number): void {
  const count = chunk.rowCount;
  for (let column = 0; column < chunk.columnCount; column++) {
    const vector = chunk.getColumnVector(column);
    for (let i = 0; i < count; i++) vector.setItem(i, batch[start + i]![column] ?? null);
    vector.flush();
  }
}
