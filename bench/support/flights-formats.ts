import { createReadStream, createWriteStream } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, crc32 } from 'node:zlib';
import avro from 'avsc';
import { compress as snappyCompress } from 'snappyjs';
import {
  Dictionary,
  Int32,
  Int64,
  RecordBatchFileWriter,
  RecordBatchStreamWriter,
  Table,
  TimeUnit,
  Timestamp,
  Utf8,
  vectorFromArray,
  type DataType,
  type Vector,
} from 'apache-arrow';
import { withDuckDb } from '../../components/data/duckdb-session';
import { sqlString } from '../../components/data/sql';
import { writeTfRecords, type TestExample } from '../../test/support/tfrecord-writer';
import { duckQuery } from '../../test/components/parquet-rows';
import { vegaFile } from '../../test/components/vega-data';

/**
 * The first rows of flights-3m written in each input format ExampleGen reads, for the benches: the same
 * rows in every format, optionally written `copies` times over into one file (a larger input of the
 * same shape, without holding the larger one in memory while writing it).
 */
export interface FormatInput {
  name: string;
  /** Writes the sample `copies` times over, in this format, into one file under `dir`; returns the file. */
  write(dir: string, sampleParquet: string, copies: number): Promise<string>;
}

interface Flight {
  date_us: bigint;
  delay: bigint | null;
  distance: bigint;
  origin: string;
  destination: string;
}

const flightsOf = async (sample: string) =>
  (await duckQuery(`SELECT epoch_us(date) AS date_us, delay, distance, origin, destination FROM read_parquet(${sqlString(sample)})`)) as unknown as Flight[];

/** The first `rows` rows of flights-3m as Parquet: the sample each format is written from. */
export async function writeFlightsSample(dir: string, rows: number): Promise<string> {
  const sample = path.join(dir, `flights-${rows}.parquet`);
  await withDuckDb({ tmpDir: dir, signal: new AbortController().signal }, (db) =>
    db.query(`COPY (SELECT * FROM read_parquet(${sqlString(vegaFile('flights-3m.parquet'))}) LIMIT ${rows}) TO ${sqlString(sample)} (FORMAT parquet)`),
  );
  return sample;
}

const suffix = (copies: number) => (copies === 1 ? '' : `-x${copies}`);

/** Arrow IPC of the sample: ms timestamps in UTC, int32 delay, int64 distance, dictionary origin, plain destination; batches of 64 Ki rows. */
async function writeArrow(dir: string, sample: string, format: 'file' | 'stream', copies: number): Promise<string> {
  const flights = await flightsOf(sample);
  const column = (values: readonly unknown[], type: DataType): Vector => {
    const whole = vectorFromArray(values, type);
    const batches: Vector[] = [];
    for (let start = 0; start < values.length; start += 65_536) batches.push(whole.slice(start, start + 65_536));
    return batches.slice(1).reduce((all, b) => all.concat(b), batches[0]!);
  };
  const table = new Table({
    date: column(flights.map((f) => Number(f.date_us / 1000n)), new Timestamp(TimeUnit.MILLISECOND, 'UTC')),
    delay: column(flights.map((f) => (f.delay === null ? null : Number(f.delay))), new Int32()),
    distance: column(flights.map((f) => f.distance), new Int64()),
    origin: column(flights.map((f) => f.origin), new Dictionary(new Utf8(), new Int32())),
    destination: column(flights.map((f) => f.destination), new Utf8()),
  });
  // The copies share the first one's dictionary, so the writer sends it once (a file may not replace it).
  const batches = Array.from({ length: copies }, () => table.batches).flat();
  const writer = format === 'file' ? RecordBatchFileWriter.writeAll(batches) : RecordBatchStreamWriter.writeAll(batches);
  const file = path.join(dir, `flights${suffix(copies)}.${format === 'file' ? 'arrow' : 'arrows'}`);
  await writeFile(file, await writer.toUint8Array());
  return file;
}

/** Avro's snappy block: snappy data, then the CRC32 of the uncompressed data, big-endian. */
function avroSnappy(data: Buffer, done: (err: Error | null, block?: Buffer) => void): void {
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(data));
  done(null, Buffer.concat([snappyCompress(data), crc]));
}

/** Avro of the sample (timestamp-micros, nullable long delay), avsc's default 64 KiB blocks. */
async function writeAvro(dir: string, sample: string, codec: 'null' | 'snappy', copies: number): Promise<string> {
  const flights = await flightsOf(sample);
  const schema: avro.Schema = {
    type: 'record',
    name: 'Flight',
    fields: [
      { name: 'date', type: { type: 'long', logicalType: 'timestamp-micros' } },
      { name: 'delay', type: ['null', 'long'] },
      { name: 'distance', type: 'long' },
      { name: 'origin', type: 'string' },
      { name: 'destination', type: 'string' },
    ],
  };
  const file = path.join(dir, `flights-${codec}${suffix(copies)}.avro`);
  const encoder = new avro.streams.BlockEncoder(schema, { codec, codecs: { null: (data, done) => done(null, data), snappy: avroSnappy } });
  const written = pipeline(encoder, createWriteStream(file));
  for (let copy = 0; copy < copies; copy++) {
    for (const f of flights) {
      const record = { ...f, date: Number(f.date_us), delay: f.delay === null ? null : Number(f.delay), distance: Number(f.distance) };
      if (!encoder.write(record)) await new Promise((resolve) => encoder.once('drain', resolve));
    }
  }
  encoder.end();
  await written;
  return file;
}

/** `file` written `copies` times over into `into` (whole-file GZIP when asked), streamed. */
async function repeatFile(file: string, into: string, copies: number, gzip: boolean): Promise<void> {
  async function* repeated() {
    for (let copy = 0; copy < copies; copy++) yield* createReadStream(file);
  }
  const out = createWriteStream(into);
  await (gzip ? pipeline(Readable.from(repeated()), createGzip(), out) : pipeline(Readable.from(repeated()), out));
}

/** TFRecord of tf.Examples: date as bytes, delay and distance int64, origin and destination bytes. */
async function writeTfRecord(dir: string, sample: string, copies: number, gzip: boolean): Promise<string> {
  const rows = await duckQuery(`SELECT CAST(date AS VARCHAR) AS date, delay, distance, origin, destination FROM read_parquet(${sqlString(sample)})`);
  const examples: TestExample[] = rows.map((r) => ({
    date: { bytes: [String(r.date)] },
    delay: { int64: [r.delay as bigint] },
    distance: { int64: [r.distance as bigint] },
    origin: { bytes: [String(r.origin)] },
    destination: { bytes: [String(r.destination)] },
  }));
  const file = path.join(dir, `flights${suffix(copies)}.tfrecord${gzip ? '.gz' : ''}`);
  if (copies === 1) return writeTfRecords(file, examples, { gzip });
  const once = await writeTfRecords(path.join(dir, 'flights-once.tfrecord'), examples);
  await repeatFile(once, file, copies, gzip);
  await rm(once);
  return file;
}

export const FORMATS: FormatInput[] = [
  {
    name: 'JSON lines',
    write: async (dir, sample, copies) => {
      const file = path.join(dir, `flights${suffix(copies)}.jsonl`);
      await duckQuery(`COPY (SELECT f.* FROM range(${copies}) r, read_parquet(${sqlString(sample)}) f) TO ${sqlString(file)} (FORMAT json)`);
      return file;
    },
  },
  { name: 'Avro (timestamp-micros, null codec)', write: (dir, sample, copies) => writeAvro(dir, sample, 'null', copies) },
  { name: 'Avro (timestamp-micros, snappy codec)', write: (dir, sample, copies) => writeAvro(dir, sample, 'snappy', copies) },
  { name: 'Arrow IPC file', write: (dir, sample, copies) => writeArrow(dir, sample, 'file', copies) },
  { name: 'Arrow IPC stream', write: (dir, sample, copies) => writeArrow(dir, sample, 'stream', copies) },
  { name: 'TFRecord (tf.Example)', write: (dir, sample, copies) => writeTfRecord(dir, sample, copies, false) },
  { name: 'TFRecord (tf.Example), GZIP', write: (dir, sample, copies) => writeTfRecord(dir, sample, copies, true) },
];

/** The formats whose name holds one of `only` (case-insensitive), or all of them when `only` is empty. */
export function formatsNamed(only: readonly string[]): FormatInput[] {
  const lower = only.map((a) => a.toLowerCase());
  return FORMATS.filter((f) => lower.length === 0 || lower.some((a) => f.name.toLowerCase().includes(a)));
}
