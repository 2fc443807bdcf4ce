import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import {
  BIGINT,
  BLOB,
  BOOLEAN,
  DATE,
  DECIMAL,
  DOUBLE,
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTimeValue,
  FLOAT,
  INTEGER,
  LIST,
  MAP,
  SMALLINT,
  STRUCT,
  TIME,
  TIMESTAMP,
  TINYINT,
  UBIGINT,
  UINTEGER,
  USMALLINT,
  UTINYINT,
  VARCHAR,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { DataType, makeVector, RecordBatchReader, type Data, type Field, type Vector } from 'apache-arrow';
import { UserInputError } from '../../../dsl/executor';
import { MAX_DECIMAL_PRECISION, timestampFromMicros, toMicros } from './column-types';
import type { RecordSource, SourceColumn } from './record-source';

/**
 * Arrow IPC, file ("ARROW1" at both ends, a footer indexing the record batches: read batch by batch
 * through random access) and stream (messages one after another: read front to back). A record batch
 * is the unit Arrow writes, so it is the most held in memory; its rows are handed on in slices.
 */

const FILE_MAGIC = Buffer.from('ARROW1', 'latin1');
/** Rows converted to JavaScript values at a time: bounds memory for a large record batch. */
const SLICE_ROWS = 16_384;
const MS_PER_DAY = 86_400_000;

type Getter = (index: number) => DuckDBValue;
interface Converter {
  type: DuckDBType;
  /** Reads one column of one record batch. */
  getter: (data: Data) => Getter;
}

type IpcKind = 'file' | 'stream';

/** Integers that fit a JavaScript number come from their typed array as they are. */
function numberGetter(data: Data): Getter {
  const values = data.values as ArrayLike<number>;
  return data.nullCount === 0 ? (i) => values[i]! : (i) => (data.getValid(i) ? values[i]! : null);
}

function valid(data: Data, read: Getter): Getter {
  return data.nullCount === 0 ? read : (i) => (data.getValid(i) ? read(i) : null);
}

/** Arrow's own value for what needs no faster path (bits, half floats, binary). */
function vectorGetter(convert: (value: unknown) => DuckDBValue): (data: Data) => Getter {
  return (data) => {
    const vector = makeVector(data);
    return valid(data, (i) => convert(vector.get(i)));
  };
}

const INT_TYPES: Record<string, DuckDBType> = {
  '8true': TINYINT,
  '16true': SMALLINT,
  '32true': INTEGER,
  '64true': BIGINT,
  '8false': UTINYINT,
  '16false': USMALLINT,
  '32false': UINTEGER,
  '64false': UBIGINT,
};

function utf8Getter(data: Data): Getter {
  const values = data.values as Uint8Array;
  const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  const offsets = data.valueOffsets as ArrayLike<number | bigint>;
  return valid(data, (i) => bytes.toString('utf8', Number(offsets[i]), Number(offsets[i + 1])));
}

/** Arrow decimals are little-endian two's complement in 32-bit words, `bitWidth / 32` of them per value. */
function decimalGetter(bitWidth: number, precision: number, scale: number): (data: Data) => Getter {
  const words = bitWidth / 32;
  const sign = 1n << BigInt(bitWidth - 1);
  const range = 1n << BigInt(bitWidth);
  return (data) => {
    const values = data.values as Uint32Array;
    return valid(data, (i) => {
      let unscaled = 0n;
      for (let w = words - 1; w >= 0; w--) unscaled = (unscaled << 32n) | BigInt(values[i * words + w]!);
      if (unscaled >= sign) unscaled -= range;
      return new DuckDBDecimalValue(unscaled, precision, scale);
    });
  };
}

/** The values of a dictionary, converted once per dictionary (they are shared by the batches that use it). */
function dictionaryValues(dictionary: Vector, value: Converter, cache: WeakMap<Vector, DuckDBValue[]>): DuckDBValue[] {
  let values = cache.get(dictionary);
  if (!values) {
    values = [];
    for (const chunk of dictionary.data) {
      const get = value.getter(chunk);
      for (let i = 0; i < chunk.length; i++) values.push(get(i));
    }
    cache.set(dictionary, values);
  }
  return values;
}

/** How a column of an Arrow type becomes DuckDB values; `where` names the column for errors. */
function converterOf(type: DataType, where: string): Converter {
  const unsupported = () => new UserInputError(`${where}: Arrow type ${type.toString()} is not supported as a column`);
  if (DataType.isInt(type)) {
    const duckType = INT_TYPES[`${type.bitWidth}${type.isSigned}`]!;
    if (type.bitWidth < 64) return { type: duckType, getter: numberGetter };
    return { type: duckType, getter: (data) => valid(data, (i) => (data.values as BigInt64Array | BigUint64Array)[i]!) };
  }
  if (DataType.isFloat(type)) {
    // Precision: 0 half, 1 single, 2 double. Half floats are stored as bits: Arrow decodes them.
    if (type.precision === 0) return { type: FLOAT, getter: vectorGetter((v) => v as number) };
    return { type: type.precision === 1 ? FLOAT : DOUBLE, getter: numberGetter };
  }
  if (DataType.isBool(type)) return { type: BOOLEAN, getter: vectorGetter((v) => v as boolean) };
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type)) return { type: VARCHAR, getter: utf8Getter };
  if (DataType.isUtf8View(type)) return { type: VARCHAR, getter: vectorGetter((v) => v as string) };
  if (DataType.isBinary(type) || DataType.isLargeBinary(type) || DataType.isFixedSizeBinary(type) || DataType.isBinaryView(type)) {
    return { type: BLOB, getter: vectorGetter((v) => new DuckDBBlobValue(v as Uint8Array)) };
  }
  if (DataType.isDate(type)) {
    // Unit 0: days in an int32; 1: milliseconds in an int64.
    if (type.unit === 0) return { type: DATE, getter: (data) => valid(data, (i) => new DuckDBDateValue((data.values as Int32Array)[i]!)) };
    return { type: DATE, getter: (data) => valid(data, (i) => new DuckDBDateValue(Math.floor(Number((data.values as BigInt64Array)[i]!) / MS_PER_DAY))) };
  }
  if (DataType.isTimestamp(type)) {
    const unit = type.unit as 0 | 1 | 2 | 3;
    return { type: TIMESTAMP, getter: (data) => valid(data, (i) => timestampFromMicros(toMicros((data.values as BigInt64Array)[i]!, unit))) };
  }
  if (DataType.isTime(type)) {
    const unit = type.unit as 0 | 1 | 2 | 3;
    return {
      type: TIME,
      getter: (data) => valid(data, (i) => new DuckDBTimeValue(toMicros(BigInt((data.values as Int32Array | BigInt64Array)[i]!), unit))),
    };
  }
  if (DataType.isDecimal(type)) {
    if (type.precision > MAX_DECIMAL_PRECISION) {
      throw new UserInputError(`${where}: decimal with precision ${type.precision} is wider than the ${MAX_DECIMAL_PRECISION} digits DuckDB holds`);
    }
    if (type.scale < 0) throw new UserInputError(`${where}: decimal with negative scale ${type.scale} is not supported; DuckDB's DECIMAL scale is 0 or more`);
    return { type: DECIMAL(type.precision, type.scale), getter: decimalGetter(type.bitWidth, type.precision, type.scale) };
  }
  if (DataType.isList(type) || DataType.isLargeList(type)) {
    const item = converterOf(type.children[0]!.type, `${where}[]`);
    return {
      type: LIST(item.type),
      getter: (data) => {
        const offsets = data.valueOffsets as ArrayLike<number | bigint>;
        const get = item.getter(data.children[0]!);
        return valid(data, (i) => new DuckDBListValue(range(Number(offsets[i]), Number(offsets[i + 1]), get)));
      },
    };
  }
  if (DataType.isFixedSizeList(type)) {
    const item = converterOf(type.children[0]!.type, `${where}[]`);
    const size = type.listSize;
    return {
      type: LIST(item.type),
      getter: (data) => {
        const get = item.getter(data.children[0]!);
        return valid(data, (i) => new DuckDBListValue(range(i * size, (i + 1) * size, get)));
      },
    };
  }
  if (DataType.isStruct(type)) {
    const fields = type.children.map((f: Field) => ({ name: f.name, ...converterOf(f.type, `${where}.${f.name}`) }));
    return {
      type: STRUCT(Object.fromEntries(fields.map((f) => [f.name, f.type]))),
      getter: (data) => {
        const gets = fields.map((f, k) => [f.name, f.getter(data.children[k]!)] as const);
        return valid(data, (i) => new DuckDBStructValue(Object.fromEntries(gets.map(([name, get]) => [name, get(i)]))));
      },
    };
  }
  if (DataType.isMap(type)) {
    const [keyField, valueField] = type.children[0]!.type.children as Field[];
    const key = converterOf(keyField!.type, `${where} key`);
    const value = converterOf(valueField!.type, `${where} value`);
    return {
      type: MAP(key.type, value.type),
      getter: (data) => {
        const offsets = data.valueOffsets as ArrayLike<number>;
        const entries = data.children[0]!;
        const getKey = key.getter(entries.children[0]!);
        const getValue = value.getter(entries.children[1]!);
        return valid(data, (i) => new DuckDBMapValue(range(offsets[i]!, offsets[i + 1]!, (e) => ({ key: getKey(e), value: getValue(e) }))));
      },
    };
  }
  if (DataType.isDictionary(type)) {
    const value = converterOf(type.dictionary, where);
    const cache = new WeakMap<Vector, DuckDBValue[]>();
    return {
      type: value.type,
      getter: (data) => {
        const values = dictionaryValues(data.dictionary!, value, cache);
        const indices = data.values as ArrayLike<number | bigint>;
        return valid(data, (i) => values[Number(indices[i])] ?? null);
      },
    };
  }
  throw unsupported();
}

function range<T>(from: number, to: number, get: (index: number) => T): T[] {
  const out = new Array<T>(to - from);
  for (let i = from; i < to; i++) out[i - from] = get(i);
  return out;
}

/** "ARROW1" at the start: the file format; anything else is read as a stream. */
async function ipcKind(file: string, size: number): Promise<IpcKind> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(FILE_MAGIC.length);
    await handle.read(head, 0, head.length, 0);
    if (!head.equals(FILE_MAGIC)) return 'stream';
    const tail = Buffer.alloc(FILE_MAGIC.length);
    await handle.read(tail, 0, tail.length, Math.max(0, size - tail.length));
    if (size < 2 * FILE_MAGIC.length || !tail.equals(FILE_MAGIC)) {
      throw new UserInputError(`${file}: truncated Arrow IPC file: it starts with "ARROW1" but does not end with it (${size} bytes)`);
    }
    return 'file';
  } finally {
    await handle.close();
  }
}

/** The library's own failure, with the file and the format it was read as. */
function libraryError(file: string, kind: IpcKind, err: unknown): unknown {
  if (err instanceof UserInputError || (err instanceof Error && err.name === 'AbortError')) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new UserInputError(`${file}: cannot read it as an Arrow IPC ${kind} (corrupt or truncated?): ${message}`);
}

interface OpenReader {
  reader: Awaited<ReturnType<typeof RecordBatchReader.from>>;
  /** The file read by random access: its share of batches stands for its bytes. */
  bytesRead: (batchesRead: number) => number;
  close: () => void;
}

async function openReader(file: string, kind: IpcKind, size: number): Promise<OpenReader> {
  const handle = kind === 'file' ? await open(file, 'r') : undefined;
  const stream = kind === 'stream' ? createReadStream(file) : undefined;
  const close = () => {
    stream?.destroy();
    void handle?.close();
  };
  try {
    const reader = await (handle ? RecordBatchReader.from(handle) : RecordBatchReader.from(stream!));
    await reader.open();
    const batchCount = reader.isFile() ? reader.numRecordBatches : 0;
    const bytesRead = (batchesRead: number) => (stream ? stream.bytesRead : batchCount === 0 ? size : Math.round((size * batchesRead) / batchCount));
    return { reader, bytesRead, close };
  } catch (err) {
    close();
    throw libraryError(file, kind, err);
  }
}

/**
 * Opens an Arrow IPC file or stream: its schema is read here (and the file closed again, so an input
 * of many files holds no file open before it is read); its record batches as the batches are consumed.
 */
export async function openArrowIpcFile(file: string): Promise<RecordSource> {
  const size = (await stat(file)).size;
  if (size === 0) throw new UserInputError(`${file}: the file is empty, not Arrow IPC`);
  const kind = await ipcKind(file, size);
  const first = await openReader(file, kind, size);
  let converters: Converter[];
  let columns: SourceColumn[];
  try {
    const fields = first.reader.schema?.fields;
    if (!fields) throw new UserInputError(`${file}: the Arrow IPC ${kind} holds no schema`);
    converters = fields.map((f) => converterOf(f.type, `${file}: column "${f.name}"`));
    columns = fields.map((f, i) => ({ name: f.name, type: converters[i]!.type }));
  } finally {
    first.close();
  }
  let current: OpenReader | undefined;
  let batchesRead = 0;
  return {
    file,
    columns,
    bytesRead: () => current?.bytesRead(batchesRead) ?? 0,
    batches: async function* (signal) {
      current = await openReader(file, kind, size);
      try {
        const batches = current.reader[Symbol.asyncIterator]();
        for (;;) {
          signal.throwIfAborted();
          const next = await batches.next().catch((err: unknown) => {
            throw libraryError(file, kind, err);
          });
          if (next.done) break;
          const batch = next.value;
          const getters = converters.map((c, k) => c.getter(batch.data.children[k]!));
          for (let start = 0; start < batch.numRows; start += SLICE_ROWS) {
            const end = Math.min(batch.numRows, start + SLICE_ROWS);
            yield range(start, end, (i) => getters.map((get) => get(i)));
          }
          batchesRead++;
        }
      } finally {
        current.close();
      }
    },
  };
}
