/**
 * An independent, pure-TypeScript implementation of ExampleGen's split assignment, written from the
 * specification in components/example-gen/hash-split.ts, against which the DuckDB implementation is tested.
 */
import { createHash } from 'node:crypto';

export type Scalar = string | number | bigint | boolean | null;

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

export function canonicalText(value: Scalar): string | null {
  if (value === null) return null;
  if (typeof value === 'number') return canonicalNumber(value);
  return String(value);
}

function field(text: string | null): string {
  return text === null ? ':' : `${Buffer.byteLength(text, 'utf8')}:${text}`;
}

export function recordKey(row: Record<string, Scalar>): string {
  return Object.keys(row)
    .sort()
    .map((name) => field(name) + field(canonicalText(row[name] ?? null)))
    .join('');
}

export function featureKey(value: Scalar): string {
  return field(canonicalText(value));
}

export function bucketOf(key: string, totalBuckets: number): number {
  const digest = createHash('sha256').update(key, 'utf8').digest('hex');
  return Number(BigInt(`0x${digest}`) % BigInt(totalBuckets));
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
