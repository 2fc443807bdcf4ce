/**
 * Whole columns between DuckDB vectors and JavaScript typed arrays, with no JavaScript value per cell
 * where the type allows: numbers are read as typed arrays over the vector's memory and written with one
 * copy per vector, strings of up to 12 bytes (DuckDB keeps them inside the 16-byte string_t) are decoded
 * once per distinct value. A per-value `getItem` costs a call and an allocation per cell, which is what
 * the column's whole transform costs otherwise.
 *
 * The layouts read and written are DuckDB's in memory, little-endian (every platform DuckDB's Node
 * package ships for): DOUBLE, BIGINT, FLOAT, string_t for VARCHAR, and ARRAY as a child vector of
 * width × rows values. Validity masks are left alone: callers read columns made NULL-free in SQL and
 * write columns without NULLs.
 */
import duckdb from '@duckdb/node-bindings';

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('duckdb-vectors reads DuckDB vectors in little-endian byte order, and this machine is big-endian');
}

/** The DOUBLE values of a chunk's vector, a view over DuckDB's memory valid while the chunk lives. */
export function doubleValues(vector: duckdb.Vector, rows: number): Float64Array {
  const bytes = duckdb.vector_get_data(vector, rows * 8);
  return new Float64Array(bytes.buffer, bytes.byteOffset, rows);
}

/** The FLOAT values of a chunk's vector, a view over DuckDB's memory valid while the chunk lives. */
export function floatValues(vector: duckdb.Vector, count: number): Float32Array {
  const bytes = duckdb.vector_get_data(vector, count * 4);
  return new Float32Array(bytes.buffer, bytes.byteOffset, count);
}

/** The BIGINT values of a chunk's vector, a view over DuckDB's memory valid while the chunk lives. */
export function bigintValues(vector: duckdb.Vector, rows: number): BigInt64Array {
  const bytes = duckdb.vector_get_data(vector, rows * 8);
  return new BigInt64Array(bytes.buffer, bytes.byteOffset, rows);
}

/** DuckDB keeps a string of up to this many bytes inside its 16-byte string_t. */
const INLINE_BYTES = 12;

/** Slots of the decoded-string cache (a power of two); categorical columns have far fewer values. */
const CACHE_SLOTS = 4096;

/** The low `bytes` bytes of a little-endian word (all of it from 4 on). */
function lowBytes(word: number, bytes: number): number {
  return bytes >= 4 ? word : bytes <= 0 ? 0 : word & ((1 << (8 * bytes)) - 1);
}

/**
 * Decodes VARCHAR vectors into JavaScript strings. A short string is looked up by its 16 bytes (length
 * and inline bytes, past the length masked off) in a direct-mapped cache, so a column of airport codes
 * costs a hash and a compare per value instead of a TextDecoder call; a long one is read through its
 * pointer, one native call each.
 */
export class VarcharDecoder {
  private readonly keys = new Int32Array(4 * CACHE_SLOTS);
  private readonly strings: Array<string | undefined> = new Array<string | undefined>(CACHE_SLOTS);
  private readonly text = new TextDecoder('utf-8');

  /** Writes rows [from, from + count) of `vector` (a chunk of `rows` rows) into `out` from `at`. */
  decodeInto(vector: duckdb.Vector, rows: number, from: number, count: number, out: string[], at: number): void {
    const bytes = duckdb.vector_get_data(vector, rows * 16);
    const words = new Int32Array(bytes.buffer, bytes.byteOffset, rows * 4);
    const keys = this.keys;
    for (let row = from, i = at; row < from + count; row++, i++) {
      const w = 4 * row;
      const length = words[w]!;
      if (length > INLINE_BYTES) {
        out[i] = this.text.decode(duckdb.get_data_from_pointer(bytes.buffer as ArrayBuffer, bytes.byteOffset + 16 * row + 8, length));
        continue;
      }
      const a = lowBytes(words[w + 1]!, length);
      const b = lowBytes(words[w + 2]!, length - 4);
      const c = lowBytes(words[w + 3]!, length - 8);
      const slot = (Math.imul(length ^ Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca6b) ^ Math.imul(c, 0xc2b2ae35), 0x27d4eb2f) >>> 20) & (CACHE_SLOTS - 1);
      const k = 4 * slot;
      let value = this.strings[slot];
      if (value === undefined || keys[k] !== length || keys[k + 1] !== a || keys[k + 2] !== b || keys[k + 3] !== c) {
        value = this.text.decode(bytes.subarray(16 * row + 4, 16 * row + 4 + length));
        this.strings[slot] = value;
        keys[k] = length;
        keys[k + 1] = a;
        keys[k + 2] = b;
        keys[k + 3] = c;
      }
      out[i] = value;
    }
  }
}

/** A typed array whose elements DuckDB stores in the same bytes (FLOAT, BIGINT). */
export type NumericColumn = Float32Array | BigInt64Array;

/**
 * Copies `rows` rows of `width` values each, from row `from` of `values`, into `vector` (an ARRAY
 * vector's child when width > 1). One native copy; the vector must have room for them.
 */
export function writeNumbers(vector: duckdb.Vector, values: NumericColumn, from: number, rows: number, width: number): void {
  const target = width > 1 ? duckdb.array_vector_get_child(vector) : vector;
  const size = values.BYTES_PER_ELEMENT;
  duckdb.copy_data_to_vector(target, 0, values.buffer as ArrayBuffer, values.byteOffset + from * width * size, rows * width * size);
}

/** Writes `rows` strings from index `from` of `values` into a VARCHAR vector, one native call each. */
export function writeStrings(vector: duckdb.Vector, values: readonly string[], from: number, rows: number): void {
  for (let i = 0; i < rows; i++) duckdb.vector_assign_string_element(vector, i, values[from + i]!);
}
