import { seededUint32 } from '../trainer/seeded-random';

/**
 * Poisson(1) counts, the per-example weights of TFMA's Poisson bootstrap: each resample keeps every
 * example with a count drawn independently, which is a multinomial resample of the same expected size
 * without the n-long index draw, and one pass over the rows gives every slice its resample at once.
 *
 * Drawn by inverting the CDF on one uint32 per example. The CDF's boundaries are kept as uint32
 * thresholds, so each count's probability is exact to 2^-32; counts whose tail is below 2^-32 (> 13) are
 * never drawn. A 4096-cell table on the top 12 bits answers all but the few cells a boundary crosses,
 * which fall back to a scan of the thresholds: one table read per example, nearly always.
 */

/** thresholds[k]: the uint32 u is a count ≤ k iff u < thresholds[k] (the last one is 2^32). */
const THRESHOLDS: number[] = (() => {
  const out: number[] = [];
  let term = Math.exp(-1);
  let cdf = 0;
  for (let k = 0; ; k++) {
    cdf += term;
    term /= k + 1;
    const threshold = Math.round(cdf * 2 ** 32);
    if (threshold >= 2 ** 32 || 1 - cdf < 2 ** -32) {
      out.push(2 ** 32);
      return out;
    }
    out.push(threshold);
  }
})();

const TABLE_BITS = 12;
const TABLE_SIZE = 2 ** TABLE_BITS;
const CELL = 2 ** (32 - TABLE_BITS);
const AMBIGUOUS = 255;

/** Per cell of the top 12 bits: the count every u in it maps to, or AMBIGUOUS where a boundary crosses it. */
const TABLE: Uint8Array = (() => {
  const table = new Uint8Array(TABLE_SIZE);
  for (let cell = 0; cell < table.length; cell++) {
    const first = countOf(cell * CELL);
    table[cell] = countOf(cell * CELL + CELL - 1) === first ? first : AMBIGUOUS;
  }
  return table;
})();

function countOf(u: number): number {
  let k = 0;
  while (u >= THRESHOLDS[k]!) k++;
  return k;
}

/** The largest count a resample can give an example. */
export const MAX_POISSON_COUNT = THRESHOLDS.length - 1;

/**
 * Fills `out` with the Poisson(1) counts of resample `resample` under `seed`: the same pair gives the
 * same counts on every machine, and resamples are independent streams, so any subset can be drawn alone
 * (in another thread, or again after a retry).
 */
export function poissonCounts(seed: number, resample: number, out: Uint8Array): Uint8Array {
  // sfc32 as seeded-random.ts draws it, seeded from its stream, but stepped in local int32 variables:
  // its closure keeps the state in context slots, where every uint32 past 2^30 is a boxed heap number
  // (about 70 ns a draw against 2 here).
  // Read back through an Int32Array so the loop's state is typed int32 from the start (a call's
  // result past 2^30 otherwise deoptimizes the loop into generic arithmetic).
  const state = Int32Array.from({ length: 3 }, seededUint32(seed, resample));
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = 1;
  const table = TABLE;
  const n = out.length;
  for (let i = 0; i < n; i++) {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    // The mask is a no-op that lets the compiler drop the bounds check.
    const k = table[(t >>> (32 - TABLE_BITS)) & (TABLE_SIZE - 1)]!;
    out[i] = k === AMBIGUOUS ? countOf(t >>> 0) : k;
  }
  return out;
}
