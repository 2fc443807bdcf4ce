import { z } from 'zod';
import { ServingError } from './errors';

/** Every datatype name of the Open Inference Protocol. */
export const OIP_DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
  'BF16',
] as const;
export const OipDatatypeSchema = z.enum(OIP_DATATYPES);
export type OipDatatype = z.infer<typeof OipDatatypeSchema>;

/** onnxruntime-node tensor element types mlpipe can carry (it has no bfloat16). */
export type OrtElementType =
  | 'bool'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'float16'
  | 'float32'
  | 'float64'
  | 'string';

export type NumericArray =
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Float32Array
  | Float64Array;

/** Tensor contents, flat and row-major. BYTES elements are strings, which is what onnxruntime-node takes. */
export type TensorData = NumericArray | string[];

type ElementKind = 'bool' | 'int' | 'bigint' | 'float' | 'half' | 'bytes';

interface DatatypeInfo {
  ort: OrtElementType;
  /** Bytes per element in the raw (binary) encoding; 0 for BYTES, whose elements carry their own length. */
  size: number;
  kind: ElementKind;
  /** Triton's model-config name, e.g. TYPE_FP32. */
  tritonType: string;
  create: (length: number) => TensorData;
  /** Inclusive range for integer kinds. */
  min?: number | bigint;
  max?: number | bigint;
}

const DATATYPES: Partial<Record<OipDatatype, DatatypeInfo>> = {
  BOOL: { ort: 'bool', size: 1, kind: 'bool', tritonType: 'TYPE_BOOL', create: (n) => new Uint8Array(n) },
  UINT8: { ort: 'uint8', size: 1, kind: 'int', tritonType: 'TYPE_UINT8', create: (n) => new Uint8Array(n), min: 0, max: 255 },
  UINT16: { ort: 'uint16', size: 2, kind: 'int', tritonType: 'TYPE_UINT16', create: (n) => new Uint16Array(n), min: 0, max: 65535 },
  UINT32: { ort: 'uint32', size: 4, kind: 'int', tritonType: 'TYPE_UINT32', create: (n) => new Uint32Array(n), min: 0, max: 4294967295 },
  UINT64: {
    ort: 'uint64',
    size: 8,
    kind: 'bigint',
    tritonType: 'TYPE_UINT64',
    create: (n) => new BigUint64Array(n),
    min: 0n,
    max: 18446744073709551615n,
  },
  INT8: { ort: 'int8', size: 1, kind: 'int', tritonType: 'TYPE_INT8', create: (n) => new Int8Array(n), min: -128, max: 127 },
  INT16: { ort: 'int16', size: 2, kind: 'int', tritonType: 'TYPE_INT16', create: (n) => new Int16Array(n), min: -32768, max: 32767 },
  INT32: {
    ort: 'int32',
    size: 4,
    kind: 'int',
    tritonType: 'TYPE_INT32',
    create: (n) => new Int32Array(n),
    min: -2147483648,
    max: 2147483647,
  },
  INT64: {
    ort: 'int64',
    size: 8,
    kind: 'bigint',
    tritonType: 'TYPE_INT64',
    create: (n) => new BigInt64Array(n),
    min: -9223372036854775808n,
    max: 9223372036854775807n,
  },
  FP16: { ort: 'float16', size: 2, kind: 'half', tritonType: 'TYPE_FP16', create: (n) => new Uint16Array(n) },
  FP32: { ort: 'float32', size: 4, kind: 'float', tritonType: 'TYPE_FP32', create: (n) => new Float32Array(n) },
  FP64: { ort: 'float64', size: 8, kind: 'float', tritonType: 'TYPE_FP64', create: (n) => new Float64Array(n) },
  BYTES: { ort: 'string', size: 0, kind: 'bytes', tritonType: 'TYPE_STRING', create: (n) => new Array<string>(n).fill('') },
};

export const SUPPORTED_DATATYPES: readonly OipDatatype[] = OIP_DATATYPES.filter((d) => DATATYPES[d] !== undefined);

function info(datatype: OipDatatype): DatatypeInfo {
  const found = DATATYPES[datatype];
  if (!found) throw new ServingError('invalid_argument', `datatype ${datatype} is not supported by onnxruntime-node`);
  return found;
}

export function isSupportedDatatype(datatype: string): datatype is OipDatatype {
  return (OIP_DATATYPES as readonly string[]).includes(datatype) && DATATYPES[datatype as OipDatatype] !== undefined;
}

export function ortTypeOf(datatype: OipDatatype): OrtElementType {
  return info(datatype).ort;
}

export function tritonTypeOf(datatype: OipDatatype): string {
  return info(datatype).tritonType;
}

export function datatypeOfTritonType(tritonType: string): OipDatatype | undefined {
  return SUPPORTED_DATATYPES.find((d) => DATATYPES[d]!.tritonType === tritonType);
}

export function datatypeOfOrtType(ortType: string): OipDatatype | undefined {
  return SUPPORTED_DATATYPES.find((d) => DATATYPES[d]!.ort === ortType);
}

export function createTensorData(datatype: OipDatatype, length: number): TensorData {
  return info(datatype).create(length);
}

// --- FP16 <-> number (IEEE 754 half precision; onnxruntime-node carries FP16 as raw Uint16 bits) ---

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function numberToHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1))) half++;
    return sign | half;
  }
  let half = sign | (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1))) half++;
  return half;
}

export function halfBitsToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

// --- JSON tensors ---

function flattenInto(value: unknown, out: unknown[], depth: number): void {
  if (Array.isArray(value)) {
    if (depth > 64) throw new ServingError('invalid_argument', 'data is nested more than 64 levels deep');
    for (const v of value) flattenInto(v, out, depth + 1);
  } else {
    out.push(value);
  }
}

/** OIP allows tensor data nested per dimension or flat; both become one flat list. */
function flatten(data: readonly unknown[]): readonly unknown[] {
  for (const v of data) {
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      flattenInto(data, out, 0);
      return out;
    }
  }
  return data;
}

function describeValue(v: unknown): string {
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}...` : v)}`;
  if (v === null) return 'null';
  if (typeof v === 'object') return Array.isArray(v) ? 'an array' : 'an object';
  return `${typeof v} ${String(v)}`;
}

function badElement(what: string, flat: readonly unknown[], i: number, expected: string): never {
  throw new ServingError('invalid_argument', `${what}: element ${i} is ${describeValue(flat[i])}, expected ${expected}`);
}

/**
 * Converts the `data` of a JSON tensor into a typed array, checking element count and every element's
 * type and range; `what` names the tensor in errors.
 */
export function tensorDataFromJson(datatype: OipDatatype, data: readonly unknown[], count: number, what: string): TensorData {
  const d = info(datatype);
  const flat = flatten(data);
  if (flat.length !== count) {
    throw new ServingError('invalid_argument', `${what}: shape needs ${count} elements but data has ${flat.length}`);
  }
  switch (d.kind) {
    case 'bytes': {
      const out = new Array<string>(count);
      for (let i = 0; i < count; i++) {
        const v = flat[i];
        if (typeof v !== 'string') badElement(what, flat, i, 'a string');
        out[i] = v as string;
      }
      return out;
    }
    case 'bool': {
      const out = new Uint8Array(count);
      for (let i = 0; i < count; i++) {
        const v = flat[i];
        if (typeof v !== 'boolean') badElement(what, flat, i, 'true or false');
        out[i] = v ? 1 : 0;
      }
      return out;
    }
    case 'float': {
      const out = d.create(count) as Float32Array | Float64Array;
      for (let i = 0; i < count; i++) {
        const v = flat[i];
        if (typeof v !== 'number') badElement(what, flat, i, 'a number');
        out[i] = v as number;
      }
      return out;
    }
    case 'half': {
      const out = new Uint16Array(count);
      for (let i = 0; i < count; i++) {
        const v = flat[i];
        if (typeof v !== 'number') badElement(what, flat, i, 'a number');
        out[i] = numberToHalfBits(v as number);
      }
      return out;
    }
    case 'int': {
      const out = d.create(count) as Exclude<NumericArray, BigInt64Array | BigUint64Array>;
      const min = d.min as number;
      const max = d.max as number;
      for (let i = 0; i < count; i++) {
        const v = flat[i];
        if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) badElement(what, flat, i, `an integer in [${min}, ${max}]`);
        out[i] = v as number;
      }
      return out;
    }
    case 'bigint': {
      const out = d.create(count) as BigInt64Array | BigUint64Array;
      const min = d.min as bigint;
      const max = d.max as bigint;
      for (let i = 0; i < count; i++) {
        const v = flat[i];
        if (typeof v !== 'number' || !Number.isInteger(v)) badElement(what, flat, i, `an integer in [${min}, ${max}]`);
        const b = BigInt(v as number);
        if (b < min || b > max) badElement(what, flat, i, `an integer in [${min}, ${max}]`);
        out[i] = b;
      }
      return out;
    }
  }
}

function jsonNumberList(values: ArrayLike<number>): string {
  let s = '[';
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    // JSON has no NaN or Infinity; null is what JSON.stringify writes for them too.
    s += (i === 0 ? '' : ',') + (Number.isFinite(v) ? String(v) : 'null');
  }
  return s + ']';
}

/** The JSON text of a tensor's flat `data` list; int64 values keep every digit. */
export function tensorDataToJson(datatype: OipDatatype, data: TensorData): string {
  const d = info(datatype);
  switch (d.kind) {
    case 'bytes':
      return JSON.stringify(data);
    case 'bool':
      return JSON.stringify(Array.from(data as Uint8Array, (v) => v !== 0));
    case 'half':
      return jsonNumberList(Array.from(data as Uint16Array, halfBitsToNumber));
    case 'bigint':
      return `[${(data as BigInt64Array).join(',')}]`;
    case 'int':
      return `[${(data as Int32Array).join(',')}]`;
    case 'float':
      return jsonNumberList(data as Float32Array);
  }
}

// --- raw (binary) tensors: little-endian, row-major; BYTES elements are a 4-byte length then the bytes ---

/** Decodes raw tensor bytes (the binary extension, gRPC raw_input_contents) into a typed array. */
export function tensorDataFromRaw(datatype: OipDatatype, raw: Uint8Array, count: number, what: string): TensorData {
  const d = info(datatype);
  if (d.kind === 'bytes') {
    if (count * 4 > raw.byteLength) {
      throw new ServingError('invalid_argument', `${what}: ${count} BYTES elements need at least ${count * 4} bytes but got ${raw.byteLength}`);
    }
    const out = new Array<string>(count);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    let offset = 0;
    for (let i = 0; i < count; i++) {
      if (offset + 4 > raw.byteLength) {
        throw new ServingError('invalid_argument', `${what}: raw BYTES data ends at element ${i} of ${count}`);
      }
      const len = view.getUint32(offset, true);
      offset += 4;
      if (offset + len > raw.byteLength) {
        throw new ServingError('invalid_argument', `${what}: raw BYTES element ${i} claims ${len} bytes past the end of the data`);
      }
      out[i] = Buffer.from(raw.buffer, raw.byteOffset + offset, len).toString('utf8');
      offset += len;
    }
    if (offset !== raw.byteLength) {
      throw new ServingError('invalid_argument', `${what}: ${raw.byteLength - offset} bytes left after ${count} BYTES elements`);
    }
    return out;
  }
  if (raw.byteLength !== count * d.size) {
    throw new ServingError('invalid_argument', `${what}: shape needs ${count * d.size} bytes of ${datatype} but got ${raw.byteLength}`);
  }
  const out = d.create(count) as NumericArray;
  // Copy so the result is aligned and owns its memory (the input may be a slice of a request body).
  new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(raw);
  if (d.kind === 'bool') {
    const bools = out as Uint8Array;
    for (let i = 0; i < count; i++) {
      if (bools[i]! > 1) throw new ServingError('invalid_argument', `${what}: BOOL element ${i} is byte ${bools[i]}, expected 0 or 1`);
    }
  }
  return out;
}

/** Encodes a tensor as raw bytes, the inverse of tensorDataFromRaw. */
export function tensorDataToRaw(datatype: OipDatatype, data: TensorData): Buffer {
  if (Array.isArray(data)) {
    const parts = data.map((s) => Buffer.from(s, 'utf8'));
    const out = Buffer.allocUnsafe(parts.reduce((n, p) => n + 4 + p.byteLength, 0));
    let offset = 0;
    for (const p of parts) {
      out.writeUInt32LE(p.byteLength, offset);
      p.copy(out, offset + 4);
      offset += 4 + p.byteLength;
    }
    return out;
  }
  info(datatype);
  const typed = data as NumericArray;
  return Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength);
}
