import { UserInputError } from '../../../dsl/executor';
import type { DuckDbSession } from '../../data/duckdb-session';
import { sqlIdentifier } from '../../data/sql';
import type { RecordSource } from './record-source';

export interface LoadProgress {
  rows: number;
  file: string;
}

/**
 * Appends the rows of `sources` (files of one input, read in order) into a new temporary table
 * `table`, streamed batch by batch. Every source must declare the same columns, in the same order
 * and types, as the first: a file that differs is named with what was expected.
 */
export async function loadRecords(
  db: DuckDbSession,
  table: string,
  sources: readonly RecordSource[],
  options: { signal: AbortSignal; onProgress?: (progress: LoadProgress) => void },
): Promise<number> {
  const first = sources[0];
  if (!first) throw new UserInputError('no input files to read');
  const columnsSql = first.columns.map((c) => `${sqlIdentifier(c.name)} ${c.type.toString()}`).join(', ');
  await db.query(`CREATE TEMP TABLE ${sqlIdentifier(table)} (${columnsSql})`);
  const appender = await db.appender(table);
  let rows = 0;
  try {
    for (const source of sources) {
      const expected = first.columns.map((c) => `${c.name} ${c.type.toString()}`).join(', ');
      const got = source.columns.map((c) => `${c.name} ${c.type.toString()}`).join(', ');
      if (got !== expected) {
        throw new UserInputError(`${source.file}: its columns (${got}) differ from those of ${first.file} (${expected}); files of one input must share their columns`);
      }
      for await (const batch of source.batches(options.signal)) {
        for (const row of batch) {
          for (let i = 0; i < row.length; i++) appender.appendValue(row[i] ?? null, first.columns[i]!.type);
          appender.endRow();
        }
        rows += batch.length;
        options.onProgress?.({ rows, file: source.file });
      }
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
  return rows;
}
