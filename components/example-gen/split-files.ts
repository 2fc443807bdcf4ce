/**
 * Writing ExampleGen's split files so that the same rows give the same bytes on every run, whatever the
 * number of threads DuckDB reads, hashes and stages them with (the Examples' content hash and the cache
 * rest on it).
 *
 * DuckDB's Parquet writer closes a row group at the first chunk that takes it to ROW_GROUP_SIZE rows, so
 * a file's layout follows the sizes of the chunks it is fed. Those follow how the rows were produced: a
 * parallel, order-preserving COPY (the staged file) cuts its row groups where its threads happened to hand
 * batches over, and a scan of it yields a short chunk at each row group's end; the same rows then reach
 * the writer in other chunks, and the row groups and bytes differ (a 400,000-line JSON input staged with
 * one thread and with two gives two layouts: example-gen-deterministic.test.ts). So each split is first
 * appended, in order by one thread, to a table of its own, whose storage fills every row group to the
 * same fixed size whatever chunks come in; a scan of that table feeds the writer full chunks, the same on
 * every run. On flights-3m this costs no measurable time (bench/example-gen.ts): the table is filled and
 * read in memory, spilling to the session's temp directory only past its memory limit.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { withDuckDb, type DuckDbSession, type QueryProgress } from '../data/duckdb-session';
import { sqlIdentifier, sqlString } from '../data/sql';

/** DuckDB's own default, pinned: the files' layout should not change with a DuckDB release's default. */
const ROW_GROUP_SIZE = 122_880;
const SPLIT_TABLE = '__mlpipe_split_rows';
/** Each split's writer streams from the staged file: it needs little. */
const SPLIT_WRITER_MEMORY_LIMIT = '128MB';

/**
 * One thread reading in order: the rows keep their order, and the split table's row groups are filled
 * one after another. (With one thread, `preserve_insertion_order` would only add DuckDB's batch
 * machinery, which cuts collections by timing.)
 */
export async function useOneThread(db: DuckDbSession, memoryLimit: string): Promise<void> {
  await db.query('SET threads = 1');
  await db.query('SET preserve_insertion_order = false');
  await db.query(`SET memory_limit = ${sqlString(memoryLimit)}`);
}

/** Writes the rows of `selectSql` to `file` as Parquet; `db` uses one thread (`useOneThread`). Returns the row count. */
export async function writeSplitFile(db: DuckDbSession, selectSql: string, file: string, onProgress?: (p: QueryProgress) => void): Promise<number> {
  const table = sqlIdentifier(SPLIT_TABLE);
  await db.query(`CREATE TEMP TABLE ${table} AS ${selectSql}`, onProgress);
  try {
    const reader = await db.query(`COPY ${table} TO ${sqlString(file)} (FORMAT parquet, ROW_GROUP_SIZE ${ROW_GROUP_SIZE})`);
    return Number(reader.getRowObjectsJS()[0]?.Count ?? 0);
  } finally {
    await db.query(`DROP TABLE ${table}`);
  }
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
