import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UserInputError } from '../../dsl/executor';
import type { DuckDbSession } from '../data/duckdb-session';
import type { InputFormat } from './spec';

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

/** Formats whose bad rows can be skipped one by one: each row is a line of text (a `.json` document fails whole, saying so). */
const SKIPPABLE_ROW_FORMATS: ReadonlySet<InputFormat> = new Set<InputFormat>(['csv', 'json', 'jsonl']);

/**
 * A budget set for a binary input (Parquet, Avro, TFRecord, Arrow IPC) is refused before anything is
 * read rather than ignored: their readers stop at the first corrupt record, naming file and position,
 * since a corrupt frame, block or page is no row of its own that could be skipped and counted.
 */
export function checkBadRowBudgetApplies(source: { input: string; format: InputFormat }, maxBadRows: number): void {
  if (maxBadRows === 0 || SKIPPABLE_ROW_FORMATS.has(source.format)) return;
  throw new UserInputError(
    `maxBadRows skips bad rows of CSV and JSON lines input; input "${source.input}" is read as ${source.format}, ` +
      'whose reader fails at its first corrupt record, naming file and position: leave maxBadRows out',
  );
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

/**
 * While an input is still being read: throws only when the bad rows so far exceed the budget whatever
 * the rows not read yet hold; a fraction of all rows is checked once they are all read.
 */
export function checkBadRowsSoFar(bad: BadRows, maxBadRows: number, goodRowsSoFar: number, format: string): void {
  if (maxBadRows > 0 && maxBadRows < 1) return;
  checkBadRowBudget(bad, maxBadRows, goodRowsSoFar, format);
}

/** The bad rows of several reads as one: all counted, the sample the first by file and line. */
export function mergeBadRows(parts: readonly BadRows[]): BadRows {
  const sample = parts
    .flatMap((p) => p.sample)
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line))
    .slice(0, SAMPLE_SIZE);
  return { count: parts.reduce((n, p) => n + p.count, 0), sample };
}

/** The CSV lines DuckDB's readers rejected in this session, each file's sorted, all of them (not a sample). */
export async function csvRejectedLines(db: DuckDbSession): Promise<Map<string, number[]>> {
  const reader = await db.query(
    `SELECT DISTINCT s.file_path AS file, e.line FROM reject_errors e JOIN reject_scans s ON e.scan_id = s.scan_id AND e.file_id = s.file_id ORDER BY file, line`,
  );
  const lines = new Map<string, number[]>();
  for (const r of reader.getRowObjectsJS()) {
    const file = String(r.file);
    if (!lines.has(file)) lines.set(file, []);
    lines.get(file)!.push(Number(r.line));
  }
  return lines;
}

export async function writeRejectedRows(dir: string, bad: BadRows): Promise<void> {
  await writeFile(path.join(dir, REJECTED_ROWS_FILE), bad.sample.map((row) => JSON.stringify(row)).join('\n') + '\n');
}
