/**
 * An independent, pure-TypeScript implementation of ExampleGen's default split assignment, written from
 * the specification in components/example-gen/hash-split.ts, against which the DuckDB implementation is tested.
 */
import { createHash } from 'node:crypto';

export type Scalar = string | number | bigint | boolean | null;

export interface ReferenceKeyOptions {
  /** Text that reads as a number keys as that number (inputs whose column types are inferred). */
  numericText?: boolean;
}

function canonicalNumber(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (Number.isInteger(x) && Math.abs(x) < 2 ** 63) return BigInt(x).toString();
  const [mantissa, exponentText] = x.toExponential().split('e') as [string, string];
  const exponent = Number(exponentText);
  // JavaScript prints fixed notation for every exponent in [-4, 15] with the same shortest digits.
  if (exponent >= -4 && exponent < 16) return String(x);
  return `${mantissa}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
}

/** Plain decimal or exponent notation, as data files write numbers (DuckDB's CAST accepts a few more spellings). */
const NUMBER_TEXT = /^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i;

/** Past 2^53 integral text keys by its exact digits, as an integer column's value would. */
function canonicalNumericText(text: string): string {
  const x = Number(text);
  const digits = /^\s*([-+]?)0*(\d+)\s*$/.exec(text);
  if (Number.isInteger(x) && Math.abs(x) >= 2 ** 53 && digits) return BigInt(`${digits[1]}${digits[2]}`).toString();
  return canonicalNumber(x);
}

export function canonicalText(value: Scalar, options: ReferenceKeyOptions = {}): string | null {
  if (value === null) return null;
  if (typeof value === 'number') return canonicalNumber(value);
  if (typeof value === 'string' && options.numericText && NUMBER_TEXT.test(value)) return canonicalNumericText(value);
  return String(value);
}

export function recordKey(row: Record<string, Scalar>): string {
  return recordKeyWith(row, {});
}

export function recordKeyWith(row: Record<string, Scalar>, options: ReferenceKeyOptions): string {
  return Object.keys(row)
    .sort()
    .map((name) => canonicalText(row[name] ?? null, options))
    .filter((text) => text !== null)
    .join('\u001f');
}

export function featureKey(value: Scalar, options: ReferenceKeyOptions = {}): string {
  return canonicalText(value, options) ?? '';
}

export function bucketOf(key: string, totalBuckets: number): number {
  const digest = createHash('md5').update(key, 'utf8').digest();
  return Number(digest.readBigUInt64LE(0) % BigInt(totalBuckets));
}

export function splitOf(key: string, splits: ReadonlyArray<{ name: string; hashBuckets: number }>): string {
  const bucket = bucketOf(key, splits.reduce((sum, s) => sum + s.hashBuckets, 0));
  let upper = 0;
  for (const split of splits) {
    upper += split.hashBuckets;
    if (bucket < upper) return split.name;
  }
  throw new Error('unreachable: bucket beyond the last split');
}
