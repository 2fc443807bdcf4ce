import assert from 'node:assert/strict';
import { rejects } from '../support/user-input-errors';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import avro from 'avsc';
import {
  Dictionary,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Table,
  tableToIPC,
  TimeUnit,
  Timestamp,
  TimestampMicrosecond,
  Utf8,
  vectorFromArray,
  type DataType,
  type Vector,
} from 'apache-arrow';
import { sqlIdentifier, sqlString } from '../../components/data/sql';
import { ExampleGen } from '../../components/example-gen/spec';
import { runExecutorForTest, type ExecutorTestRun } from '../support/executor-harness';
import { tempDir } from '../support/tmp';
import { writeAvroFile } from '../support/avro-writer';
import { duckQuery } from './parquet-rows';
import { vegaFile } from './vega-data';

/**
 * Avro and Arrow IPC inputs against the CSV/JSON route of the same rows. Rows are compared in one
 * canonical form: integers as numbers, timestamps as UTC microseconds (epoch_us), floats exact, or
 * rounded to float32 on both sides for a column the format stores as float32; null as null.
 */

type Row = Record<string, unknown>;
type Json = Record<string, string | number | null>;

const SPLITS = ['train', 'eval'];
/** Avro names allow letters, digits and _ only: penguins' columns renamed for every route. */
const PENGUIN_COLUMNS: Record<string, string> = {
  Species: 'Species',
  Island: 'Island',
  'Beak Length (mm)': 'Beak_Length_mm',
  'Beak Depth (mm)': 'Beak_Depth_mm',
  'Flipper Length (mm)': 'Flipper_Length_mm',
  'Body Mass (g)': 'Body_Mass_g',
  Sex: 'Sex',
};
const FLIGHT_ROWS = 20_000;

const splitFile = (run: ExecutorTestRun, split: string) => path.join(run.outputDirs.examples!, `Split-${split}`, 'data-00000.parquet');

/** A split's rows in canonical form; `float32` columns rounded to float32. */
async function canonicalRows(run: ExecutorTestRun, split: string, float32: readonly string[] = []): Promise<Row[]> {
  const file = sqlString(splitFile(run, split));
  const columns = await duckQuery(`SELECT column_name AS name, column_type AS type FROM (DESCRIBE SELECT * FROM read_parquet(${file}))`);
  const select = columns
    .map(({ name, type }) => {
      const c = sqlIdentifier(String(name));
      return String(type).startsWith('TIMESTAMP') ? `epoch_us(${c}) AS ${c}` : c;
    })
    .join(', ');
  const rows = await duckQuery(`SELECT ${select} FROM read_parquet(${file})`);
  return rows.map((row) =>
    Object.fromEntries(
      Object.entries(row).map(([name, value]) => {
        if (typeof value === 'bigint') return [name, Number(value)];
        if (typeof value === 'number' && float32.includes(name)) return [name, Math.fround(value)];
        return [name, value];
      }),
    ),
  );
}

/** Every split of `run` equals the reference run's, row for row and in order. */
async function assertSameExamples(run: ExecutorTestRun, reference: ExecutorTestRun, float32: readonly string[] = []): Promise<void> {
  let rows = 0;
  for (const split of SPLITS) {
    const got = await canonicalRows(run, split, float32);
    const expected = await canonicalRows(reference, split, float32);
    assert.equal(got.length, expected.length, `Split-${split}: row count`);
    for (let i = 0; i < got.length; i++) assert.deepEqual(got[i], expected[i], `Split-${split} row ${i}`);
    rows += got.length;
  }
  assert.equal(rows, reference.result.properties?.examples?.num_examples);
}

/** The rows of all splits of `run` equal the reference run's as a multiset. */
async function assertSameRows(run: ExecutorTestRun, reference: ExecutorTestRun, float32: readonly string[]): Promise<void> {
  const all = async (r: ExecutorTestRun) =>
    (await Promise.all(SPLITS.map((split) => canonicalRows(r, split, float32)))).flat().map((row) => JSON.stringify(row)).sort();
  const [got, expected] = [await all(run), await all(reference)];
  assert.equal(got.length, expected.length);
  for (let i = 0; i < got.length; i++) assert.equal(got[i], expected[i], `sorted row ${i}`);
}

const gen = (input: string, parameters: Record<string, unknown> = {}) => runExecutorForTest(ExampleGen, { parameters: { input, ...parameters } });

/** avsc's documented long type for bigints, for writing longs beyond 2^53. */
const BIGINT_LONG = avro.types.LongType.__with({
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

/**
 * An Avro object container file written by avsc's own encoder, without logical types (raw longs, ints
 * and bytes), so what the reader makes of them is checked against values written independently.
 */
function writeAvro(file: string, schema: avro.Schema, records: readonly object[], blockSize = 16 * 1024): Promise<void> {
  return writeAvroFile(file, schema, records, { blockSize });
}

/** A column as an Arrow vector of `type`, in record batches of `batchRows` (slices share one dictionary, as the file format needs). */
function arrowColumn(values: readonly unknown[], type: DataType, batchRows: number): Vector {
  const whole = vectorFromArray(values, type);
  const chunks: Vector[] = [];
  for (let start = 0; start < values.length; start += batchRows) chunks.push(whole.slice(start, start + batchRows));
  return chunks.slice(1).reduce((all, chunk) => all.concat(chunk), chunks[0]!);
}

function arrowTable(columns: Record<string, [readonly unknown[], DataType]>, batchRows: number): Table {
  return new Table(Object.fromEntries(Object.entries(columns).map(([name, [values, type]]) => [name, arrowColumn(values, type, batchRows)])));
}

function csvOf(rows: readonly Json[]): string {
  const columns = Object.keys(rows[0]!);
  const cell = (v: string | number | null) => (v === null ? '' : String(v));
  return [columns.join(','), ...rows.map((r) => columns.map((c) => cell(r[c] ?? null)).join(','))].join('\n') + '\n';
}

describe('ExampleGen formats: Avro and Arrow IPC', function () {
  let dir: string;

  before(async function () {
    dir = await tempDir('example-gen-formats');
  });

  describe('penguins', function () {
    let rows: Json[];
    let csvRun: ExecutorTestRun;

    before(async function () {
      const raw = JSON.parse(await readFile(vegaFile('penguins.json'), 'utf8')) as Json[];
      rows = raw.map((r) => Object.fromEntries(Object.entries(PENGUIN_COLUMNS).map(([from, to]) => [to, r[from] ?? null])));
      await writeFile(path.join(dir, 'penguins.csv'), csvOf(rows));
      csvRun = await gen(path.join(dir, 'penguins.csv'));
    });

    it('Avro (enum, unions with null, float, int and long) gives the Examples of the CSV route', async function () {
      const file = path.join(dir, 'penguins.avro');
      const nullable = (type: string) => ['null', type];
      await writeAvro(
        file,
        {
          type: 'record',
          name: 'Penguin',
          fields: [
            { name: 'Species', type: 'string' },
            { name: 'Island', type: { type: 'enum', name: 'Island', symbols: ['Biscoe', 'Dream', 'Torgersen'] } },
            { name: 'Beak_Length_mm', type: nullable('double') },
            { name: 'Beak_Depth_mm', type: nullable('float') },
            { name: 'Flipper_Length_mm', type: nullable('int') },
            { name: 'Body_Mass_g', type: nullable('long') },
            { name: 'Sex', type: nullable('string') },
          ],
        },
        rows,
        // Several blocks for 344 rows.
        2048,
      );
      const run = await gen(file);
      assert.equal(run.result.properties?.examples?.input_format, 'avro');
      await assertSameExamples(run, csvRun, ['Beak_Depth_mm']);
      const types = await duckQuery(`SELECT column_type AS t FROM (DESCRIBE SELECT * FROM read_parquet(${sqlString(splitFile(run, 'train'))}))`);
      assert.deepEqual(
        types.map((r) => r.t),
        ['VARCHAR', 'VARCHAR', 'DOUBLE', 'FLOAT', 'INTEGER', 'BIGINT', 'VARCHAR'],
      );
    });

    const penguinTable = () => {
      const col = (name: string) => rows.map((r) => r[name] ?? null);
      return arrowTable(
        {
          Species: [col('Species'), new Dictionary(new Utf8(), new Int32())],
          Island: [col('Island'), new Utf8()],
          Beak_Length_mm: [col('Beak_Length_mm'), new Float64()],
          Beak_Depth_mm: [col('Beak_Depth_mm'), new Float32()],
          Flipper_Length_mm: [col('Flipper_Length_mm'), new Int16()],
          Body_Mass_g: [col('Body_Mass_g').map((v) => (v === null ? null : BigInt(v))), new Int64()],
          Sex: [col('Sex'), new Utf8()],
        },
        100,
      );
    };

    it('an Arrow IPC file and an Arrow IPC stream give the Examples of the CSV route', async function () {
      const table = penguinTable();
      assert.equal(table.batches.length, 4);
      await writeFile(path.join(dir, 'penguins.arrow'), tableToIPC(table, 'file'));
      await writeFile(path.join(dir, 'penguins.arrows'), tableToIPC(table, 'stream'));
      for (const name of ['penguins.arrow', 'penguins.arrows']) {
        const run = await gen(path.join(dir, name));
        assert.equal(run.result.properties?.examples?.input_format, 'arrow');
        await assertSameExamples(run, csvRun, ['Beak_Depth_mm']);
      }
    });

    it('knows .avro, .arrow, .feather and .ipc by extension, a stream or a file by its first bytes', async function () {
      await copyFile(path.join(dir, 'penguins.arrows'), path.join(dir, 'stream.ipc'));
      await copyFile(path.join(dir, 'penguins.arrow'), path.join(dir, 'file.feather'));
      for (const name of ['stream.ipc', 'file.feather']) {
        const run = await gen(path.join(dir, name));
        assert.equal(run.result.properties?.examples?.input_format, 'arrow');
        assert.equal(run.result.properties?.examples?.num_examples, 344);
      }
      // An explicit format overrides the extension.
      await copyFile(path.join(dir, 'penguins.avro'), path.join(dir, 'penguins.data'));
      const run = await gen(path.join(dir, 'penguins.data'), { format: 'avro' });
      assert.equal(run.result.properties?.examples?.num_examples, 344);
    });
  });

  describe(`a flights sample (${FLIGHT_ROWS} rows of flights-3m.parquet)`, function () {
    let flights: { date_us: number; delay: number | null; distance: number; origin: string; destination: string }[];
    let csvRun: ExecutorTestRun;

    before(async function () {
      const parquet = sqlString(vegaFile('flights-3m.parquet'));
      const sample = `SELECT * FROM read_parquet(${parquet}) LIMIT ${FLIGHT_ROWS}`;
      const csv = path.join(dir, 'flights.csv');
      await duckQuery(`COPY (${sample}) TO ${sqlString(csv)} (HEADER)`);
      const rows = await duckQuery(`SELECT epoch_us(date) AS date_us, delay, distance, origin, destination FROM (${sample})`);
      flights = rows.map((r) => ({
        date_us: Number(r.date_us),
        delay: r.delay === null ? null : Number(r.delay),
        distance: Number(r.distance),
        origin: String(r.origin),
        destination: String(r.destination),
      }));
      csvRun = await gen(csv);
    });

    it('Avro in two files (timestamp-millis, enum, int with nulls) gives the Examples of the CSV route', async function () {
      const schema: avro.Schema = {
        type: 'record',
        name: 'Flight',
        fields: [
          { name: 'date', type: { type: 'long', logicalType: 'timestamp-millis' } },
          { name: 'delay', type: ['null', 'int'] },
          { name: 'distance', type: 'long' },
          { name: 'origin', type: 'string' },
          { name: 'destination', type: { type: 'enum', name: 'Airport', symbols: [...new Set(flights.map((f) => f.destination))].sort() } },
        ],
      };
      const records = flights.map((f) => ({ date: f.date_us / 1000, delay: f.delay, distance: f.distance, origin: f.origin, destination: f.destination }));
      const half = records.length / 2;
      await writeAvro(path.join(dir, 'flights-1.avro'), schema, records.slice(0, half));
      await writeAvro(path.join(dir, 'flights-2.avro'), schema, records.slice(half));
      const run = await gen(path.join(dir, 'flights-*.avro'));
      await assertSameExamples(run, csvRun);
    });

    it('an Arrow IPC file (ms timestamps in UTC, dictionary strings) and stream (µs timestamps) give the Examples of the CSV route', async function () {
      const columns = (date: DataType) => ({
        date: [flights.map((f) => f.date_us / 1000), date] as [unknown[], DataType],
        delay: [flights.map((f) => f.delay), new Int32()] as [unknown[], DataType],
        distance: [flights.map((f) => BigInt(f.distance)), new Int64()] as [unknown[], DataType],
        origin: [flights.map((f) => f.origin), new Dictionary(new Utf8(), new Int32())] as [unknown[], DataType],
        destination: [flights.map((f) => f.destination), new Utf8()] as [unknown[], DataType],
      });
      await writeFile(path.join(dir, 'flights.arrow'), tableToIPC(arrowTable(columns(new Timestamp(TimeUnit.MILLISECOND, 'UTC')), 4096), 'file'));
      await writeFile(path.join(dir, 'flights.arrows'), tableToIPC(arrowTable(columns(new TimestampMicrosecond()), 4096), 'stream'));
      for (const name of ['flights.arrow', 'flights.arrows']) await assertSameExamples(await gen(path.join(dir, name)), csvRun);
    });
  });

  it("reads vega-datasets' flights-200k.arrow (an Arrow IPC file of int16 and float32) as its JSON twin reads", async function () {
    const run = await gen(vegaFile('flights-200k.arrow'));
    const types = await duckQuery(`SELECT column_type AS t FROM (DESCRIBE SELECT * FROM read_parquet(${sqlString(splitFile(run, 'train'))}))`);
    assert.deepEqual(types.map((r) => r.t), ['SMALLINT', 'SMALLINT', 'FLOAT']);
    // Row by row, not split by split: the JSON holds each float32 time as its full double expansion
    // (6.616666793823242), a float32 column keys by its shortest text (6.6166668), so the split key differs.
    await assertSameRows(run, await gen(vegaFile('flights-200k.json')), ['time']);
  });

  describe('Avro types', function () {
    /** Two's complement big-endian bytes of `value`, as Avro's decimal holds its unscaled value. */
    const twosComplement = (value: bigint, size: number) => {
      const bytes = Buffer.alloc(size);
      let v = BigInt.asUintN(8 * size, value);
      for (let i = size - 1; i >= 0; i--) {
        bytes[i] = Number(v & 0xffn);
        v >>= 8n;
      }
      return bytes;
    };

    it('maps every primitive, union with null and logical type as the column-type table says', async function () {
      const file = path.join(dir, 'types.avro');
      // Row 2: every nullable field null, as written and as read back (arrays and maps are empty instead).
      const ALL_NULL = { b: null, l: null, f: null, d: null, bytes: null, s: null, day: null, ts_ms: null, ts_us: null, time_ms: null, dec_bytes: null, dec_fixed: null, point: null };
      const opt = (type: string | object) => ['null', type] as avro.Schema[];
      await writeAvro(
        file,
        {
          type: 'record',
          name: 'AllTypes',
          fields: [
            { name: 'id', type: 'int' },
            { name: 'b', type: opt('boolean') },
            { name: 'l', type: opt('long') },
            { name: 'f', type: opt('float') },
            { name: 'd', type: opt('double') },
            { name: 'bytes', type: opt('bytes') },
            { name: 's', type: opt('string') },
            { name: 'day', type: opt({ type: 'int', logicalType: 'date' }) },
            { name: 'ts_ms', type: opt({ type: 'long', logicalType: 'timestamp-millis' }) },
            { name: 'ts_us', type: opt({ type: 'long', logicalType: 'timestamp-micros' }) },
            { name: 'time_ms', type: opt({ type: 'int', logicalType: 'time-millis' }) },
            { name: 'dec_bytes', type: opt({ type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 }) },
            { name: 'dec_fixed', type: opt({ type: 'fixed', name: 'Dec', size: 9, logicalType: 'decimal', precision: 20, scale: 4 }) },
            { name: 'tags', type: { type: 'array', items: 'int' } },
            { name: 'point', type: opt({ type: 'record', name: 'Point', fields: [{ name: 'x', type: 'double' }, { name: 'label', type: 'string' }] }) },
            { name: 'attrs', type: { type: 'map', values: 'long' } },
          ],
        } as avro.Schema,
        [
          {
            id: 1,
            b: true,
            l: -(2 ** 40),
            f: 0.1,
            d: -2.5,
            bytes: Buffer.from([0, 255, 16]),
            s: 'héllo',
            day: 19000,
            ts_ms: -1500,
            ts_us: 1700000000123456,
            time_ms: 3723004,
            dec_bytes: twosComplement(-12345n, 3),
            dec_fixed: twosComplement(123456789012345678n, 9),
            tags: [3, 1, 2],
            point: { x: 1.5, label: 'p' },
            attrs: { a: 1, b: -2 },
          },
          { id: 2, ...ALL_NULL, tags: [], attrs: {} },
        ],
      );
      const run = await gen(file, { splits: [{ name: 'all', hashBuckets: 1 }] });
      const out = sqlString(path.join(run.outputDirs.examples!, 'Split-all', 'data-00000.parquet'));
      const types = await duckQuery(`SELECT column_name AS n, column_type AS t FROM (DESCRIBE SELECT * FROM read_parquet(${out}))`);
      assert.deepEqual(Object.fromEntries(types.map((r) => [r.n, r.t])), {
        id: 'INTEGER',
        b: 'BOOLEAN',
        l: 'BIGINT',
        f: 'FLOAT',
        d: 'DOUBLE',
        bytes: 'BLOB',
        s: 'VARCHAR',
        day: 'DATE',
        ts_ms: 'TIMESTAMP',
        ts_us: 'TIMESTAMP',
        time_ms: 'TIME',
        dec_bytes: 'DECIMAL(10,2)',
        dec_fixed: 'DECIMAL(20,4)',
        tags: 'INTEGER[]',
        point: 'STRUCT(x DOUBLE, "label" VARCHAR)',
        attrs: 'MAP(VARCHAR, BIGINT)',
      });
      const text = await duckQuery(
        `SELECT id, b, CAST(l AS VARCHAR) AS l, f, d, hex(bytes) AS bytes, s, CAST(day AS VARCHAR) AS day, epoch_us(ts_ms) AS ts_ms,
           epoch_us(ts_us) AS ts_us, CAST(time_ms AS VARCHAR) AS time_ms, CAST(dec_bytes AS VARCHAR) AS dec_bytes,
           CAST(dec_fixed AS VARCHAR) AS dec_fixed, CAST(tags AS VARCHAR) AS tags, CAST(point AS VARCHAR) AS point, CAST(attrs AS VARCHAR) AS attrs
         FROM read_parquet(${out}) ORDER BY id`,
      );
      assert.deepEqual(text, [
        {
          id: 1,
          b: true,
          l: '-1099511627776',
          f: Math.fround(0.1),
          d: -2.5,
          bytes: '00FF10',
          s: 'héllo',
          day: '2022-01-08',
          ts_ms: -1500000n,
          ts_us: 1700000000123456n,
          time_ms: '01:02:03.004',
          dec_bytes: '-123.45',
          dec_fixed: '12345678901234.5678',
          tags: '[3, 1, 2]',
          point: "{'x': 1.5, 'label': p}",
          attrs: '{a=1, b=-2}',
        },
        { id: 2, ...ALL_NULL, tags: '[]', attrs: '{}' },
      ]);
    });

    it('reads longs beyond 2^53 exactly', async function () {
      const file = path.join(dir, 'longs.avro');
      const values = [2n ** 60n + 1n, -(2n ** 62n) - 3n, 5n];
      const type = avro.Type.forSchema({ type: 'record', name: 'L', fields: [{ name: 'v', type: 'long' }] }, { registry: { long: BIGINT_LONG } });
      await writeAvro(file, type, values.map((v) => ({ v })));
      const run = await gen(file, { splits: [{ name: 'all', hashBuckets: 1 }] });
      const out = sqlString(path.join(run.outputDirs.examples!, 'Split-all', 'data-00000.parquet'));
      const rows = await duckQuery(`SELECT v FROM read_parquet(${out})`);
      assert.deepEqual(rows.map((r) => r.v), values);
    });

    it('refuses a union of two types other than null, naming the file and column', async function () {
      const file = path.join(dir, 'union.avro');
      await writeAvro(file, { type: 'record', name: 'U', fields: [{ name: 'v', type: ['int', 'string'] }] }, [{ v: 1 }, { v: 'a' }]);
      await rejects(gen(file), /union\.avro: column "v": union of int, string is not supported/);
    });
  });

  describe('bad files', function () {
    it('a truncated Avro file fails naming the file, the block and the byte it ends in', async function () {
      const whole = await readFile(path.join(dir, 'flights-1.avro'));
      const file = path.join(dir, 'truncated.avro');
      await writeFile(file, whole.subarray(0, Math.floor(whole.length / 2)));
      await rejects(gen(file), /truncated\.avro: truncated Avro file: it ends inside block \d+ \(\d+ records from record \d+\) at byte \d+/);
    });

    it('an Avro block whose sync marker is damaged fails as corrupt, naming file, block and byte', async function () {
      const whole = Buffer.from(await readFile(path.join(dir, 'flights-1.avro')));
      // The last 16 bytes are the final block's sync marker.
      whole[whole.length - 3]! ^= 0xff;
      const file = path.join(dir, 'bad-sync.avro');
      await writeFile(file, whole);
      await rejects(gen(file), /bad-sync\.avro: corrupt Avro file: block \d+ at byte \d+ does not end with the file's sync marker/);
    });

    it('a file that is not Avro fails saying so', async function () {
      const file = path.join(dir, 'not.avro');
      await writeFile(file, 'Species,Island\nAdelie,Dream\n');
      await rejects(gen(file), /not\.avro: not an Avro object container file/);
    });

    it('a truncated Arrow IPC file, a corrupt Arrow IPC stream and an empty file fail naming the file and what the reader said', async function () {
      const whole = await readFile(path.join(dir, 'flights.arrow'));
      await writeFile(path.join(dir, 'truncated.arrow'), whole.subarray(0, whole.length - 100));
      await rejects(gen(path.join(dir, 'truncated.arrow')), /truncated\.arrow: truncated Arrow IPC file: it starts with "ARROW1" but does not end with it/);

      const stream = Buffer.from(await readFile(path.join(dir, 'flights.arrows')));
      await writeFile(path.join(dir, 'cut.arrows'), stream.subarray(0, Math.floor(stream.length / 2)));
      await rejects(gen(path.join(dir, 'cut.arrows')), /cut\.arrows: cannot read it as an Arrow IPC stream \(corrupt or truncated\?\): Expected to read \d+ bytes/);

      await writeFile(path.join(dir, 'garbage.ipc'), 'this is no Arrow stream at all');
      await rejects(gen(path.join(dir, 'garbage.ipc')), /garbage\.ipc: cannot read it as an Arrow IPC stream \(corrupt or truncated\?\): /);

      await writeFile(path.join(dir, 'empty.arrow'), '');
      await rejects(gen(path.join(dir, 'empty.arrow')), /empty\.arrow: the file is empty, not Arrow IPC/);
    });
  });
});
