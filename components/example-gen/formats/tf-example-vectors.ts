/**
 * tf.Example feature values written straight from a record's bytes into DuckDB vectors, a batch of
 * rows at a time, with no JavaScript value per cell: int64 varints become the two 32-bit halves of a
 * BIGINT (exact, no BigInt), float32 values are copied as their 4 stored bytes (bit-exact), strings and
 * blobs of up to 12 bytes are written inline as DuckDB's 16-byte string_t, longer ones through one
 * native call each. Each column's values are then copied into its vector in one call.
 *
 * This writes DuckDB's vector memory layout (little-endian, as every platform DuckDB's Node package
 * ships for): BIGINT, FLOAT, string_t for VARCHAR and BLOB, and LIST as (offset, length) uint64 pairs
 * over a child vector; the validity mask is uint64 words, bit i for row i.
 */
import duckdb from '@duckdb/node-bindings';
import { bytesValueAt, isUtf8Range, type FeatureSpans } from './tf-example-scan';

// The stores below lay values out in the host's byte order; DuckDB's vectors are little-endian.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('the TFRecord reader writes DuckDB vectors in little-endian byte order, and this machine is big-endian');
}

/** Values of one kind, appended in row order and copied into a vector as a block. */
interface ValueStore {
  size: number;
  /** Appends entry k's values; returns false when a value is not valid UTF-8 in a VARCHAR column. */
  append(spans: FeatureSpans, k: number): boolean;
  /** A placeholder under a NULL row of a one-value column. */
  appendZero(): void;
  /** Copies the values into `vector` (with room for them) and empties the store. */
  writeTo(vector: duckdb.Vector): void;
}

/** Bytes grown by doubling, keeping what they hold. */
function grown(bytes: Uint8Array<ArrayBuffer>, needed: number): Uint8Array<ArrayBuffer> {
  if (needed <= bytes.length) return bytes;
  const bigger = new Uint8Array(Math.max(needed, bytes.length * 2));
  bigger.set(bytes);
  return bigger;
}

class Int64Store implements ValueStore {
  size = 0;
  private bytes = new Uint8Array(8 * 2048);
  private words = new Uint32Array(this.bytes.buffer);

  private reserve(count: number): void {
    const bytes = grown(this.bytes, 8 * (this.size + count));
    if (bytes !== this.bytes) {
      this.bytes = bytes;
      this.words = new Uint32Array(bytes.buffer);
    }
  }

  append(spans: FeatureSpans, k: number): boolean {
    const count = spans.valueCount[k]!;
    this.reserve(count);
    const bytes = spans.bytes;
    const words = this.words;
    let pos = spans.valuesStart[k]!;
    for (let n = 0; n < count; n++) {
      // A varint's 7-bit groups: the first four and a half fill the low word, the rest the high word
      // (a negative value's tenth byte carries the sign bit, bit 63).
      let lo = 0;
      let hi = 0;
      let b = bytes[pos++]!;
      lo = b & 0x7f;
      if (b >= 0x80) {
        b = bytes[pos++]!;
        lo |= (b & 0x7f) << 7;
        if (b >= 0x80) {
          b = bytes[pos++]!;
          lo |= (b & 0x7f) << 14;
          if (b >= 0x80) {
            b = bytes[pos++]!;
            lo |= (b & 0x7f) << 21;
            if (b >= 0x80) {
              b = bytes[pos++]!;
              lo |= (b & 0x0f) << 28;
              hi = (b & 0x7f) >>> 4;
              for (let shift = 3; b >= 0x80; shift += 7) {
                b = bytes[pos++]!;
                hi |= (b & 0x7f) << shift;
              }
            }
          }
        }
      }
      words[2 * this.size] = lo >>> 0;
      words[2 * this.size + 1] = hi >>> 0;
      this.size++;
    }
    return true;
  }

  appendZero(): void {
    this.reserve(1);
    this.words[2 * this.size] = 0;
    this.words[2 * this.size + 1] = 0;
    this.size++;
  }

  writeTo(vector: duckdb.Vector): void {
    duckdb.copy_data_to_vector(vector, 0, this.bytes.buffer, 0, 8 * this.size);
    this.size = 0;
  }
}

class FloatStore implements ValueStore {
  size = 0;
  private bytes = new Uint8Array(4 * 2048);

  append(spans: FeatureSpans, k: number): boolean {
    const start = spans.valuesStart[k]!;
    const length = spans.valuesEnd[k]! - start;
    this.bytes = grown(this.bytes, 4 * this.size + length);
    const source = spans.bytes;
    const target = this.bytes;
    const at = 4 * this.size;
    for (let i = 0; i < length; i++) target[at + i] = source[start + i]!;
    this.size += length / 4;
    return true;
  }

  appendZero(): void {
    this.bytes = grown(this.bytes, 4 * (this.size + 1));
    this.bytes.fill(0, 4 * this.size, 4 * this.size + 4);
    this.size++;
  }

  writeTo(vector: duckdb.Vector): void {
    duckdb.copy_data_to_vector(vector, 0, this.bytes.buffer, 0, 4 * this.size);
    this.size = 0;
  }
}

/** DuckDB keeps a string of up to this many bytes inside its 16-byte string_t. */
const INLINE_STRING_BYTES = 12;

/** Distinct long values a batch looks up (twice as many slots keeps probes short). */
const DISTINCT_SLOTS = 4096;

/**
 * A batch's values too long to inline, each distinct one assigned once. DuckDB copies an assigned
 * string into the vector's heap and points the value's string_t at it; a repeat takes a copy of that
 * string_t, read back from the vector, instead of a native call of its own (about 0.2 µs each, the
 * largest cost of a column of 19-byte timestamps, which repeat 14 times per batch in flights).
 */
class LongStrings {
  private count = 0;
  /** Per long value: its index in the vector, its bytes, and the long value it repeats (itself when new). */
  private index = new Int32Array(256);
  private start = new Int32Array(256);
  private end = new Int32Array(256);
  private original = new Int32Array(256);
  private source: Uint8Array[] = [];
  /** Open addressing by hash of the bytes: 1 + the long value first holding them, 0 for free. */
  private readonly slots = new Int32Array(DISTINCT_SLOTS);
  private distinct = 0;

  add(index: number, source: Uint8Array, start: number, end: number): void {
    const n = this.count++;
    if (n === this.index.length) this.grow();
    this.index[n] = index;
    this.source[n] = source;
    this.start[n] = start;
    this.end[n] = end;
    this.original[n] = this.findOrInsert(n, source, start, end);
  }

  private grow(): void {
    const twice = (a: Int32Array) => {
      const bigger = new Int32Array(a.length * 2);
      bigger.set(a);
      return bigger;
    };
    this.index = twice(this.index);
    this.start = twice(this.start);
    this.end = twice(this.end);
    this.original = twice(this.original);
  }

  private findOrInsert(n: number, source: Uint8Array, start: number, end: number): number {
    let hash = 0x811c9dc5;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ source[i]!, 0x01000193);
    for (let slot = hash & (DISTINCT_SLOTS - 1); ; slot = (slot + 1) & (DISTINCT_SLOTS - 1)) {
      const held = this.slots[slot]! - 1;
      if (held < 0) {
        // Past half full, probes grow long: later values go in as they are.
        if (2 * this.distinct < DISTINCT_SLOTS) {
          this.slots[slot] = n + 1;
          this.distinct++;
        }
        return n;
      }
      if (this.end[held]! - this.start[held]! === end - start && sameRange(this.source[held]!, this.start[held]!, source, start, end)) return held;
    }
  }

  /** Assigns the values into `vector`, whose string_t array (`count` values) is already written. */
  assign(vector: duckdb.Vector, count: number): void {
    let repeats = false;
    for (let n = 0; n < this.count; n++) {
      if (this.original[n] === n) {
        duckdb.vector_assign_string_element_len(vector, this.index[n]!, this.source[n]!.subarray(this.start[n], this.end[n]));
      } else {
        repeats = true;
      }
    }
    if (repeats) {
      const written = duckdb.vector_get_data(vector, 16 * count);
      for (let n = 0; n < this.count; n++) {
        const from = 16 * this.index[this.original[n]!]!;
        const to = 16 * this.index[n]!;
        for (let i = 0; i < 16; i++) written[to + i] = written[from + i]!;
      }
      duckdb.copy_data_to_vector(vector, 0, written.buffer as ArrayBuffer, written.byteOffset, 16 * count);
    }
    this.count = 0;
    this.distinct = 0;
    this.slots.fill(0);
    this.source.length = 0;
  }
}

function sameRange(a: Uint8Array, aStart: number, b: Uint8Array, bStart: number, bEnd: number): boolean {
  for (let i = 0; i < bEnd - bStart; i++) if (a[aStart + i] !== b[bStart + i]) return false;
  return true;
}

/** VARCHAR (values checked as UTF-8) or BLOB. */
class StringStore implements ValueStore {
  size = 0;
  /** string_t per value: uint32 length, then the bytes inline (zero-padded) when they fit. */
  private bytes = new Uint8Array(16 * 2048);
  private readonly long = new LongStrings();
  private readonly range = new Int32Array(2);

  constructor(private readonly utf8: boolean) {}

  append(spans: FeatureSpans, k: number): boolean {
    const count = spans.valueCount[k]!;
    this.bytes = grown(this.bytes, 16 * (this.size + count));
    const source = spans.bytes;
    const end = spans.valuesEnd[k]!;
    const range = this.range;
    let pos = spans.valuesStart[k]!;
    for (let n = 0; n < count; n++) {
      let start: number;
      let length = source[pos + 1]!;
      // A value's tag, then its length: one byte below 128, read here; longer ones by the scanner's reader.
      if (length < 0x80) {
        start = pos + 2;
        pos = start + length;
      } else {
        bytesValueAt(source, pos, end, range);
        start = range[0]!;
        pos = range[1]!;
        length = pos - start;
      }
      if (this.utf8 && !isUtf8Range(source, start, pos)) return false;
      if (length <= INLINE_STRING_BYTES) {
        // The length's other three bytes stay zero, as the value's unused inline bytes do.
        const at = 16 * this.size;
        const target = this.bytes;
        target[at] = length;
        for (let i = 0; i < length; i++) target[at + 4 + i] = source[start + i]!;
      } else {
        this.long.add(this.size, source, start, pos);
      }
      this.size++;
    }
    return true;
  }

  appendZero(): void {
    this.bytes = grown(this.bytes, 16 * (this.size + 1));
    this.size++;
  }

  writeTo(vector: duckdb.Vector): void {
    duckdb.copy_data_to_vector(vector, 0, this.bytes.buffer, 0, 16 * this.size);
    this.long.assign(vector, this.size);
    this.bytes.fill(0, 0, 16 * this.size);
    this.size = 0;
  }
}

export type ValueKind = 'int64' | 'float' | 'varchar' | 'blob';

function storeOf(kind: ValueKind): ValueStore {
  switch (kind) {
    case 'int64':
      return new Int64Store();
    case 'float':
      return new FloatStore();
    case 'varchar':
      return new StringStore(true);
    case 'blob':
      return new StringStore(false);
  }
}

/** NULL bits of a batch's rows, in DuckDB's layout; all valid until a row is cleared. */
class Validity {
  private readonly bits: Uint8Array<ArrayBuffer>;
  private anyNull = false;

  constructor(capacity: number) {
    this.bits = new Uint8Array(8 * Math.ceil(capacity / 64)).fill(0xff);
  }

  clear(row: number): void {
    this.anyNull = true;
    this.bits[row >>> 3]! &= ~(1 << (row & 7));
  }

  writeTo(vector: duckdb.Vector, rowCount: number): void {
    if (!this.anyNull) return;
    duckdb.vector_ensure_validity_writable(vector);
    duckdb.copy_data_to_vector_validity(vector, 0, this.bits.buffer, 0, 8 * Math.ceil(rowCount / 64));
    this.bits.fill(0xff);
    this.anyNull = false;
  }
}

/**
 * One column of a batch: row r takes entry k's values (`set`) or stays NULL (rows never set are NULL).
 * Rows are set in increasing order, each at most once, fewer than the column's capacity.
 */
export interface FeatureColumn {
  /** False when a value is not valid UTF-8 in a VARCHAR column. */
  set(row: number, spans: FeatureSpans, k: number): boolean;
  /** Writes rows [0, rowCount) into `vector` and empties the column for the next batch. */
  writeTo(vector: duckdb.Vector, rowCount: number): void;
}

/** One value per row (a feature never holding more than one). */
class ScalarColumn implements FeatureColumn {
  private readonly values: ValueStore;
  private readonly validity: Validity;

  constructor(kind: ValueKind, capacity: number) {
    this.values = storeOf(kind);
    this.validity = new Validity(capacity);
  }

  private fillNullsTo(row: number): void {
    while (this.values.size < row) {
      this.validity.clear(this.values.size);
      this.values.appendZero();
    }
  }

  set(row: number, spans: FeatureSpans, k: number): boolean {
    if (this.values.size < row) this.fillNullsTo(row);
    return this.values.append(spans, k);
  }

  writeTo(vector: duckdb.Vector, rowCount: number): void {
    this.fillNullsTo(rowCount);
    this.values.writeTo(vector);
    this.validity.writeTo(vector, rowCount);
  }
}

/** A LIST per row: (offset, length) into a child vector holding every row's values. */
class ListColumn implements FeatureColumn {
  private readonly values: ValueStore;
  private readonly validity: Validity;
  /** Per row: offset and length, each a uint64 as two uint32 words. */
  private readonly entries: Uint32Array<ArrayBuffer>;
  private rows = 0;

  constructor(kind: ValueKind, capacity: number) {
    this.values = storeOf(kind);
    this.validity = new Validity(capacity);
    this.entries = new Uint32Array(4 * capacity);
  }

  private nextRow(): void {
    this.entries[4 * this.rows] = this.values.size;
    this.entries[4 * this.rows + 1] = 0;
    this.entries[4 * this.rows + 2] = 0;
    this.entries[4 * this.rows + 3] = 0;
    this.rows++;
  }

  private fillNullsTo(row: number): void {
    while (this.rows < row) {
      this.validity.clear(this.rows);
      this.nextRow();
    }
  }

  set(row: number, spans: FeatureSpans, k: number): boolean {
    this.fillNullsTo(row);
    this.nextRow();
    this.entries[4 * row + 2] = spans.valueCount[k]!;
    return this.values.append(spans, k);
  }

  writeTo(vector: duckdb.Vector, rowCount: number): void {
    this.fillNullsTo(rowCount);
    const childSize = this.values.size;
    duckdb.list_vector_reserve(vector, childSize);
    duckdb.list_vector_set_size(vector, childSize);
    this.values.writeTo(duckdb.list_vector_get_child(vector));
    duckdb.copy_data_to_vector(vector, 0, this.entries.buffer, 0, 16 * rowCount);
    this.validity.writeTo(vector, rowCount);
    this.rows = 0;
  }
}

/** A column for batches of up to `capacity` rows. */
export function featureColumn(kind: ValueKind, list: boolean, capacity: number): FeatureColumn {
  return list ? new ListColumn(kind, capacity) : new ScalarColumn(kind, capacity);
}
