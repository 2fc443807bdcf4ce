import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import { UserInputError } from '../../dsl/executor';
import type { BadRow, BadRows } from './bad-rows';
import { jsonLinesSourceOf, noRowsError, type Source } from './source';
import { linesOf, write } from './text-lines';

const SAMPLE_SIZE = 100;

/** Why a JSON line cannot be a row, or undefined when it can (an object). */
function lineFault(line: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return `not valid JSON (${(err as Error).message})`;
  }
  if (value === null || typeof value !== 'object') return `expected a JSON object (one row), got ${value === null ? 'null' : typeof value}`;
  if (Array.isArray(value)) return 'expected a JSON object (one row), got an array';
  return undefined;
}

export interface JsonLinesScan {
  bad: BadRows;
  goodRows: number;
}

/** Lines found bad by a reader after the scan (a value not fitting its column's type), by file, line → reason. */
export type ExcludedLines = Map<string, Map<number, string>>;

/**
 * Streams JSON lines files line by line (never a whole file in memory), setting aside each line that is
 * not a JSON object or is `excluded`, and copies the good lines of `files[i]` into `goodFiles[i]` for
 * DuckDB to read. Only run after DuckDB failed on the input, so a file without bad lines never pays for
 * it. Blank lines are no rows, as for DuckDB.
 */
export async function scanJsonLines(
  files: readonly string[],
  goodFiles: readonly string[],
  excluded: ExcludedLines,
  signal: AbortSignal,
): Promise<JsonLinesScan> {
  const sample: BadRow[] = [];
  let count = 0;
  let goodRows = 0;
  for (const [i, file] of files.entries()) {
    const out = createWriteStream(goodFiles[i]!);
    try {
      let line = 0;
      for await (const text of linesOf(file, signal)) {
        line++;
        if (text.trim() === '') continue;
        const fault = excluded.get(file)?.get(line) ?? lineFault(text);
        if (fault === undefined) {
          goodRows++;
          await write(out, text + '\n');
          continue;
        }
        count++;
        if (sample.length < SAMPLE_SIZE) sample.push({ file, line, reason: fault, text });
      }
    } finally {
      out.end();
      await once(out, 'close');
    }
  }
  return { bad: { count, sample }, goodRows };
}

/** The line of `file` that `scanJsonLines` copied to line `goodLine` of its good file. */
export async function originalLine(file: string, goodLine: number, excluded: ExcludedLines, signal: AbortSignal): Promise<number> {
  let line = 0;
  let good = 0;
  for await (const text of linesOf(file, signal)) {
    line++;
    if (text.trim() === '' || (excluded.get(file)?.get(line) ?? lineFault(text)) !== undefined) continue;
    if (++good === goodLine) return line;
  }
  throw new Error(`${file} has no good line ${goodLine}`);
}

/** Where DuckDB's JSON reader stopped: its messages name the file and line. */
const JSON_LINE_ERROR = /in file "([^"]+)", (?:at byte \d+ )?in line (\d+): ([^;\n]*)/;

function jsonLineError(err: unknown): { file: string; line: number; reason: string } | undefined {
  const match = err instanceof Error ? JSON_LINE_ERROR.exec(err.message) : null;
  return match ? { file: match[1]!, line: Number(match[2]), reason: match[3]!.trim() } : undefined;
}

/**
 * Reads a JSON lines `source` with `read`; when DuckDB fails on its data, the input is scanned for bad
 * lines, checked with `checkBudget` (which throws, naming the first bad line, when they are too many),
 * and its good lines read instead. A value that does not fit the type DuckDB inferred for its column is
 * only found by DuckDB: each such line costs one more scan and read. `bad` is set only when the lines
 * were scanned.
 */
export async function readJsonLinesWithBudget<T>(
  source: Source,
  options: { checkBudget: (bad: BadRows, goodRows: number) => void; tmpDir: string; signal: AbortSignal },
  read: (source: Source) => Promise<T>,
): Promise<{ result: T; bad?: BadRows }> {
  try {
    return { result: await read(source) };
  } catch (err) {
    // DuckDB names a line for some faults only (not for a non-object met while sniffing), and not always the first.
    if (source.format !== 'jsonl' || !(err instanceof UserInputError)) throw err;
  }
  const dir = path.join(options.tmpDir, 'json-lines-good');
  await mkdir(dir, { recursive: true });
  const goodFiles = source.files.map((file, i) => path.join(dir, `${i}-${path.basename(file).replace(/\.gz$/, '')}`));
  const clean = jsonLinesSourceOf(source, goodFiles);
  const excluded: ExcludedLines = new Map();
  for (;;) {
    const scan = await scanJsonLines(source.files, goodFiles, excluded, options.signal);
    options.checkBudget(scan.bad, scan.goodRows);
    if (scan.goodRows === 0) throw noRowsError(source);
    try {
      return { result: await read(clean), bad: scan.bad };
    } catch (err) {
      const at = jsonLineError(err);
      const index = at ? goodFiles.indexOf(at.file) : -1;
      if (!at || index < 0) throw err;
      const file = source.files[index]!;
      const line = await originalLine(file, at.line, excluded, options.signal);
      if (!excluded.has(file)) excluded.set(file, new Map());
      excluded.get(file)!.set(line, at.reason);
    }
  }
}
