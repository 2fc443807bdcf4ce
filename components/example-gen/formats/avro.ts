import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import avro from 'avsc';
import {
  BIGINT,
  BLOB,
  BOOLEAN,
  DATE,
  DECIMAL,
  DOUBLE,
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTimeValue,
  FLOAT,
  INTEGER,
  LIST,
  MAP,
  STRUCT,
  TIME,
  TIMESTAMP,
  VARCHAR,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { UserInputError } from '../../../dsl/executor';
import { AVRO_CODECS, type AvroCodec } from './avro-codecs';
import { decimalFromBigEndian, MAX_DECIMAL_PRECISION, timestampFromMicros, toMicros } from './column-types';
import type { RecordSource, SourceColumn } from './record-source';

/**
 * Avro object container files (Avro 1.11 specification, "Object Container Files"). The framing
 * (header, blocks, sync markers, codecs) is read here, so a truncated or corrupt file is found at the
 * byte where it goes wrong; avsc decodes the records of each block. avsc's own file decoder was not
 * used: it drops a truncated last block without a word, and hands records one by one through a
 * stream, which ran at a third of the speed of decoding a block in a loop.
 */

const MAGIC = Buffer.from('Obj\x01', 'latin1');
const SYNC_SIZE = 16;
const HEADER_TYPE = avro.Type.forSchema({
  type: 'record',
  name: 'org.apache.avro.file.Header',
  fields: [
    { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
    { name: 'meta', type: { type: 'map', values: 'bytes' } },
    { name: 'sync', type: { type: 'fixed', name: 'Sync', size: SYNC_SIZE } },
  ],
});
const LONG = avro.Type.forSchema('long');
/** A block's record count and byte size: two longs of at most 10 bytes each. */
const BLOCK_PREFIX_MAX = 20;
const READ_CHUNK_BYTES = 1 << 20;

/** A logical type whose values avsc hands over already as the DuckDB values of `duckType`. */
abstract class DuckLogicalType extends avro.types.LogicalType {
  abstract readonly duckType: DuckDBType;
}

function logicalType(duckType: DuckDBType, fromValue: (value: number | bigint) => DuckDBValue) {
  return class extends DuckLogicalType {
    readonly duckType = duckType;
    protected override _fromValue(value: number | bigint): DuckDBValue {
      return fromValue(value);
    }
  };
}

class DecimalType extends DuckLogicalType {
  readonly duckType: DuckDBType;
  readonly precision: number;
  private readonly scale: number;
  constructor(schema: avro.Schema, opts?: unknown) {
    super(schema, opts);
    const { precision, scale } = schema as { precision?: unknown; scale?: unknown };
    this.precision = Number(precision);
    this.scale = scale === undefined ? 0 : Number(scale);
    if (!Number.isInteger(this.precision) || this.precision < 1 || !Number.isInteger(this.scale) || this.scale < 0 || this.scale > this.precision) {
      // avsc then reads the underlying bytes or fixed, as the Avro specification asks for an invalid logical type.
      throw new Error(`invalid decimal precision ${String(precision)} / scale ${String(scale)}`);
    }
    this.duckType = DECIMAL(Math.min(this.precision, MAX_DECIMAL_PRECISION), this.scale);
  }
  protected override _fromValue(bytes: Buffer): DuckDBValue {
    return decimalFromBigEndian(bytes, Math.min(this.precision, MAX_DECIMAL_PRECISION), this.scale);
  }
}

const timestamp = (unitPower: 1 | 2) => logicalType(TIMESTAMP, (v) => timestampFromMicros(toMicros(BigInt(v), unitPower)));
const LOGICAL_TYPES = {
  date: logicalType(DATE, (days) => new DuckDBDateValue(Number(days))),
  'time-millis': logicalType(TIME, (ms) => new DuckDBTimeValue(BigInt(ms) * 1000n)),
  'time-micros': logicalType(TIME, (us) => new DuckDBTimeValue(BigInt(us))),
  'timestamp-millis': timestamp(1),
  'timestamp-micros': timestamp(2),
  'local-timestamp-millis': timestamp(1),
  'local-timestamp-micros': timestamp(2),
  decimal: DecimalType,
};

/**
 * Longs decode as JavaScript numbers (fast); a record holding a long beyond 2^53 is decoded again
 * with longs as bigints, which avsc reads through a buffer per value, about three times slower.
 */
const BIG_LONG = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (n: bigint) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(n);
    return buf;
  },
  fromJSON: BigInt,
  toJSON: Number,
  isValid: (n: unknown) => typeof n === 'bigint',
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
});
const PRECISION_LOSS = 'potential precision loss';

interface Converter {
  type: DuckDBType;
  convert: (value: unknown) => DuckDBValue;
}

const same = (value: unknown) => value as DuckDBValue;
const nullable = (convert: (value: unknown) => DuckDBValue) => (value: unknown) => (value === null || value === undefined ? null : convert(value));

/** How a value of an avsc type becomes a DuckDB value; `where` names the column for errors. */
function converterOf(type: avro.Type, where: string): Converter {
  if (type instanceof DuckLogicalType) {
    if (type instanceof DecimalType && type.precision > MAX_DECIMAL_PRECISION) {
      throw new UserInputError(`${where}: decimal with precision ${type.precision} is wider than the ${MAX_DECIMAL_PRECISION} digits DuckDB holds`);
    }
    return { type: type.duckType, convert: same };
  }
  if (type instanceof avro.types.LogicalType) return converterOf(type.underlyingType, where);
  if (type instanceof avro.types.RecordType) {
    const fields = type.fields.map((f) => ({ name: f.name, ...converterOf(f.type, `${where}.${f.name}`) }));
    return {
      type: STRUCT(Object.fromEntries(fields.map((f) => [f.name, f.type]))),
      convert: (value) => {
        const record = value as Record<string, unknown>;
        return new DuckDBStructValue(Object.fromEntries(fields.map((f) => [f.name, f.convert(record[f.name])])));
      },
    };
  }
  if (type instanceof avro.types.ArrayType) {
    const item = converterOf(type.itemsType, `${where}[]`);
    return { type: LIST(item.type), convert: (value) => new DuckDBListValue((value as unknown[]).map(item.convert)) };
  }
  if (type instanceof avro.types.MapType) {
    const item = converterOf(type.valuesType as avro.Type, `${where}{}`);
    return {
      type: MAP(VARCHAR, item.type),
      convert: (value) => new DuckDBMapValue(Object.entries(value as Record<string, unknown>).map(([key, v]) => ({ key, value: item.convert(v) }))),
    };
  }
  if (type instanceof avro.types.UnwrappedUnionType || type instanceof avro.types.WrappedUnionType) {
    const branches = type.types.filter((t) => t.typeName !== 'null');
    if (branches.length !== 1 || type.types.length !== 2) {
      throw new UserInputError(
        `${where}: union of ${type.types.map((t) => t.typeName).join(', ')} is not supported; a column may be a union of null and one type`,
      );
    }
    const inner = converterOf(branches[0]!, where);
    return { type: inner.type, convert: nullable(inner.convert) };
  }
  switch (type.typeName) {
    case 'boolean':
      return { type: BOOLEAN, convert: same };
    case 'int':
      return { type: INTEGER, convert: same };
    case 'long':
      return { type: BIGINT, convert: (value) => BigInt(value as number | bigint) };
    case 'float':
      return { type: FLOAT, convert: same };
    case 'double':
      return { type: DOUBLE, convert: same };
    case 'string':
    case 'enum':
      return { type: VARCHAR, convert: same };
    case 'bytes':
    case 'fixed':
      return { type: BLOB, convert: (value) => new DuckDBBlobValue(value as Buffer) };
    default:
      throw new UserInputError(`${where}: Avro type ${type.typeName} is not supported as a column`);
  }
}

/** The file read front to back; `buffer` holds its bytes from file offset `start` on. */
class ForwardReader {
  private buffer: Buffer = Buffer.alloc(0);
  private start = 0;
  private ended = false;
  private readonly chunks: AsyncIterator<Buffer>;
  private readonly stream;

  constructor(file: string, from = 0) {
    this.stream = createReadStream(file, { highWaterMark: READ_CHUNK_BYTES, start: from });
    this.chunks = this.stream[Symbol.asyncIterator]();
    this.start = from;
  }

  get bytesRead(): number {
    return this.stream.bytesRead;
  }

  /** The bytes from `at` on, at least `length` of them unless the file ends sooner; earlier bytes are let go. */
  async bytesFrom(at: number, length: number): Promise<Buffer> {
    const parts: Buffer[] = [this.buffer.subarray(at - this.start)];
    let have = parts[0]!.length;
    while (have < length && !this.ended) {
      const next = await this.chunks.next();
      if (next.done) this.ended = true;
      else {
        parts.push(next.value);
        have += next.value.length;
      }
    }
    this.buffer = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    this.start = at;
    return this.buffer;
  }

  /** True when nothing is left from `at` on. */
  async endsAt(at: number): Promise<boolean> {
    return (await this.bytesFrom(at, 1)).length === 0;
  }

  close(): void {
    this.stream.destroy();
  }
}

interface Header {
  columns: SourceColumn[];
  convert: (record: unknown) => DuckDBValue[];
  types: { fast: avro.Type; big: avro.Type };
  codec: AvroCodec;
  codecName: string;
  sync: Buffer;
  /** File offset of the first block. */
  end: number;
  fileSize: number;
}

async function readHeader(file: string, reader: ForwardReader): Promise<Omit<Header, 'fileSize'>> {
  let want = 4096;
  for (;;) {
    const bytes = await reader.bytesFrom(0, want);
    if (bytes.length < MAGIC.length || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw new UserInputError(`${file}: not an Avro object container file (it does not start with the bytes "Obj" 0x01)`);
    }
    const decoded = HEADER_TYPE.decode(bytes, 0);
    if (decoded.offset >= 0) return headerOf(file, decoded.value as { meta: Record<string, Buffer>; sync: Buffer }, decoded.offset);
    if (bytes.length < want) throw new UserInputError(`${file}: truncated Avro file: it ends (after ${bytes.length} bytes) inside its header`);
    want *= 4;
  }
}

function headerOf(file: string, header: { meta: Record<string, Buffer>; sync: Buffer }, end: number): Omit<Header, 'fileSize'> {
  const codecName = header.meta['avro.codec']?.toString() ?? 'null';
  const codec = Object.hasOwn(AVRO_CODECS, codecName) ? AVRO_CODECS[codecName] : undefined;
  if (!codec) throw new UserInputError(`${file}: Avro codec "${codecName}" is not supported; supported codecs: ${Object.keys(AVRO_CODECS).join(', ')}`);
  const schemaText = header.meta['avro.schema']?.toString();
  if (schemaText === undefined) throw new UserInputError(`${file}: the Avro header holds no avro.schema`);
  let types: Header['types'];
  try {
    const schema = JSON.parse(schemaText) as avro.Schema;
    types = {
      fast: avro.Type.forSchema(schema, { logicalTypes: LOGICAL_TYPES, wrapUnions: 'auto' }),
      big: avro.Type.forSchema(schema, { logicalTypes: LOGICAL_TYPES, wrapUnions: 'auto', registry: { long: BIG_LONG } }),
    };
  } catch (err) {
    throw new UserInputError(`${file}: the Avro schema in its header is invalid: ${(err as Error).message}`);
  }
  if (!(types.fast instanceof avro.types.RecordType)) {
    throw new UserInputError(`${file}: the Avro schema is a ${types.fast.typeName}; ExampleGen reads files of records (one column per field)`);
  }
  const fields = types.fast.fields.map((f) => ({ name: f.name, ...converterOf(f.type, `${file}: column "${f.name}"`) }));
  const convert = (record: unknown): DuckDBValue[] => {
    const values = record as Record<string, unknown>;
    return fields.map((f) => f.convert(values[f.name]));
  };
  return { columns: fields.map((f) => ({ name: f.name, type: f.type })), convert, types, codec, codecName, sync: header.sync, end };
}

/**
 * Opens an Avro object container file: its header is read here (and the file closed again, so an
 * input of many files holds no file open before it is read); its blocks as the batches are consumed.
 */
export async function openAvroFile(file: string): Promise<RecordSource> {
  const fileSize = (await stat(file)).size;
  const headerReader = new ForwardReader(file);
  let header: Header;
  try {
    header = { ...(await readHeader(file, headerReader)), fileSize };
  } finally {
    headerReader.close();
  }
  let reader: ForwardReader | undefined;
  return {
    file,
    columns: header.columns,
    bytesRead: () => (reader ? header.end + reader.bytesRead : 0),
    batches: (signal) => {
      reader = new ForwardReader(file, header.end);
      return readBlocks(file, reader, header, signal);
    },
  };
}

async function* readBlocks(file: string, reader: ForwardReader, header: Header, signal: AbortSignal): AsyncGenerator<DuckDBValue[][]> {
  const truncated = (at: number, what: string) => new UserInputError(`${file}: truncated Avro file: it ends inside ${what} at byte ${at}`);
  try {
    let at = header.end;
    let recordIndex = 0;
    for (let block = 0; !(await reader.endsAt(at)); block++) {
      signal.throwIfAborted();
      const prefix = await reader.bytesFrom(at, BLOCK_PREFIX_MAX);
      const count = LONG.decode(prefix, 0);
      const size = count.offset >= 0 ? LONG.decode(prefix, count.offset) : count;
      if (size.offset < 0) throw truncated(at, `the header of block ${block}`);
      const records = Number(count.value);
      const dataSize = Number(size.value);
      if (records < 0 || dataSize < 0) throw new UserInputError(`${file}: corrupt Avro file: block ${block} at byte ${at} declares ${records} records in ${dataSize} bytes`);
      // Checked against the file's size before reading, so a corrupt size never pulls the whole file into memory.
      const blockEnd = at + size.offset + dataSize + SYNC_SIZE;
      if (blockEnd > header.fileSize) throw truncated(at, `block ${block} (${records} records from record ${recordIndex})`);
      const bytes = await reader.bytesFrom(at, size.offset + dataSize + SYNC_SIZE);
      if (bytes.length < size.offset + dataSize + SYNC_SIZE) throw truncated(at, `block ${block} (${records} records from record ${recordIndex})`);
      if (!bytes.subarray(size.offset + dataSize, size.offset + dataSize + SYNC_SIZE).equals(header.sync)) {
        throw new UserInputError(`${file}: corrupt Avro file: block ${block} at byte ${at} does not end with the file's sync marker`);
      }
      const where = `block ${block} at byte ${at} (records ${recordIndex}..${recordIndex + records - 1})`;
      let data: Buffer;
      try {
        data = header.codec(bytes.subarray(size.offset, size.offset + dataSize));
      } catch (err) {
        const stored = `its ${dataSize} ${header.codecName}-compressed bytes from byte ${at + size.offset}`;
        throw new UserInputError(`${file}: corrupt Avro file: ${where} does not decompress (${stored}): ${(err as Error).message}`);
      }
      yield decodeBlock(file, header, data, records, recordIndex, where);
      recordIndex += records;
      at = blockEnd;
    }
  } finally {
    reader.close();
  }
}

function decodeBlock(file: string, header: Header, data: Buffer, records: number, firstIndex: number, where: string): DuckDBValue[][] {
  const rows = new Array<DuckDBValue[]>(records);
  let pos = 0;
  for (let i = 0; i < records; i++) {
    let decoded: { value: unknown; offset: number };
    try {
      try {
        decoded = header.types.fast.decode(data, pos);
      } catch (err) {
        if ((err as Error).message !== PRECISION_LOSS) throw err;
        decoded = header.types.big.decode(data, pos);
      }
    } catch (err) {
      throw new UserInputError(`${file}: corrupt Avro file: record ${firstIndex + i} in ${where}: ${(err as Error).message}`);
    }
    if (decoded.offset < 0) throw new UserInputError(`${file}: corrupt Avro file: record ${firstIndex + i} runs past the end of ${where}`);
    rows[i] = header.convert(decoded.value);
    pos = decoded.offset;
  }
  if (pos !== data.length) throw new UserInputError(`${file}: corrupt Avro file: ${where} holds ${data.length - pos} bytes after its last record`);
  return rows;
}
