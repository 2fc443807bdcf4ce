import path from 'node:path';
import { ComponentError, UserInputError } from '../../dsl/executor';
import type { ResolvedFileSet } from '../../dsl/resolve';
import type { DuckDbSession } from '../data/duckdb-session';
import { sqlIdentifier, sqlString } from '../data/sql';
import { unterminatedQuoteLine } from './csv-quotes';
import { dropLoadedRecords, loadRecords, type LoadProgress } from './formats/load-records';
import type { RecordSource } from './formats/record-source';
import { openTfRecordSources } from './formats/tfrecord';
import { openAvroFile } from './formats/avro';
import { openArrowIpcFile } from './formats/arrow-ipc';
import { DUCKDB_TYPE_OF_DECLARED, INPUT_FORMATS, type ExampleGenParameters, type InputFormat } from './spec';

/** `input` is one location: a pre-split input has a source per split. */
type SourceRequest = Pick<ExampleGenParameters, 'format' | 'csv' | 'columns'> & { input: string };
type CsvOptions = Pick<SourceRequest, 'csv' | 'columns'>;

/** Input files found and how DuckDB reads them. */
export interface Source {
  input: string;
  files: string[];
  format: InputFormat;
  /** A table-function call usable wherever SQL expects a relation. */
  relationSql: string;
  /** CSV's quote character ('' for none). */
  csvQuote?: string;
}

const FORMAT_BY_EXTENSION: Record<string, InputFormat> = {
  '.csv': 'csv',
  '.tsv': 'csv',
  '.json': 'json',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.parquet': 'parquet',
  '.pq': 'parquet',
  '.tfrecord': 'tfrecord',
  '.tfrecords': 'tfrecord',
  '.avro': 'avro',
  // Arrow IPC file or stream alike: the reader tells them apart by the "ARROW1" magic bytes.
  '.arrow': 'arrow',
  '.arrows': 'arrow',
  '.feather': 'arrow',
  '.ipc': 'arrow',
};
/**
 * Whole-file compressions each format's reader undoes (DuckDB's CSV and JSON readers; the TFRecord
 * reader, GZIP only); the format is the extension before them. Others would be read as garbage.
 */
const COMPRESSIONS_READ: Partial<Record<InputFormat, readonly string[]>> = {
  csv: ['.gz', '.zst'],
  json: ['.gz', '.zst'],
  jsonl: ['.gz', '.zst'],
  tfrecord: ['.gz'],
};

function formatFromExtension(pattern: string): InputFormat | undefined {
  const base = path.basename(pattern).toLowerCase();
  const compression = path.extname(base);
  if (compression !== '.gz' && compression !== '.zst') return FORMAT_BY_EXTENSION[compression];
  const format = FORMAT_BY_EXTENSION[path.extname(base.slice(0, -compression.length))];
  return format && COMPRESSIONS_READ[format]?.includes(compression) ? format : undefined;
}

/**
 * The local paths of the files resolved before the node ran: exactly those, hashed into its cache key
 * (s3:// objects are downloaded first, by s3-input.ts).
 */
function localFiles(set: ResolvedFileSet): string[] {
  if (!path.isAbsolute(set.root)) {
    throw new ComponentError(`input "${set.location}": ${set.root} was not downloaded to local files before reading`);
  }
  return set.files.map((f) => path.join(set.root, f.path));
}

/** `jsonRecords: 'true'` makes DuckDB insist on one JSON object per row. */
const csvQuote = (csv: CsvOptions['csv']): string => csv?.quote ?? '"';

function readerSql(format: InputFormat, files: readonly string[], { csv, columns }: CsvOptions, jsonRecords: 'true' | 'auto' = 'true'): string {
  const options: string[] = [];
  // DuckDB cannot combine union_by_name with store_rejects: CSV files of one input share one header.
  if (files.length > 1 && format !== 'csv') options.push('union_by_name = true');
  switch (format) {
    case 'csv':
      // Rejected lines are recorded instead of failing the scan, which also lets the sniffer see a
      // file with a bad line as the comma-separated file it is; bad-rows.ts then reports them.
      options.push('store_rejects = true');
      // The quote is pinned, not sniffed: a sniffer that sees an unterminated quote settles on "no
      // quoting" and reads the quote as text. RFC 4180 escapes a quote by doubling it.
      options.push(`quote = ${sqlString(csvQuote(csv))}`, `escape = ${sqlString(csvQuote(csv))}`);
      if (csv?.delimiter !== undefined) options.push(`delim = ${sqlString(csv.delimiter)}`);
      if (csv?.header !== undefined) options.push(`header = ${csv.header}`);
      if (columns && Object.keys(columns).length > 0) {
        const types = Object.entries(columns).map(([name, type]) => `${sqlString(name)}: ${sqlString(DUCKDB_TYPE_OF_DECLARED[type])}`);
        options.push(`types = {${types.join(', ')}}`);
      }
      break;
    case 'json':
      options.push(`format = 'auto'`, `records = ${sqlString(jsonRecords)}`);
      break;
    case 'jsonl':
      options.push(`format = 'newline_delimited'`, `records = ${sqlString(jsonRecords)}`);
      break;
    case 'parquet':
      break;
  }
  const fn = format === 'parquet' ? 'read_parquet' : format === 'csv' ? 'read_csv' : 'read_json';
  const list = `[${files.map(sqlString).join(', ')}]`;
  return `${fn}(${[list, ...options].join(', ')})`;
}

/** Names as a message lists them: `"a", "b"`. */
export const quotedNames = (names: readonly string[]): string => names.map((n) => `"${n}"`).join(', ');

/** The end of a message about a name the parameters give that the input has no column of. */
export const notAColumnOf = (input: string, columnNames: readonly string[]): string => `not a column of ${input}; its columns are: ${quotedNames(columnNames)}`;

/** How to read the resolved input files; every problem is a UserInputError. */
export function sourceOf(request: SourceRequest, set: ResolvedFileSet): Source {
  const files = localFiles(set);
  let format: InputFormat;
  if (request.format === 'auto') {
    const detected = formatFromExtension(set.location);
    if (!detected) {
      throw new UserInputError(
        `cannot tell the format of input "${request.input}" from its extension; set format to one of ${INPUT_FORMATS.join(', ')}`,
      );
    }
    format = detected;
  } else {
    format = request.format;
  }
  if (request.csv && format !== 'csv') {
    throw new UserInputError(`csv options apply to CSV input only; input "${request.input}" is read as ${format}`);
  }
  if (request.columns && format !== 'csv') {
    throw new UserInputError(`columns declares CSV column types; input "${request.input}" is read as ${format}, whose types are its own`);
  }
  const relationSql = JS_READ_FORMATS.has(format) ? sqlIdentifier(JS_READ_TABLE) : readerSql(format, files, request);
  return { input: request.input, files, format, relationSql, ...(format === 'csv' ? { csvQuote: csvQuote(request.csv) } : {}) };
}

/** `source` read from other JSON lines files: its good lines, set apart from its bad ones (json-lines-scan.ts). */
export function jsonLinesSourceOf(source: Source, files: readonly string[]): Source {
  return { ...source, files: [...files], relationSql: readerSql('jsonl', files, {}) };
}

/**
 * Formats read by a JavaScript library and loaded into DuckDB (formats/load-records.ts); their
 * `relationSql` names the view `loadJsReadInput` makes.
 */
const JS_READ_FORMATS: ReadonlySet<InputFormat> = new Set<InputFormat>(['tfrecord', 'avro', 'arrow']);
const JS_READ_TABLE = '__mlpipe_input';

export function openRecordSources(source: Source, signal: AbortSignal): Promise<RecordSource[]> {
  switch (source.format) {
    case 'tfrecord':
      return openTfRecordSources(source.files, { signal });
    case 'avro':
      return openEach(source.files, openAvroFile);
    case 'arrow':
      return openEach(source.files, openArrowIpcFile);
    default:
      throw new Error(`${source.format} is read by DuckDB, not as record sources`);
  }
}

/** One file after another: opening reads a header and lets the file go, so none stays open. */
async function openEach(files: readonly string[], openFile: (file: string) => Promise<RecordSource>): Promise<RecordSource[]> {
  const sources: RecordSource[] = [];
  for (const file of files) sources.push(await openFile(file));
  return sources;
}

/** Before `source.relationSql` is read: loads a JavaScript-read input into its table (no-op for DuckDB's own formats). */
export async function loadJsReadInput(
  db: DuckDbSession,
  source: Source,
  options: { signal: AbortSignal; onProgress?: (progress: LoadProgress) => void },
): Promise<void> {
  if (!JS_READ_FORMATS.has(source.format)) return;
  await loadRecords(db, JS_READ_TABLE, await openRecordSources(source, options.signal), options);
}

/** Once `source.relationSql` is read: drops what `loadJsReadInput` loaded (no-op for DuckDB's own formats). */
export async function dropJsReadInput(db: DuckDbSession, source: Source): Promise<void> {
  if (JS_READ_FORMATS.has(source.format)) await dropLoadedRecords(db, JS_READ_TABLE);
}

const DATA_ERROR = /^(?:Invalid Input|Conversion|Out of Range) Error: /;
const NOT_RECORDS = /^Binder Error: json_read expected records/;
const CSV_SNIFF_FAILED = /It was not possible to automatically detect the CSV parsing dialect/;

/** A JSON file is one document: a syntax error anywhere breaks all of it, so no row of it can be skipped. */
const JSON_DOCUMENT_NOTE: Partial<Record<InputFormat, string>> = {
  json: ' (a .json file is one JSON document, read whole: maxBadRows cannot skip a part of it; JSON lines, one object per line, can skip bad lines)',
};

function conciseDuckDbMessage(message: string): string {
  const cut = ['\nPossible fixes', '\n\nLINE ', '\nLINE '].reduce((m, marker) => {
    const at = m.indexOf(marker);
    return at >= 0 ? m.slice(0, at) : m;
  }, message);
  return cut
    .replace(DATA_ERROR, '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .join('; ');
}

export function noRowsError(source: Source): UserInputError {
  return new UserInputError(`input ${source.input} holds no rows (${source.files.length} file(s) read)`);
}

/**
 * Turns a DuckDB failure while reading `source` into a UserInputError naming the input (DuckDB's own
 * text names the file and the line or byte where it has them), or returns the error unchanged when it
 * is not about the data.
 */
export async function asReadError(db: DuckDbSession, err: unknown, source: Source): Promise<unknown> {
  if (!(err instanceof Error)) return err;
  const what = `cannot read ${describeFiles(source)} as ${source.format.toUpperCase()}`;
  if (NOT_RECORDS.test(err.message)) {
    // An empty array has no records either; tell that apart from an array of non-objects.
    const lenient = readerSql(source.format, source.files, {}, 'auto');
    const rows = await db.query(`SELECT count(*) AS n FROM ${lenient}`).then(
      (reader) => Number(reader.getRowObjectsJS()[0]?.n),
      () => undefined,
    );
    if (rows === 0) return noRowsError(source);
    return new UserInputError(`${what}: every record must be a JSON object (one row), but the input holds other JSON values`);
  }
  if (source.format === 'csv' && CSV_SNIFF_FAILED.test(err.message)) {
    const unterminated = await unterminatedQuoteError(source);
    if (unterminated) return unterminated;
  }
  if (DATA_ERROR.test(err.message)) return new UserInputError(`${what}: ${conciseDuckDbMessage(err.message)}${JSON_DOCUMENT_NOTE[source.format] ?? ''}`);
  return err;
}

async function unterminatedQuoteError(source: Source): Promise<UserInputError | undefined> {
  for (const file of source.files) {
    const line = await unterminatedQuoteLine(file, source.csvQuote ?? '');
    if (line !== undefined) return new UserInputError(`malformed CSV: ${file} line ${line}: a quoted field opens here and is never closed (unterminated quote)`);
  }
  return undefined;
}

/**
 * Before a CSV is read: a sniffer that finds no delimiter under which every quote closes settles on one
 * column per line, reading an unterminated quote as text; such a file is rejected naming the quote's line.
 * Only a one-column result is scanned, so a well-formed file costs nothing.
 */
export async function checkCsvDialect(source: Source, columnCount: number): Promise<void> {
  if (source.format !== 'csv' || columnCount !== 1) return;
  const unterminated = await unterminatedQuoteError(source);
  if (unterminated) throw unterminated;
}

function describeFiles(source: Source): string {
  return source.files.length === 1 ? source.files[0]! : `${source.files.length} files matching "${source.input}"`;
}
