/**
 * The deterministic hash split of ExampleGen, as SQL for DuckDB.
 *
 * As in TFX: bucket = sha256(key) read as a big-endian unsigned 256-bit integer, modulo the total
 * number of hash buckets; the cumulative bucket counts of the splits, in their configured order, pick
 * the split (with train:2, eval:1, buckets 0-1 are train and bucket 2 is eval).
 *
 * The key is the UTF-8 text of a canonical serialisation, so the same row lands in the same split on
 * every run and whichever file format held it:
 *
 *  - a field is `<byte length of T>:<T>` where T is the value's canonical text, or `:` alone for null
 *    (a non-null field always starts with a digit, so the encoding is unambiguous);
 *  - a whole record (the default key) is, for every column in ascending order of name (UTF-16 code
 *    units, JavaScript's default sort), the field of the column name followed by the field of its value;
 *  - with `partitionFeature`, the key is the single field of that column's value.
 *
 * Canonical text is type-agnostic, so a value keeps its key when a CSV sniffer and a JSON reader infer
 * different types for it:
 *  - strings: the string itself; booleans: `true` / `false`;
 *  - integers: decimal digits with a leading `-` when negative;
 *  - floating point (FLOAT and DECIMAL are first converted to the nearest DOUBLE of their shortest decimal
 *    text, so a 32-bit 39.1 keys like a 64-bit 39.1): a finite integral value below 2^63 in magnitude is
 *    written as an integer (3750.0 keys like 3750); any other value is the shortest decimal that
 *    round-trips, written as Python's repr writes it: fixed notation when the decimal exponent is between
 *    -4 and 15, otherwise `d.ddde±XX` with at least two exponent digits; `nan`, `inf`, `-inf`;
 *  - anything else (dates, timestamps, nested values) is DuckDB's text form of the value, with the
 *    session time zone pinned to UTC (`2012-01-01`, `2012-01-01 10:00:00`).
 */
import { DuckDBTypeId } from '@duckdb/node-api';
import { MAX_TOTAL_HASH_BUCKETS, type SplitConfig } from './spec';
import type { Column } from '../data/column-kinds';
import { sqlIdentifier, sqlString } from '../data/sql';


function canonicalDoubleSql(x: string): string {
  // 9223372036854775808.0 is 2^63: integral doubles below it convert to BIGINT exactly.
  return `(CASE WHEN isfinite(${x}) AND ${x} = trunc(${x}) AND abs(${x}) < 9223372036854775808.0 THEN CAST(CAST(${x} AS BIGINT) AS VARCHAR) ELSE CAST(${x} AS VARCHAR) END)`;
}

/** SQL for a column's canonical text (NULL stays NULL). */
export function canonicalTextSql(column: Column): string {
  const c = sqlIdentifier(column.name);
  switch (column.typeId) {
    case DuckDBTypeId.VARCHAR:
      return c;
    case DuckDBTypeId.DOUBLE:
      return canonicalDoubleSql(c);
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DECIMAL:
      return canonicalDoubleSql(`CAST(CAST(${c} AS VARCHAR) AS DOUBLE)`);
    default:
      return `CAST(${c} AS VARCHAR)`;
  }
}

/** `concat` skips NULL arguments, so a NULL value yields the bare `:` of the null field. */
function valueFieldSql(column: Column): string[] {
  const text = canonicalTextSql(column);
  return [`strlen(${text})`, `':'`, text];
}

function literalField(text: string): string {
  return sqlString(`${Buffer.byteLength(text, 'utf8')}:${text}`);
}

export function recordKeySql(columns: readonly Column[]): string {
  const ordered = [...columns].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return `concat(${ordered.flatMap((col) => [literalField(col.name), ...valueFieldSql(col)]).join(', ')})`;
}

export function featureKeySql(column: Column): string {
  return `concat(${valueFieldSql(column).join(', ')})`;
}

export function totalBuckets(splits: readonly SplitConfig[]): number {
  return splits.reduce((sum, s) => sum + s.hashBuckets, 0);
}

/**
 * sha256 hex digest (64 characters) modulo `total`, by Horner's rule over four 64-bit chunks:
 * r = (r * (2^64 mod n) + chunk mod n) mod n. With n ≤ MAX_TOTAL_HASH_BUCKETS (< 2^32) every
 * intermediate fits a UBIGINT, which DuckDB computes several times faster than 128-bit arithmetic.
 */
export function bucketSql(digestSql: string, total: number): string {
  if (!Number.isInteger(total) || total < 1 || total > MAX_TOTAL_HASH_BUCKETS) {
    throw new RangeError(`total hash buckets must be an integer in 1..${MAX_TOTAL_HASH_BUCKETS}, got ${total}`);
  }
  const n = `${total}::UBIGINT`;
  const shift = `${(2n ** 64n) % BigInt(total)}::UBIGINT`;
  let r = '0::UBIGINT';
  for (let i = 0; i < 4; i++) {
    const chunk = `CAST(concat('0x', substr(${digestSql}, ${1 + 16 * i}, 16)) AS UBIGINT)`;
    r = `((${r}) * ${shift} + ${chunk} % ${n}) % ${n}`;
  }
  return r;
}

/** SQL for the index (0-based, in configuration order) of the split a bucket belongs to. */
function splitIndexSql(bucket: string, splits: readonly SplitConfig[]): string {
  let upper = 0;
  const arms = splits.slice(0, -1).map((split, i) => {
    upper += split.hashBuckets;
    return `WHEN ${bucket} < ${upper} THEN ${i}`;
  });
  const last = splits.length - 1;
  return arms.length === 0 ? `${last}` : `(CASE ${arms.join(' ')} ELSE ${last} END)`;
}

/** Column the split assignment adds; an input column of this name is rejected. */
export const SPLIT_INDEX_COLUMN = '__mlpipe_split';
const DIGEST_COLUMN = '__mlpipe_digest';
const BUCKET_COLUMN = '__mlpipe_bucket';
export const RESERVED_COLUMNS: readonly string[] = [SPLIT_INDEX_COLUMN, DIGEST_COLUMN, BUCKET_COLUMN];

/**
 * A SELECT over `relationSql` returning its columns plus `SPLIT_INDEX_COLUMN`. The digest and the bucket
 * are computed in nested selects so that each is evaluated once per row, not once per reference.
 */
export function assignSplitsSql(relationSql: string, keySql: string, splits: readonly SplitConfig[]): string {
  const digest = sqlIdentifier(DIGEST_COLUMN);
  const bucket = sqlIdentifier(BUCKET_COLUMN);
  const hashed = `SELECT *, sha256(${keySql}) AS ${digest} FROM ${relationSql}`;
  const bucketed = `SELECT * EXCLUDE (${digest}), ${bucketSql(digest, totalBuckets(splits))} AS ${bucket} FROM (${hashed})`;
  return `SELECT * EXCLUDE (${bucket}), ${splitIndexSql(bucket, splits)} AS ${sqlIdentifier(SPLIT_INDEX_COLUMN)} FROM (${bucketed})`;
}
