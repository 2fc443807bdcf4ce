/**
 * A tf.Example's features located in its wire bytes, without decoding a value or allocating: for each
 * map entry, where its name is, the kind of its list, where the list's values are and how many there
 * are. A reader that turns millions of records into columns runs this once per record and reads the
 * values it needs straight from the record's bytes (tf-example-vectors.ts).
 *
 * Only the layout every protobuf encoder writes is taken (see `scanExample`); anything else (unknown
 * fields, fields repeated so that protobuf merges them, unpacked numbers, malformed bytes) makes the
 * scan give up, and the caller falls back to the full decoder in tf-example.ts, which knows protobuf's
 * every rule and names the byte where a record goes wrong.
 */
import { isUtf8 } from 'node:buffer';

/** A Feature's kind, numbered as the `kind` oneof's fields: 0 when none is set. */
export const KIND_NONE = 0;
export const KIND_BYTES = 1;
export const KIND_FLOAT = 2;
export const KIND_INT64 = 3;

/**
 * The features of one record, as ranges of `bytes`. For entry k: the name is `[nameStart, nameEnd)`;
 * the values are `[valuesStart, valuesEnd)`, holding `valueCount` values: the packed payload of an
 * int64_list or float_list, the `value` fields of a bytes_list.
 */
export class FeatureSpans {
  /** A Buffer from the start, as every record's bytes are: one object shape keeps V8's code for it fast. */
  bytes: Uint8Array = Buffer.alloc(0);
  count = 0;
  nameStart = new Int32Array(16);
  nameEnd = new Int32Array(16);
  kind = new Uint8Array(16);
  valuesStart = new Int32Array(16);
  valuesEnd = new Int32Array(16);
  valueCount = new Int32Array(16);
  /** Filled by the caller: the column of each entry's name. */
  ids = new Int32Array(16);

  /** Makes room for entry `k`. */
  reserve(k: number): void {
    if (k < this.kind.length) return;
    const grow = <T extends Int32Array | Uint8Array>(a: T): T => {
      const bigger = new (a.constructor as new (n: number) => T)(a.length * 2);
      bigger.set(a);
      return bigger;
    };
    this.nameStart = grow(this.nameStart);
    this.nameEnd = grow(this.nameEnd);
    this.kind = grow(this.kind);
    this.valuesStart = grow(this.valuesStart);
    this.valuesEnd = grow(this.valuesEnd);
    this.valueCount = grow(this.valueCount);
    this.ids = grow(this.ids);
  }
}

/** Where `readLength` stopped: a module variable rather than a returned pair, which would allocate. */
let after = 0;

/** A varint of at most 4 bytes (a length below 2^28) at `pos`; -1 when there is none. */
function readLength(bytes: Uint8Array, pos: number, end: number): number {
  // Most lengths in an Example take one byte: kept small enough for V8 to inline.
  const first = pos < end ? bytes[pos]! : 0x80;
  if (first < 0x80) {
    after = pos + 1;
    return first;
  }
  return readLongLength(bytes, pos, end);
}

function readLongLength(bytes: Uint8Array, pos: number, end: number): number {
  let value = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= end) return -1;
    const b = bytes[pos++]!;
    value |= (b & 0x7f) << shift;
    if (b < 0x80) {
      after = pos;
      return value;
    }
  }
  return -1;
}

/**
 * Scans a serialised Example laid out as encoders write it: one `features` field; in it, map entries
 * holding their key and then (or not at all) their value; each Feature holding at most one list; each
 * numeric list packed into one field. Fills `out` and returns true, or returns false for any other
 * layout (the record may still be a valid Example).
 */
export function scanExample(bytes: Uint8Array, start: number, end: number, out: FeatureSpans): boolean {
  out.bytes = bytes;
  out.count = 0;
  if (start === end) return true;
  if (bytes[start] !== 0x0a) return false;
  const featuresLength = readLength(bytes, start + 1, end);
  if (featuresLength < 0 || after + featuresLength !== end) return false;
  let pos = after;
  while (pos < end) {
    if (bytes[pos] !== 0x0a) return false;
    const entryLength = readLength(bytes, pos + 1, end);
    if (entryLength < 0) return false;
    const entryEnd = after + entryLength;
    if (entryEnd > end || after === entryEnd || bytes[after] !== 0x0a) return false;
    const nameLength = readLength(bytes, after + 1, entryEnd);
    if (nameLength < 0 || after + nameLength > entryEnd) return false;
    const k = out.count;
    out.reserve(k);
    out.nameStart[k] = after;
    out.nameEnd[k] = after + nameLength;
    pos = after + nameLength;
    if (pos === entryEnd) {
      out.kind[k] = KIND_NONE;
      out.valueCount[k] = 0;
    } else {
      if (bytes[pos] !== 0x12) return false;
      const valueLength = readLength(bytes, pos + 1, entryEnd);
      if (valueLength < 0 || after + valueLength !== entryEnd || !scanFeature(bytes, after, entryEnd, out, k)) return false;
    }
    out.count++;
    pos = entryEnd;
  }
  return true;
}

/** Scans one serialised Feature into entry `k` of `out`; false for a layout `scanExample` does not take. */
export function scanFeature(bytes: Uint8Array, start: number, end: number, out: FeatureSpans, k: number): boolean {
  if (start === end) {
    out.kind[k] = KIND_NONE;
    out.valueCount[k] = 0;
    return true;
  }
  const tag = bytes[start]!;
  const kind = tag >>> 3;
  if ((tag & 7) !== 2 || kind < KIND_BYTES || kind > KIND_INT64) return false;
  const listLength = readLength(bytes, start + 1, end);
  if (listLength < 0 || after + listLength !== end) return false;
  const listStart = after;
  out.kind[k] = kind;
  if (kind === KIND_BYTES) {
    let count = 0;
    let pos = listStart;
    while (pos < end) {
      if (bytes[pos] !== 0x0a) return false;
      const length = readLength(bytes, pos + 1, end);
      if (length < 0 || after + length > end) return false;
      pos = after + length;
      count++;
    }
    out.valuesStart[k] = listStart;
    out.valuesEnd[k] = end;
    out.valueCount[k] = count;
    return true;
  }
  if (listStart === end) {
    out.valuesStart[k] = end;
    out.valuesEnd[k] = end;
    out.valueCount[k] = 0;
    return true;
  }
  if (bytes[listStart] !== 0x0a) return false;
  const packedLength = readLength(bytes, listStart + 1, end);
  if (packedLength < 0 || after + packedLength !== end) return false;
  out.valuesStart[k] = after;
  out.valuesEnd[k] = end;
  if (kind === KIND_FLOAT) {
    if (packedLength % 4 !== 0) return false;
    out.valueCount[k] = packedLength / 4;
    return true;
  }
  // Varints end at a byte below 0x80; an int64 takes at most 10 bytes.
  let count = 0;
  let run = 0;
  for (let pos = after; pos < end; pos++) {
    if (bytes[pos]! < 0x80) {
      count++;
      run = 0;
    } else if (++run === 10) {
      return false;
    }
  }
  if (run !== 0) return false;
  out.valueCount[k] = count;
  return true;
}

/** Whether `bytes[start, end)` is valid UTF-8; ASCII, the common case, without a native call. */
export function isUtf8Range(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    if (bytes[i]! >= 0x80) return isUtf8(bytes.subarray(i, end));
  }
  return true;
}

/**
 * The `value` field of a bytes_list at `pos`, among the values `scanFeature` located (so known to be
 * well formed): sets `range` to its bytes' [start, end), the next field starting at the end.
 */
export function bytesValueAt(bytes: Uint8Array, pos: number, end: number, range: Int32Array): void {
  const length = readLength(bytes, pos + 1, end);
  range[0] = after;
  range[1] = after + length;
}
