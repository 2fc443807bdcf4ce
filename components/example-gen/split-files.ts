/**
 * Writing ExampleGen's split files so that the same rows give the same bytes on every run, whatever the
 * number of threads DuckDB reads, hashes and stages them with (the Examples' content hash and the cache
 * rest on it).
 *
 * DuckDB's Parquet writer closes a row group at the first chunk that takes it to ROW_GROUP_SIZE rows, so
 * a file's layout follows the sizes of the chunks it is fed. Those follow how the rows were produced: a
 * parallel, order-preserving COPY (the staged file) cuts its row groups where its threads happened to hand
 * batches over, and a filtered scan of it yields chunks cut at those row groups' ends; the same rows then
 * reach the writer in other chunks, and the row groups and bytes differ (a 400,000-line JSON input staged
 * with one thread and with three gives two layouts: example-gen-deterministic.test.ts).
 *
 * So each split's rows are first materialised, in order by one thread, as a MATERIALIZED common table
 * expression: DuckDB keeps it in a ColumnDataCollection, which fills every chunk to the full vector size
 * (2,048 rows) before starting the next, whatever chunks come in. Its scan feeds the writer those full
 * chunks, and ROW_GROUP_SIZE is a multiple of them, so every row group but the last holds exactly
 * ROW_GROUP_SIZE rows on every run. That is DuckDB's behaviour, not a documented promise: the test above
 * fails if a release changes it.
 *
 * Why not DuckDB's parallel writer: an order-preserving parallel COPY regroups its threads' batches into
 * row groups as they arrive, keeping a batch within one vector of ROW_GROUP_SIZE as it is and cutting the
 * rest after the chunk that crosses it, so the cuts depend on timing. A temporary table filled by one
 * thread fixes the layout too, but on flights-3m appending to it cost 0.6 s of CPU over writing the splits
 * straight from the staged file (a 60% longer write), the collection about 0.1 s.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { withDuckDb, type DuckDbSession, type QueryProgress } from '../data/duckdb-session';
import { sqlIdentifier, sqlString } from '../data/sql';

/** DuckDB's own default, pinned: the files' layout should not change with a DuckDB release's default. */
const ROW_GROUP_SIZE = 122_880;
const SPLIT_ROWS = '__mlpipe_split_rows';
/**
 * Each split's writer holds its split's rows; what does not fit spills to its tmpDir. flights-3m's
 * 2 M-row train split spilled at 128 MB and took half as long again; at 160 MB it fits.
 */
const SPLIT_WRITER_MEMORY_LIMIT = '256MB';

/**
 * One thread reading in order: the rows keep their order and are materialised one chunk after another.
 * (With one thread, `preserve_insertion_order` would only add DuckDB's batch machinery, which cuts
 * collections by timing.)
 */
export async function useOneThread(db: DuckDbSession, memoryLimit: string): Promise<void> {
  await db.query('SET threads = 1');
  await db.query('SET preserve_insertion_order = false');
  await db.query(`SET memory_limit = ${sqlString(memoryLimit)}`);
}

/** Writes the rows of `selectSql` to `file` as Parquet; `db` uses one thread (`useOneThread`). Returns the row count. */
export async function writeSplitFile(db: DuckDbSession, selectSql: string, file: string, onProgress?: (p: QueryProgress) => void): Promise<number> {
  const rows = sqlIdentifier(SPLIT_ROWS);
  const reader = await db.query(
    `COPY (WITH ${rows} AS MATERIALIZED (${selectSql}) SELECT * FROM ${rows}) TO ${sqlString(file)} (FORMAT parquet, ROW_GROUP_SIZE ${ROW_GROUP_SIZE})`,
    onProgress,
  );
  return Number(reader.getRowObjectsJS()[0]?.Count ?? 0);
}

/**
 * Writes each split from a staged file that other sessions can read: one session per split, side by
 * side, one thread each, with scratch space under `tmpDir`. `onWritten` hears of each split as it is done.
 */
export async function writeSplitsFromStaged(
  selects: readonly string[],
  files: readonly string[],
  options: { tmpDir: string; signal: AbortSignal; onWritten(index: number): void },
): Promise<void> {
  await Promise.all(
    selects.map(async (selectSql, i) => {
      const tmpDir = path.join(options.tmpDir, `split-${i}`);
      await mkdir(tmpDir, { recursive: true });
      await withDuckDb({ tmpDir, signal: options.signal }, async (db) => {
        await useOneThread(db, SPLIT_WRITER_MEMORY_LIMIT);
        await writeSplitFile(db, selectSql, files[i]!);
      });
      options.onWritten(i);
    }),
  );
}
