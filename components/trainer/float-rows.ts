import duckdb from '@duckdb/node-bindings';
import { DuckDBListType, DuckDBTypeId, type DuckDBType } from '@duckdb/node-api';
import { floatValues } from '../data/duckdb-vectors';

/**
 * A chunk's FLOAT or FLOAT[] column as `width` float32 values a row, read from DuckDB's vectors as they
 * come out of the Parquet reader: the Transform's float32 outputs read back as these types (a FLOAT[w]
 * output, such as a one-hot encoding, as FLOAT[]: Parquet keeps no fixed size), and casting them to
 * DOUBLE in SQL, then narrowing each value back in JavaScript, took most of the Trainer's read of a split.
 *
 * A NULL row or element reads as NaN (as `coalesce(…, 'NaN')` made it before), so the caller's checks
 * name it the same way. The rows come as a view over the chunk's memory when nothing is NULL and (a
 * list) they lie end to end, which is how DuckDB's Parquet reader lays them out; otherwise as a copy.
 */

/** Whether a column of `type` holds `width` FLOAT values a row in a layout `floatRows` reads. */
export function readsAsFloatRows(type: DuckDBType, width: number): boolean {
  if (width === 1) return type.typeId === DuckDBTypeId.FLOAT;
  return type instanceof DuckDBListType && type.valueType.typeId === DuckDBTypeId.FLOAT;
}

/** A vector's validity mask over `count` entries (a bit each, set when valid), or null when all are valid. */
function validity(vector: duckdb.Vector, count: number): Uint8Array | null {
  return duckdb.vector_get_validity(vector, Math.ceil(count / 64) * 8);
}

function valid(mask: Uint8Array | null, i: number): boolean {
  return mask === null || (mask[i >>> 3]! & (1 << (i & 7))) !== 0;
}

/** `values`, with every entry `mask` marks NULL (from `maskStart` on) set to NaN, as a copy when there is one. */
function nullsAsNaN(values: Float32Array, mask: Uint8Array | null, maskStart: number): Float32Array {
  if (mask === null) return values;
  let out: Float32Array | undefined;
  const end = maskStart + values.length;
  for (let i = maskStart; i < end; i++) {
    // Eight valid entries at once: DuckDB may keep a mask with nothing NULL in it.
    if ((i & 7) === 0 && i + 8 <= end && mask[i >>> 3] === 0xff) {
      i += 7;
      continue;
    }
    if (valid(mask, i)) continue;
    out ??= values.slice();
    out[i - maskStart] = NaN;
  }
  return out ?? values;
}

/**
 * The `rows` rows of `vector` (of a type `readsAsFloatRows` accepts for `width`), `width` values each,
 * valid while the chunk lives. A list row with other than `width` values is an error naming `column`
 * and its row, counted from `firstRow`.
 */
export function floatRows(vector: duckdb.Vector, rows: number, width: number, where: { column: string; firstRow: number }): Float32Array {
  const rowMask = validity(vector, rows);
  if (width === 1) return nullsAsNaN(floatValues(vector, rows), rowMask, 0);
  const child = duckdb.list_vector_get_child(vector);
  const size = duckdb.list_vector_get_size(vector);
  const values = floatValues(child, size);
  const childMask = validity(child, size);
  // A list_entry_t a row: uint64 offset, uint64 length, read as their low and high 32-bit words.
  const entryBytes = duckdb.vector_get_data(vector, rows * 16);
  const entries = new Uint32Array(entryBytes.buffer, entryBytes.byteOffset, rows * 4);
  const offset = (r: number) => entries[4 * r]! + entries[4 * r + 1]! * 2 ** 32;
  const length = (r: number) => entries[4 * r + 2]! + entries[4 * r + 3]! * 2 ** 32;
  const first = rows > 0 ? offset(0) : 0;
  let endToEnd = true;
  for (let r = 0; r < rows; r++) {
    if (!valid(rowMask, r)) {
      endToEnd = false;
      continue;
    }
    if (length(r) !== width) throw new Error(`"${where.column}" row ${where.firstRow + r} has ${length(r)} values, not ${width}`);
    if (offset(r) !== first + r * width) endToEnd = false;
  }
  if (endToEnd) return nullsAsNaN(values.subarray(first, first + rows * width), childMask, first);
  const out = new Float32Array(rows * width).fill(NaN);
  for (let r = 0; r < rows; r++) {
    if (valid(rowMask, r)) out.set(nullsAsNaN(values.subarray(offset(r), offset(r) + width), childMask, offset(r)), r * width);
  }
  return out;
}
