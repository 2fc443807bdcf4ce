/**
 * The default split of ExampleGen, as SQL for DuckDB: every step runs inside DuckDB's own vectorised,
 * parallel functions, never per row in JavaScript. (`tfxCompatibleSplit` uses TFX's key and sha256
 * instead: tfx-split.ts.)
 *
 * bucket = the first 8 bytes of md5(key), read as a little-endian unsigned 64-bit integer, modulo the
 * total number of hash buckets; the cumulative bucket counts of the splits, in their configured order,
 * pick the split (with train:2, eval:1, buckets 0-1 are train and bucket 2 is eval). MD5 is a fixed
 * standard, so the bucket is the same on every machine and DuckDB version (DuckDB's `hash()` is not
 * guaranteed to be). MD5 serves as a well-mixed, stable hash here, not for security; on flights-3m it
 * costs about half what sha256 does, and the whole default split about a sixth of the TFX-compatible one.
 *
 * The key is the UTF-8 text:
 *  - a whole record (the default): the canonical texts of the row's non-NULL values, in ascending order
 *    of their column names (UTF-16 code units, JavaScript's default sort), joined by U+001F. A NULL
 *    contributes nothing, so a column absent from a row (a JSON record without that field, a file of a
 *    glob without that column, a column added to later rows) leaves the row's key as it was;
 *  - with `partitionFeature`: that column's canonical text alone (empty for NULL).
 * The encoding is not injective: column names are left out, so rows that differ only in which column
 * holds a value next to a NULL share a key, as do texts holding U+001F that mimic two fields, and NULL and
 * '' for a partition feature. Rows whose keys collide merely share a split. Leaving names out keeps
 * keys short: MD5 hashes 64-byte blocks, and flights-3m's rows fit one block without names, two with them
 * (a third of the split's time).
 *
 * A row's key depends on that row alone, never on the types a reader inferred from other rows. The
 * canonical text is type-agnostic, so a value keeps its key whichever type a reader gave its column:
 *  - integers: decimal digits with a leading `-` when negative;
 *  - floating point (FLOAT and DECIMAL are first converted to the nearest DOUBLE of their shortest decimal
 *    text, so a 32-bit 39.1 keys like a 64-bit 39.1): a finite integral value below 2^63 in magnitude is
 *    written as an integer (3750.0 keys like 3750); any other value is the shortest decimal that
 *    round-trips, written as Python's repr writes it: fixed notation when the decimal exponent is between
 *    -4 and 15, otherwise `d.ddde±XX` with at least two exponent digits; `nan`, `inf`, `-inf`;
 *  - text: the text itself, except where column types are inferred from the data (CSV, JSON, JSON lines):
 *    there a text that DuckDB's CAST reads as a DOUBLE (`39.10`, ` 7 `, `1e3`, `1_000`) keys as that
 *    number. So when one bad value (`abc`) turns a CSV or JSON column of numbers into text, every other
 *    row keeps its key and its split. Files with typed schemas (Parquet, Avro, Arrow, TFRecord) key text
 *    as written: their types never depend on other rows, and a text test per value would cost a third
 *    of the split's time;
 *  - booleans: `true` / `false`; anything else (dates, times, timestamps, nested values) is DuckDB's text
 *    form of the value, with the session time zone pinned to UTC (`2012-01-01`, `2012-01-01 10:00:00`).
 *    A CSV or JSON column of dates, timestamps or booleans that turns into text keeps its rows' keys
 *    when the file writes them in that form (ISO dates, `YYYY-MM-DD HH:MM:SS[.ffffff]`, lower-case
 *    booleans); in another spelling, declare the column's type (`columns`) so that a bad value is a
 *    bad row instead of a type change. ExampleGen reports a column that turned into text because of a
 *    few values (column-type-report.ts).
 */
import { DuckDBTypeId } from '@duckdb/node-api';
import { MAX_TOTAL_HASH_BUCKETS, type SplitConfig } from './spec';
import type { Column } from '../data/column-kinds';
import { sqlIdentifier, sqlString } from '../data/sql';

const KEY_SEPARATOR = '\u001f';

export interface KeyOptions {
  /** Text that reads as a number keys as that number: for inputs whose column types are inferred. */
  numericText: boolean;
}

function canonicalDoubleSql(x: string): string {
  // 9223372036854775808.0 is 2^63: integral doubles below it convert to BIGINT exactly.
  return `(CASE WHEN isfinite(${x}) AND ${x} = trunc(${x}) AND abs(${x}) < 9223372036854775808.0 THEN CAST(CAST(${x} AS BIGINT) AS VARCHAR) ELSE CAST(${x} AS VARCHAR) END)`;
}

/**
 * Text read as a number, as an integer column or a double column would key it. Past 2^53 a double no
 * longer holds every integer, so integral text there keys by its exact digits (as a BIGINT or HUGEINT
 * column does): an ID column that turns to text because of one bad value keeps every row's key.
 * HUGEINT's cast rounds fractions, hence only for values the double says are integral.
 */
function numericTextSql(c: string): string {
  const d = `TRY_CAST(${c} AS DOUBLE)`;
  return `(CASE WHEN abs(${d}) >= 9007199254740992.0 AND ${d} = trunc(${d}) THEN coalesce(CAST(TRY_CAST(${c} AS HUGEINT) AS VARCHAR), ${canonicalDoubleSql(d)}) ELSE ${canonicalDoubleSql(d)} END)`;
}

/** SQL for a column's canonical text (NULL stays NULL). */
export function canonicalTextSql(column: Column, options: KeyOptions): string {
  const c = sqlIdentifier(column.name);
  switch (column.typeId) {
    case DuckDBTypeId.VARCHAR:
      // canonicalDoubleSql(NULL) is NULL, so text that is no number falls through to itself.
      return options.numericText ? `coalesce(${numericTextSql(c)}, ${c})` : c;
    case DuckDBTypeId.DOUBLE:
      return canonicalDoubleSql(c);
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DECIMAL:
      return canonicalDoubleSql(`CAST(CAST(${c} AS VARCHAR) AS DOUBLE)`);
    default:
      return `CAST(${c} AS VARCHAR)`;
  }
}

/** `concat_ws` skips NULL arguments, separator included: a NULL leaves no trace. */
export function recordKeySql(columns: readonly Column[], options: KeyOptions): string {
  const ordered = [...columns].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return `concat_ws(${sqlString(KEY_SEPARATOR)}, ${ordered.map((col) => canonicalTextSql(col, options)).join(', ')})`;
}

export function featureKeySql(column: Column, options: KeyOptions): string {
  return `coalesce(${canonicalTextSql(column, options)}, '')`;
}

export function totalBuckets(splits: readonly SplitConfig[]): number {
  return splits.reduce((sum, s) => sum + s.hashBuckets, 0);
}

/**
 * Each split's bucket bound, in configuration order: a bucket belongs to the first split whose bound
 * it is below (the cumulative bucket counts, as TFX's `_PartitionFn`; the last bound is the total).
 */
export function splitBucketBounds(splits: readonly SplitConfig[]): number[] {
  let upper = 0;
  return splits.map((split) => (upper += split.hashBuckets));
}

/**
 * The md5 digest's first 8 bytes as a little-endian integer, modulo `total`. DuckDB's `md5_number` reads
 * the 16 digest bytes as a little-endian UHUGEINT, so its low 64 bits are those bytes; masking and
 * casting them costs far less than parsing the hex digest (bench/example-gen.ts). Should a DuckDB
 * release read the digest in another order, hash-split.test.ts fails (it checks against Node's md5).
 */
export function bucketSql(keySql: string, total: number): string {
  if (!Number.isInteger(total) || total < 1 || total > MAX_TOTAL_HASH_BUCKETS) {
    throw new RangeError(`total hash buckets must be an integer in 1..${MAX_TOTAL_HASH_BUCKETS}, got ${total}`);
  }
  return `(CAST(md5_number(${keySql}) & 18446744073709551615::UHUGEINT AS UBIGINT) % ${total}::UBIGINT)`;
}

/** SQL for the index (0-based, in configuration order) of the split a bucket belongs to. */
function splitIndexSql(bucket: string, splits: readonly SplitConfig[]): string {
  const arms = splitBucketBounds(splits)
    .slice(0, -1)
    .map((upper, i) => `WHEN ${bucket} < ${upper} THEN ${i}`);
  const last = splits.length - 1;
  return `${arms.length === 0 ? last : `(CASE ${arms.join(' ')} ELSE ${last} END)`}::UTINYINT`;
}

/** Column the split assignment adds; an input column of this name is rejected. */
export const SPLIT_INDEX_COLUMN = '__mlpipe_split';
const BUCKET_COLUMN = '__mlpipe_bucket';
export const RESERVED_COLUMNS: readonly string[] = [SPLIT_INDEX_COLUMN, BUCKET_COLUMN];

/**
 * A SELECT over `relationSql` returning its columns plus `SPLIT_INDEX_COLUMN`. The bucket is computed in
 * a nested select so that it is evaluated once per row, not once per CASE arm.
 */
export function assignSplitsSql(relationSql: string, keySql: string, splits: readonly SplitConfig[]): string {
  const bucket = sqlIdentifier(BUCKET_COLUMN);
  const bucketed = `SELECT *, ${bucketSql(keySql, totalBuckets(splits))} AS ${bucket} FROM ${relationSql}`;
  return `SELECT * EXCLUDE (${bucket}), ${splitIndexSql(bucket, splits)} AS ${sqlIdentifier(SPLIT_INDEX_COLUMN)} FROM (${bucketed})`;
}
