/**
 * tf.Example (tensorflow/core/example/{example,feature}.proto, vendored next to this file) on the
 * wire: a decoder and TFX's deterministic serialisation.
 *
 * Written by hand rather than through protobufjs because the reader needs what a generic decoder does
 * not give: int64 values exact (bigint, not a lossy number), float32 values as their stored bits (so a
 * re-serialisation is byte-exact), the byte offset of a malformed field, and map entries in the
 * deterministic order TFX hashes (sorted by the UTF-8 bytes of the feature name). The test suite checks
 * it against protobufjs reading the vendored .proto.
 *
 * Parsing follows protobuf's rules: fields may come in any order; a repeated occurrence of a message
 * field merges into the earlier one (a oneof switching kind replaces it); a later map entry with the
 * same key replaces the earlier one; packed and unpacked repeated scalars are both accepted; a known
 * field number with an unexpected wire type, and any other field number, is an unknown field and is
 * skipped (and remembered, since TFX would keep it in the bytes it hashes).
 */
import { isUtf8 } from 'node:buffer';

export type FeatureKind = 'bytes_list' | 'float_list' | 'int64_list';

export type Feature =
  | { kind: null }
  | { kind: 'bytes_list'; values: Uint8Array[] }
  /** `bits`: the float32 values as stored, 4 little-endian bytes each. */
  | { kind: 'float_list'; bits: Uint8Array }
  | { kind: 'int64_list'; values: bigint[] };

export interface TfExample {
  /** In first-appearance order; the key's UTF-8 bytes kept for the deterministic order. */
  features: Map<string, { nameBytes: Uint8Array; feature: Feature }>;
  /** Whether the `features` field was present at all (an empty Example serialises to no bytes). */
  hasFeatures: boolean;
  /** Whether any message held a field outside tf.Example's definition. */
  hasUnknownFields: boolean;
}

/** A record that does not parse as a tf.Example; `offset` is the byte within the record. */
export class ExampleDecodeError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'ExampleDecodeError';
  }
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

class WireReader {
  constructor(
    readonly buf: Uint8Array,
    public pos: number,
    readonly end: number,
  ) {}

  fail(message: string, at = this.pos): never {
    throw new ExampleDecodeError(message, at);
  }

  /** A varint known to fit 32 bits unsigned (tags, lengths); larger ones are rejected. */
  uint32(): number {
    const start = this.pos;
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.end) this.fail('truncated varint', start);
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) {
        if (result > 0xffffffff) this.fail('varint too large for a tag or length', start);
        return result;
      }
    }
    return this.fail('varint too large for a tag or length', start);
  }

  /** An int64 varint (two's complement in 10 bytes when negative). */
  int64(): bigint {
    const start = this.pos;
    let small = 0;
    // Up to 7 bytes (49 bits) add up exactly in a double: the common case, without BigInt arithmetic.
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) this.fail('truncated varint', start);
      const b = this.buf[this.pos++]!;
      small += (b & 0x7f) * 2 ** (7 * i);
      if (b < 0x80) return BigInt(small);
    }
    let big = BigInt(small);
    for (let i = 7; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint', start);
      const b = this.buf[this.pos++]!;
      big += BigInt(b & 0x7f) << BigInt(7 * i);
      if (b < 0x80) return BigInt.asIntN(64, big);
    }
    return this.fail('varint longer than 10 bytes', start);
  }

  /** The [start, end) of a length-delimited payload. */
  span(): [number, number] {
    const at = this.pos;
    const length = this.uint32();
    if (length > this.end - this.pos) this.fail(`length-delimited field of ${length} bytes runs past the end of its message`, at);
    const start = this.pos;
    this.pos += length;
    return [start, this.pos];
  }

  skip(wireType: number, tagAt: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.int64();
        return;
      case WIRE_FIXED64:
        this.advance(8);
        return;
      case WIRE_LEN:
        this.span();
        return;
      case WIRE_FIXED32:
        this.advance(4);
        return;
      default:
        this.fail(`wire type ${wireType} is not valid here`, tagAt);
    }
  }

  private advance(n: number): void {
    if (this.end - this.pos < n) this.fail('truncated fixed-width field');
    this.pos += n;
  }
}

interface DecodeState {
  hasUnknownFields: boolean;
}

function decodeBytesList(r: WireReader, into: Uint8Array[], state: DecodeState): void {
  while (r.pos < r.end) {
    const tagAt = r.pos;
    const tag = r.uint32();
    if (tag === ((1 << 3) | WIRE_LEN)) {
      const [s, e] = r.span();
      into.push(r.buf.subarray(s, e));
    } else {
      state.hasUnknownFields = true;
      r.skip(tag & 7, tagAt);
    }
  }
}

function decodeFloatList(r: WireReader, into: Uint8Array[], state: DecodeState): void {
  while (r.pos < r.end) {
    const tagAt = r.pos;
    const tag = r.uint32();
    if (tag === ((1 << 3) | WIRE_LEN)) {
      const [s, e] = r.span();
      if ((e - s) % 4 !== 0) r.fail(`packed float list of ${e - s} bytes is not a whole number of 4-byte floats`, tagAt);
      into.push(r.buf.subarray(s, e));
    } else if (tag === ((1 << 3) | WIRE_FIXED32)) {
      if (r.end - r.pos < 4) r.fail('truncated float');
      into.push(r.buf.subarray(r.pos, r.pos + 4));
      r.pos += 4;
    } else {
      state.hasUnknownFields = true;
      r.skip(tag & 7, tagAt);
    }
  }
}

function decodeInt64List(r: WireReader, into: bigint[], state: DecodeState): void {
  while (r.pos < r.end) {
    const tagAt = r.pos;
    const tag = r.uint32();
    if (tag === ((1 << 3) | WIRE_LEN)) {
      const [s, e] = r.span();
      const packed = new WireReader(r.buf, s, e);
      while (packed.pos < e) into.push(packed.int64());
    } else if (tag === ((1 << 3) | WIRE_VARINT)) {
      into.push(r.int64());
    } else {
      state.hasUnknownFields = true;
      r.skip(tag & 7, tagAt);
    }
  }
}

function concatBits(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  return Buffer.concat(parts);
}

/** Merges `r` (a Feature message) into `feature`, as protobuf merges a repeated message field. */
function decodeFeature(r: WireReader, feature: Feature, state: DecodeState): Feature {
  let current = feature;
  let floatParts: Uint8Array[] | undefined = current.kind === 'float_list' ? [current.bits] : undefined;
  while (r.pos < r.end) {
    const tagAt = r.pos;
    const tag = r.uint32();
    const field = tag >>> 3;
    if ((tag & 7) !== WIRE_LEN || field < 1 || field > 3) {
      state.hasUnknownFields = true;
      r.skip(tag & 7, tagAt);
      continue;
    }
    const [s, e] = r.span();
    const sub = new WireReader(r.buf, s, e);
    if (field === 1) {
      if (current.kind !== 'bytes_list') current = { kind: 'bytes_list', values: [] };
      decodeBytesList(sub, current.values, state);
    } else if (field === 2) {
      if (current.kind !== 'float_list') floatParts = [];
      floatParts!.push(...collectFloats(sub, state));
      current = { kind: 'float_list', bits: concatBits(floatParts!) };
    } else {
      if (current.kind !== 'int64_list') current = { kind: 'int64_list', values: [] };
      decodeInt64List(sub, current.values, state);
    }
  }
  return current;
}

function collectFloats(r: WireReader, state: DecodeState): Uint8Array[] {
  const parts: Uint8Array[] = [];
  decodeFloatList(r, parts, state);
  return parts;
}

function decodeMapEntry(r: WireReader, example: TfExample, state: DecodeState): void {
  let nameBytes: Uint8Array = new Uint8Array(0);
  let nameAt = r.pos;
  let feature: Feature = { kind: null };
  while (r.pos < r.end) {
    const tagAt = r.pos;
    const tag = r.uint32();
    if (tag === ((1 << 3) | WIRE_LEN)) {
      nameAt = tagAt;
      const [s, e] = r.span();
      nameBytes = r.buf.subarray(s, e);
    } else if (tag === ((2 << 3) | WIRE_LEN)) {
      const [s, e] = r.span();
      feature = decodeFeature(new WireReader(r.buf, s, e), feature, state);
    } else {
      state.hasUnknownFields = true;
      r.skip(tag & 7, tagAt);
    }
  }
  example.features.set(featureName(nameBytes, () => r.fail('feature name is not valid UTF-8', nameAt)), { nameBytes, feature });
}

/**
 * Feature names decoded before, by length: every record repeats the same few names, and comparing
 * their bytes is several times cheaper than validating and decoding UTF-8 again.
 */
const knownNames = new Map<number, Array<{ bytes: Buffer; name: string }>>();
const MAX_KNOWN_NAMES = 4096;
let knownNameCount = 0;

function featureName(bytes: Uint8Array, invalid: () => never): string {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sameLength = knownNames.get(view.length);
  const known = sameLength?.find((k) => k.bytes.equals(view));
  if (known) return known.name;
  if (!isUtf8(view)) invalid();
  const name = view.toString('utf8');
  if (knownNameCount < MAX_KNOWN_NAMES) {
    knownNameCount++;
    if (sameLength) sameLength.push({ bytes: Buffer.from(view), name });
    else knownNames.set(view.length, [{ bytes: Buffer.from(view), name }]);
  }
  return name;
}

function decodeFeatures(r: WireReader, example: TfExample, state: DecodeState): void {
  while (r.pos < r.end) {
    const tagAt = r.pos;
    const tag = r.uint32();
    if (tag === ((1 << 3) | WIRE_LEN)) {
      const [s, e] = r.span();
      decodeMapEntry(new WireReader(r.buf, s, e), example, state);
    } else {
      state.hasUnknownFields = true;
      r.skip(tag & 7, tagAt);
    }
  }
}

/** Parses one serialised tf.Example; throws ExampleDecodeError for bytes that are not one. */
export function decodeExample(bytes: Uint8Array): TfExample {
  const example: TfExample = { features: new Map(), hasFeatures: false, hasUnknownFields: false };
  const r = new WireReader(bytes, 0, bytes.length);
  while (r.pos < r.end) {
    const tagAt = r.pos;
    const tag = r.uint32();
    if (tag === ((1 << 3) | WIRE_LEN)) {
      example.hasFeatures = true;
      const [s, e] = r.span();
      decodeFeatures(new WireReader(bytes, s, e), example, example);
    } else {
      if (tag >>> 3 === 0) r.fail('field number 0 is not valid', tagAt);
      example.hasUnknownFields = true;
      r.skip(tag & 7, tagAt);
    }
  }
  return example;
}

/* ---- Deterministic serialisation ---------------------------------------------------------------- */

function varintBytes(value: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

/** `field` as a length-delimited field holding `parts`. */
function lengthDelimited(field: number, parts: readonly Uint8Array[]): Uint8Array[] {
  const length = parts.reduce((n, p) => n + p.length, 0);
  return [Uint8Array.from([(field << 3) | WIRE_LEN, ...varintBytes(length)]), ...parts];
}

function featureParts(feature: Feature): Uint8Array[] {
  switch (feature.kind) {
    case null:
      return [];
    case 'bytes_list':
      return lengthDelimited(1, feature.values.flatMap((v) => lengthDelimited(1, [v])));
    case 'float_list':
      return lengthDelimited(2, feature.bits.length ? lengthDelimited(1, [feature.bits]) : []);
    case 'int64_list': {
      const packed = Uint8Array.from(feature.values.flatMap((v) => varintBytes(v)));
      return lengthDelimited(3, feature.values.length ? lengthDelimited(1, [packed]) : []);
    }
  }
}

/** `Feature.SerializeToString(deterministic=True)`. */
export function serializeFeature(feature: Feature): Buffer {
  return Buffer.concat(featureParts(feature));
}

/**
 * `Example.SerializeToString(deterministic=True)`: map entries sorted by the bytes of their key, each
 * entry writing its key and value even when empty (as protobuf's map entries do).
 */
export function serializeExample(example: Pick<TfExample, 'features' | 'hasFeatures'>): Buffer {
  if (!example.hasFeatures) return Buffer.alloc(0);
  const entries = [...example.features.values()].sort((a, b) => Buffer.compare(a.nameBytes, b.nameBytes));
  const features = entries.flatMap((e) => lengthDelimited(1, [...lengthDelimited(1, [e.nameBytes]), ...lengthDelimited(2, featureParts(e.feature))]));
  return Buffer.concat(lengthDelimited(1, features));
}
