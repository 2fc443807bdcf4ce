import { createHash } from 'node:crypto';

/**
 * HyperLogLog (Flajolet, Fusy, Gandouet and Meunier, 2007) over 2^14 registers. The hash is the low
 * 64 bits of MD5 of the value's text as DuckDB prints it (`md5_number_lower`), so registers computed in
 * SQL over a shard and in TypeScript over exact counts agree bit for bit, whatever DuckDB version or
 * machine made them. Registers merge by taking the maximum of each.
 */
export const HLL_PRECISION = 14;
const REGISTERS = 1 << HLL_PRECISION;
/** Bits of the 64-bit hash left after the register index: a run of zeros longer than this ranks REST_BITS + 1. */
const REST_BITS = 64 - HLL_PRECISION;

/** 1.04 / sqrt(2^14): the relative standard error of the estimate. */
export const HLL_RELATIVE_STANDARD_ERROR = 1.04 / Math.sqrt(REGISTERS);
export const HLL_METHOD = `HyperLogLog (2^${HLL_PRECISION} registers over the low 64 bits of MD5 of each value's text)`;
export const HLL_ERROR = `relative standard error ${(HLL_RELATIVE_STANDARD_ERROR * 100).toFixed(2)}%: within ${(3 * HLL_RELATIVE_STANDARD_ERROR * 100).toFixed(1)}% of the true count in 99.7% of cases`;

/** SQL for the hash of a value's text: a UBIGINT. */
export const hllHashSql = (textSql: string): string => `md5_number_lower(${textSql})`;

/** SQL for a value's register index and rank (position of the lowest set bit of the rest of the hash), from its hash. */
export function hllRegisterSql(hash: string): { index: string; rank: string } {
  const rest = `(${hash} >> ${HLL_PRECISION})`;
  return {
    index: `CAST(${hash} & ${REGISTERS - 1} AS INTEGER)`,
    // x XOR (x - 1) sets the bits up to and including the lowest set one: its bit count is the rank.
    rank: `CAST(CASE WHEN ${rest} = 0 THEN ${REST_BITS + 1} ELSE bit_count(xor(${rest}, ${rest} - 1)) END AS INTEGER)`,
  };
}

export function emptyRegisters(): Uint8Array {
  return new Uint8Array(REGISTERS);
}

const trailingZeros32 = (x: number): number => 31 - Math.clz32(x & -x);

export function addText(registers: Uint8Array, text: string): void {
  const digest = createHash('md5').update(text, 'utf8').digest();
  // The low 64 bits as DuckDB reads them: bytes 8..15, little-endian.
  const low = digest.readUInt32LE(8);
  const high = digest.readUInt32LE(12);
  const index = low & (REGISTERS - 1);
  const restLow = low >>> HLL_PRECISION;
  let rank: number;
  if (restLow !== 0) rank = trailingZeros32(restLow) + 1;
  else if (high !== 0) rank = 32 - HLL_PRECISION + trailingZeros32(high) + 1;
  else rank = REST_BITS + 1;
  if (rank > registers[index]!) registers[index] = rank;
}

export function mergeRegisters(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(REGISTERS);
  for (let i = 0; i < REGISTERS; i++) out[i] = Math.max(a[i]!, b[i]!);
  return out;
}

/** The raw estimate, with linear counting for small cardinalities (the 2007 paper's correction). */
export function estimateDistinct(registers: Uint8Array): number {
  const alpha = 0.7213 / (1 + 1.079 / REGISTERS);
  let sum = 0;
  let zeros = 0;
  for (const r of registers) {
    sum += 2 ** -r;
    if (r === 0) zeros++;
  }
  const raw = (alpha * REGISTERS * REGISTERS) / sum;
  if (raw <= 2.5 * REGISTERS && zeros > 0) return Math.round(REGISTERS * Math.log(REGISTERS / zeros));
  return Math.round(raw);
}

export const encodeRegisters = (registers: Uint8Array): string => Buffer.from(registers).toString('base64');

export function decodeRegisters(text: string): Uint8Array {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== REGISTERS) throw new Error(`HyperLogLog registers: expected ${REGISTERS} bytes, got ${bytes.length}`);
  return new Uint8Array(bytes);
}
