import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UserInputError } from '../../dsl/executor';
import type { DuckDbSession } from '../data/duckdb-session';

/** A row that was skipped, where it was and why. */
export interface BadRow {
  file: string;
  line: number;
  /** The column at fault, when the reader names one (a wrong field count names none). */
  column?: string;
  reason: string;
  /** The row's text as the file holds it. */
  text: string;
}

export interface BadRows {
  count: number;
  /** The first of them, by file and line. */
  sample: BadRow[];
}

/** Inside the Examples artifact, beside the `Split-*` directories: one JSON object per line. */
export const REJECTED_ROWS_FILE = 'rejected_rows.jsonl';
const SAMPLE_SIZE = 100;
/** What the run summary shows of the sample: it must stay small. */
export const SUMMARY_SAMPLE_SIZE = 5;

/**
 * The CSV lines DuckDB's readers rejected in this session (`store_rejects`), one per file and line
 * (a line with several bad values counts once, with its first), in file and line order.
 */
export async function csvBadRows(db: DuckDbSession): Promise<BadRows> {
  const reader = await db.query(
    `WITH firsts AS (
       SELECT s.file_path AS file, e.line, e.column_name, e.error_message, e.csv_line,
              row_number() OVER (PARTITION BY s.file_path, e.line ORDER BY e.column_idx, e.scan_id) AS k
       FROM reject_errors e JOIN reject_scans s ON e.scan_id = s.scan_id AND e.file_id = s.file_id)
     SELECT file, line, column_name, error_message, csv_line, count(*) OVER () AS total
     FROM firsts WHERE k = 1 ORDER BY file, line LIMIT ${SAMPLE_SIZE}`,
  );
  const rows = reader.getRowObjectsJS();
  const sample = rows.map(
    (r): BadRow => ({
      file: String(r.file),
      line: Number(r.line),
      ...(r.column_name ? { column: String(r.column_name) } : {}),
      reason: String(r.error_message),
      text: String(r.csv_line).replace(/\r?\n$/, ''),
    }),
  );
  return { count: rows.length === 0 ? 0 : Number(rows[0]!.total), sample };
}

export function describeBadRow(row: BadRow): string {
  const column = row.column ? `, column "${row.column}"` : '';
  return `${row.file} line ${row.line}${column}: ${row.reason}; the line reads: ${row.text}`;
}

/** How many bad rows `maxBadRows` allows among `totalRows` (good and bad). */
export function badRowAllowance(maxBadRows: number, totalRows: number): number {
  return maxBadRows >= 1 ? maxBadRows : Math.floor(maxBadRows * totalRows);
}

/** Throws, naming the first bad row, when there are more than the budget allows. */
export function checkBadRowBudget(bad: BadRows, maxBadRows: number, goodRows: number, format = 'CSV'): void {
  const first = bad.sample[0];
  if (!first) return;
  const allowed = badRowAllowance(maxBadRows, goodRows + bad.count);
  if (bad.count <= allowed) return;
  if (maxBadRows === 0) {
    const more = bad.count > 1 ? ` (${bad.count - 1} more bad line(s) after it)` : '';
    throw new UserInputError(`malformed ${format}: ${describeBadRow(first)}${more}`);
  }
  const budget = maxBadRows >= 1 ? `maxBadRows ${maxBadRows}` : `maxBadRows ${maxBadRows} (${allowed} of ${goodRows + bad.count} rows)`;
  throw new UserInputError(`${bad.count} bad rows exceed ${budget}; the first: ${describeBadRow(first)}`);
}

export async function writeRejectedRows(dir: string, bad: BadRows): Promise<void> {
  await writeFile(path.join(dir, REJECTED_ROWS_FILE), bad.sample.map((row) => JSON.stringify(row)).join('\n') + '\n');
}
