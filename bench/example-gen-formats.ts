import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import avro from 'avsc';
import { compress as snappyCompress } from 'snappyjs';
import { Dictionary, Int32, Int64, Table, tableToIPC, TimeUnit, Timestamp, Utf8, vectorFromArray, type DataType, type Vector } from 'apache-arrow';
import os from 'node:os';
import path from 'node:path';
import { withDuckDb } from '../components/data/duckdb-session';
import { sqlString } from '../components/data/sql';
import { ExampleGen } from '../components/example-gen/spec';
import { runExecutorForTest } from '../test/support/executor-harness';
import { writeTfRecords, type TestExample } from '../test/support/tfrecord-writer';
import { duckQuery } from '../test/components/parquet-rows';
import { vegaFile } from '../test/components/vega-data';

/**
 * ExampleGen rows/s per input format on the same data: the first ROWS rows of flights-3m, written by
 * this script in each format, beside ExampleGen on the same rows as Parquet (the baseline, measured in
 * the same run). Each input runs twice and the faster run counts (the machine is shared).
 *
 *   node dist/bench/example-gen-formats.js [format ...]
 *
 * Naming formats (any part of a name below, case-insensitive, e.g. `tfrecord`) runs only those,
 * beside the baseline.
 */

const ROWS = 1_000_000;
const RUNS = 2;

interface FormatInput {
  name: string;
  /** Writes the sample in this format under `dir` and returns the file. */
  write(dir: string, sampleParquet: string): Promise<string>;
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

/** Arrow IPC of the sample: ms timestamps in UTC, int32 delay, int64 distance, dictionary origin, plain destination; batches of 64 Ki rows. */
async function writeArrow(dir: string, sample: string, format: 'file' | 'stream'): Promise<string> {
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
  const file = path.join(dir, format === 'file' ? 'flights.arrow' : 'flights.arrows');
  await writeFile(file, tableToIPC(table, format));
  return file;
}

/** Avro's snappy block: snappy data, then the CRC32 of the uncompressed data, big-endian. */
function avroSnappy(data: Buffer, done: (err: Error | null, block?: Buffer) => void): void {
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(data));
  done(null, Buffer.concat([snappyCompress(data), crc]));
}

/** Avro of the sample (timestamp-micros, nullable long delay), avsc's default 64 KiB blocks. */
async function writeAvro(dir: string, sample: string, codec: 'null' | 'snappy'): Promise<string> {
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
  const file = path.join(dir, `flights-${codec}.avro`);
  const encoder = new avro.streams.BlockEncoder(schema, { codec, codecs: { null: (data, done) => done(null, data), snappy: avroSnappy } });
  const written = pipeline(encoder, createWriteStream(file));
  for (const f of flights) {
    const record = { ...f, date: Number(f.date_us), delay: f.delay === null ? null : Number(f.delay), distance: Number(f.distance) };
    if (!encoder.write(record)) await new Promise((resolve) => encoder.once('drain', resolve));
  }
  encoder.end();
  await written;
  return file;
}

const FORMATS: FormatInput[] = [
  {
    name: 'JSON lines',
    write: async (dir, sample) => {
      const file = path.join(dir, 'flights.jsonl');
      await duckQuery(`COPY (SELECT * FROM read_parquet(${sqlString(sample)})) TO ${sqlString(file)} (FORMAT json)`);
      return file;
    },
  },
  { name: 'Avro (timestamp-micros, null codec)', write: (dir, sample) => writeAvro(dir, sample, 'null') },
  { name: 'Avro (timestamp-micros, snappy codec)', write: (dir, sample) => writeAvro(dir, sample, 'snappy') },
  { name: 'Arrow IPC file', write: (dir, sample) => writeArrow(dir, sample, 'file') },
  { name: 'Arrow IPC stream', write: (dir, sample) => writeArrow(dir, sample, 'stream') },
  {
    name: 'TFRecord (tf.Example)',
    write: async (dir, sample) => {
      const rows = await duckQuery(`SELECT CAST(date AS VARCHAR) AS date, delay, distance, origin, destination FROM read_parquet(${sqlString(sample)})`);
      const examples: TestExample[] = rows.map((r) => ({
        date: { bytes: [String(r.date)] },
        delay: { int64: [r.delay as bigint] },
        distance: { int64: [r.distance as bigint] },
        origin: { bytes: [String(r.origin)] },
        destination: { bytes: [String(r.destination)] },
      }));
      return writeTfRecords(path.join(dir, 'flights.tfrecord'), examples);
    },
  },
];

async function rowsPerSecond(input: string): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < RUNS; i++) {
    const started = process.hrtime.bigint();
    const run = await runExecutorForTest(ExampleGen, { parameters: { input } });
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e9);
    await rm(run.outputDirs.examples!, { recursive: true, force: true });
  }
  return ROWS / best;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mlpipe-bench-formats-'));
  try {
    const sample = path.join(dir, 'flights.parquet');
    await withDuckDb({ tmpDir: dir, signal: new AbortController().signal }, (db) =>
      db.query(`COPY (SELECT * FROM read_parquet(${sqlString(vegaFile('flights-3m.parquet'))}) LIMIT ${ROWS}) TO ${sqlString(sample)} (FORMAT parquet)`),
    );
    const baseline = await rowsPerSecond(sample);
    console.log(`ExampleGen on ${ROWS} flights rows, Parquet (baseline): ${(baseline / 1e6).toFixed(3)} M rows/s`);
    const only = process.argv.slice(2).map((a) => a.toLowerCase());
    for (const format of FORMATS.filter((f) => only.length === 0 || only.some((a) => f.name.toLowerCase().includes(a)))) {
      const rate = await rowsPerSecond(await format.write(dir, sample));
      console.log(`ExampleGen on ${ROWS} flights rows, ${format.name}: ${(rate / 1e6).toFixed(3)} M rows/s (${(baseline / rate).toFixed(1)}x slower than Parquet)`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
