import assert from 'node:assert/strict';
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { UserInputError } from '../../dsl/executor';
import { withDuckDb } from '../../components/data/duckdb-session';
import { crc32c } from '../../components/example-gen/formats/crc32c';
import { loadRecords, type LoadProgress } from '../../components/example-gen/formats/load-records';
import { openTfRecordSources } from '../../components/example-gen/formats/tfrecord';
import { ExampleGen } from '../../components/example-gen/spec';
import { runExecutorForTest } from '../support/executor-harness';
import { tempDir } from '../support/tmp';
import { encodeTestExample, frameRecords, writeTfRecords, type TestExample } from '../support/tfrecord-writer';

type Row = Record<string, unknown>;

interface Loaded {
  /** `name TYPE` per column, in order. */
  columns: string[];
  rows: Row[];
  progress: LoadProgress[];
}

/** The files loaded as ExampleGen loads a TFRecord input, read back from DuckDB in file order. */
async function load(files: string[]): Promise<Loaded> {
  const signal = new AbortController().signal;
  const sources = await openTfRecordSources(files, { signal });
  const progress: LoadProgress[] = [];
  return withDuckDb({ tmpDir: path.dirname(files[0]!), signal }, async (db) => {
    await loadRecords(db, 'records', sources, { signal, onProgress: (p) => progress.push(p) });
    const described = (await db.query('DESCRIBE records')).getRowObjectsJS();
    // Unordered, the view yields its Parquet parts' rows in file order (DuckDB preserves insertion order).
    const rows = (await db.query('SELECT * FROM records')).getRowObjectsJS();
    return { columns: described.map((c) => `${String(c.column_name)} ${String(c.column_type)}`), rows, progress };
  });
}

/** Blobs as hex, so that rows compare whatever array type the reader returns. */
function hexBlobs(row: Row, columns: string[]): Row {
  const out = { ...row };
  for (const c of columns) {
    const v = out[c];
    if (v instanceof Uint8Array) out[c] = Buffer.from(v).toString('hex');
    else if (Array.isArray(v)) out[c] = v.map((b: Uint8Array) => Buffer.from(b).toString('hex'));
  }
  return out;
}

/* Protobuf wire bytes written by hand, for layouts the test writer (protobufjs) never produces. */
function varint(value: bigint | number): number[] {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}
const lengthDelimited = (field: number, bytes: number[]) => [(field << 3) | 2, ...varint(bytes.length), ...bytes];
const text = (s: string) => [...Buffer.from(s)];
const float32 = (x: number) => [...new Uint8Array(Float32Array.of(x).buffer)];
/** An Example of the given map entries (each a list of wire bytes). */
const example = (...entries: number[][]) => Uint8Array.from(lengthDelimited(1, entries.flatMap((e) => lengthDelimited(1, e))));
const key = (name: string) => lengthDelimited(1, text(name));
const value = (...featureFields: number[][]) => lengthDelimited(2, featureFields.flat());
const int64List = (...fields: number[][]) => lengthDelimited(3, fields.flat());
const packed = (values: bigint[]) => lengthDelimited(1, values.flatMap((v) => varint(v)));

const INT64_EDGES = [0n, 1n, -1n, 127n, 128n, -300n, 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 63n - 1n, -(2n ** 63n)];
const FLOAT_EDGES = [0, -0, 1.5, 0.1, 1e-45, 3.4028234663852886e38, -Infinity, Infinity, NaN, -2.5e-38];
/** Empty, short, exactly the 12 bytes DuckDB inlines, one more, long, multi-byte UTF-8. */
const STRINGS = ['', 'abc', 'exactly12byt', 'thirteen byte', '2001-01-14 06:30:00', 'naïve café ✓ — a longer value'];

describe('ExampleGen TFRecord columns: records located in their bytes, values written into DuckDB vectors', function () {
  let dir: string;
  before(async function () {
    dir = await tempDir('tfrecord-columns');
  });

  it('computes CRC-32C over a range of a buffer as over those bytes alone', function () {
    const bytes = Buffer.from('xx123456789 and the rest of a longer buffer, past eight bytes');
    assert.equal(crc32c(bytes, 2, 11), 0xe3069283);
    for (const [start, end] of [[0, bytes.length], [3, 40], [5, 6], [7, 7]] as const) {
      assert.equal(crc32c(bytes, start, end), crc32c(Uint8Array.from(bytes.subarray(start, end))), `[${start}, ${end})`);
    }
  });

  it('writes every int64 exactly, every float32 bit for bit, strings inline, long, repeated and multi-byte, lists and NULLs, across batches', async function () {
    const blob = (i: number) => (i % 3 === 0 ? Uint8Array.from([0xff, i & 0xff]) : Uint8Array.from({ length: 20 }, (_, k) => (k * 37 + (i % 5)) & 0xff));
    const rows = 5000;
    const examples: TestExample[] = [];
    const expected: Row[] = [];
    for (let i = 0; i < rows; i++) {
      const e: TestExample = {};
      const row: Row = { id: null, x: null, name: null, tags: null, vals: null, fs: null, raw: null };
      if (i % 7 !== 3) {
        e.id = { int64: [INT64_EDGES[i % INT64_EDGES.length]!] };
        row.id = INT64_EDGES[i % INT64_EDGES.length]!;
      }
      const x = FLOAT_EDGES[i % FLOAT_EDGES.length]!;
      e.x = { float: i % 11 === 5 ? [] : [x] };
      row.x = i % 11 === 5 ? null : Math.fround(x);
      // Long values repeat every few rows (deduplicated within a batch) and differ across batches.
      const name = i % 13 === 0 ? `${STRINGS[4]} #${Math.floor(i / 3)}` : STRINGS[i % STRINGS.length]!;
      e.name = { bytes: [name] };
      row.name = name;
      const tags = Array.from({ length: i % 4 }, (_, k) => STRINGS[(i + k) % STRINGS.length]!);
      e.tags = { bytes: tags };
      row.tags = tags.length ? tags : null;
      const vals = Array.from({ length: (i % 3) + 1 }, (_, k) => INT64_EDGES[(i + 5 * k) % INT64_EDGES.length]!);
      e.vals = { int64: vals };
      row.vals = vals;
      e.fs = { float: [x, -x] };
      row.fs = [Math.fround(x), Math.fround(-x)];
      if (i % 2 === 0) {
        e.raw = { bytes: [blob(i)] };
        row.raw = Buffer.from(blob(i)).toString('hex');
      }
      examples.push(e);
      expected.push(row);
    }
    const file = await writeTfRecords(path.join(dir, 'edges.tfrecord'), examples);
    const loaded = await load([file]);
    assert.deepEqual(loaded.columns, ['id BIGINT', 'x FLOAT', 'name VARCHAR', 'tags VARCHAR[]', 'vals BIGINT[]', 'fs FLOAT[]', 'raw BLOB']);
    assert.equal(loaded.rows.length, rows);
    loaded.rows.forEach((r, i) => assert.deepStrictEqual(hexBlobs(r, ['raw']), expected[i], `row ${i}`));
  });

  it('reads records laid out as protobuf allows but encoders rarely write as protobuf merges them', async function () {
    const records = [
      // Unpacked int64 values.
      example([...key('a'), ...value(int64List([0x08, ...varint(5n)], [0x08, ...varint(-1n)]))]),
      // Two packed fields in one list.
      example([...key('a'), ...value(int64List(packed([1n]), packed([2n, 3n])))]),
      // Unpacked floats.
      example([...key('f'), ...value(lengthDelimited(2, [0x0d, ...float32(1.5), 0x0d, ...float32(2.5)]))]),
      // The entry's value given twice: the Features merge.
      example([...key('a'), ...value(int64List(packed([7n]))), ...value(int64List(packed([8n])))]),
      // The same key twice: the last entry wins.
      example([...key('a'), ...value(int64List(packed([9n])))], [...key('a'), ...value(int64List(packed([10n])))]),
      // A field outside tf.Example, before the features.
      Uint8Array.from([0x10, 0x01, ...example([...key('a'), ...value(int64List(packed([11n])))])]),
      // The value before the key.
      example([...value(int64List(packed([12n]))), ...key('a')]),
      // One Feature switching kind: the last one set counts.
      example([...key('a'), ...value(lengthDelimited(1, lengthDelimited(1, text('x'))), int64List(packed([13n])))]),
    ];
    const file = path.join(dir, 'layouts.tfrecord');
    await writeFile(file, frameRecords(records));
    const loaded = await load([file]);
    assert.deepEqual(loaded.columns, ['a BIGINT[]', 'f FLOAT[]']);
    assert.deepStrictEqual(
      loaded.rows.map((r) => r.a),
      [[5n, -1n], [1n, 2n, 3n], null, [7n, 8n], [10n], [11n], [12n], [13n]],
    );
    assert.deepStrictEqual(
      loaded.rows.map((r) => r.f),
      [null, null, [1.5, 2.5], null, null, null, null, null],
    );
  });

  describe('columns from a sample of each file', function () {
    // About 2 MB of uniform records, past the first megabyte (the sample).
    const UNIFORM = 40_000;
    let uniform: Uint8Array[];
    /** a: one int64; s: one ASCII string; z: a feature whose kind is never set. */
    const uniformRecord = (i: number) =>
      example([...key('a'), ...value(int64List(packed([BigInt(i)])))], [...key('s'), ...value(lengthDelimited(1, lengthDelimited(1, text(`v${i}`))))], [...key('z'), ...value()]);
    before(function () {
      uniform = Array.from({ length: UNIFORM }, (_, i) => uniformRecord(i));
    });
    const writeWithTail = async (name: string, tail: Uint8Array[]) => {
      const file = path.join(dir, name);
      await writeFile(file, frameRecords([...uniform, ...tail]));
      return file;
    };

    it('a late record outgrowing them (a longer list, bytes not UTF-8, a kind first set) restarts the load with the columns of every record', async function () {
      const cases: Array<{ tail: Uint8Array; columns: string[]; last: Row }> = [
        { tail: example([...key('a'), ...value(int64List(packed([1n, 2n])))]), columns: ['a BIGINT[]', 's VARCHAR', 'z VARCHAR'], last: { a: [1n, 2n], s: null, z: null } },
        {
          tail: example([...key('s'), ...value(lengthDelimited(1, lengthDelimited(1, [0xff, 0x41])))]),
          columns: ['a BIGINT', 's BLOB', 'z VARCHAR'],
          last: { a: null, s: 'ff41', z: null },
        },
        { tail: example([...key('z'), ...value(lengthDelimited(2, lengthDelimited(1, float32(2.5))))]), columns: ['a BIGINT', 's VARCHAR', 'z FLOAT'], last: { a: null, s: null, z: 2.5 } },
      ];
      for (const [n, c] of cases.entries()) {
        const loaded = await load([await writeWithTail(`outgrown-${n}.tfrecord`, [c.tail])]);
        assert.deepEqual(loaded.columns, c.columns, `case ${n}`);
        assert.equal(loaded.rows.length, UNIFORM + 1, `case ${n}: each row once`);
        const first = hexBlobs(loaded.rows[0]!, ['s']);
        const last = hexBlobs(loaded.rows[UNIFORM]!, ['s']);
        assert.deepStrictEqual(first, { a: c.columns[0] === 'a BIGINT[]' ? [0n] : 0n, s: c.columns[1] === 's BLOB' ? Buffer.from('v0').toString('hex') : 'v0', z: null }, `case ${n}: first row`);
        assert.deepStrictEqual(last, c.last, `case ${n}: the late row`);
      }
    });

    it('a feature first met past the sample of a second file adds a column for the rows of both', async function () {
      const one = await writeWithTail('one.tfrecord', []);
      const two = await writeWithTail('two.tfrecord', [example([...key('late'), ...value(lengthDelimited(1, lengthDelimited(1, text('here'))))])]);
      const loaded = await load([one, two]);
      assert.deepEqual(loaded.columns, ['a BIGINT', 's VARCHAR', 'z VARCHAR', 'late VARCHAR']);
      assert.equal(loaded.rows.length, 2 * UNIFORM + 1);
      assert.deepStrictEqual(loaded.rows[0], { a: 0n, s: 'v0', z: null, late: null });
      assert.deepStrictEqual(loaded.rows[2 * UNIFORM], { a: null, s: null, z: null, late: 'here' });
    });

    it('a late record of another kind fails naming both records and their byte offsets', async function () {
      const file = await writeWithTail('kinds.tfrecord', [example([...key('a'), ...value(lengthDelimited(2, lengthDelimited(1, float32(1))))])]);
      const offset = uniform.reduce((n, p) => n + 16 + p.length, 0);
      await assert.rejects(load([file]), (err: Error) => {
        assert.ok(err instanceof UserInputError, err.message);
        assert.match(err.message, new RegExp(`kinds.tfrecord record ${UNIFORM} at byte ${offset}: feature "a" is float_list here but int64_list in .*kinds.tfrecord record 0 at byte 0`));
        return true;
      });
    });

    it('reports the load by bytes read, and ExampleGen turns it into a rising fraction', async function () {
      const file = await writeWithTail('progress.tfrecord', []);
      const { progress } = await load([file]);
      const size = (await stat(file)).size;
      assert.ok(progress.length > 1);
      assert.ok(progress.every((p, i) => p.totalBytes === size && (i === 0 || p.bytesRead >= progress[i - 1]!.bytesRead)));
      assert.equal(progress.at(-1)!.bytesRead, size);
      const run = await runExecutorForTest(ExampleGen, { parameters: { input: file } });
      const reading = run.progress.filter((p) => p.message === `reading ${file}`).map((p) => p.fraction!);
      assert.ok(reading[0]! > 0 && reading.at(-1)! > reading[0]!, `fractions while reading: ${reading.join(', ')}`);
      assert.ok(reading.every((f, i) => i === 0 || f >= reading[i - 1]!), `fractions while reading never fall: ${reading.join(', ')}`);
    });
  });

  it('an empty file, or one of empty tf.Examples, fails saying it holds no rows', async function () {
    const empty = path.join(dir, 'empty.tfrecord');
    await writeFile(empty, Buffer.alloc(0));
    const featureless = path.join(dir, 'featureless.tfrecord');
    await writeFile(featureless, frameRecords([new Uint8Array(0), Uint8Array.from(lengthDelimited(1, []))]));
    for (const file of [empty, featureless]) {
      await assert.rejects(runExecutorForTest(ExampleGen, { parameters: { input: file } }), (err: Error) => {
        assert.ok(err instanceof UserInputError, err.message);
        assert.match(err.message, new RegExp(`${path.basename(file)}: holds no rows: no TFRecord record has a feature`));
        return true;
      });
    }
  });

  it('frames a record cut by the end of a read chunk (in its header, at its start, in its data), with its byte offset', async function () {
    const CHUNK = 1 << 20;
    /** A record of `total` framed bytes: a bytes value sized to make it so. */
    const filler = (total: number) => {
      for (let n = total - 16; n > 0; n--) {
        const payload = encodeTestExample({ v: { bytes: ['p'.repeat(n)] } });
        if (payload.length + 16 === total) return payload;
      }
      throw new Error(`no filler of ${total} bytes`);
    };
    const tail = ['first after', 'second after', 'x'.repeat(40)].map((v) => encodeTestExample({ v: { bytes: [v] } }));
    for (const cut of [5, 0, 20]) {
      const start = CHUNK - cut;
      const framed = frameRecords([filler(start), ...tail]);
      const file = path.join(dir, `cut-${cut}.tfrecord`);
      await writeFile(file, framed);
      const loaded = await load([file]);
      assert.deepEqual(loaded.rows.slice(1).map((r) => r.v), ['first after', 'second after', 'x'.repeat(40)], `cut ${cut} bytes before the record`);
      framed[start + 14] = framed[start + 14]! ^ 1;
      await writeFile(file, framed);
      await assert.rejects(load([file]), new RegExp(`cut-${cut}.tfrecord: byte ${start}: bad data CRC in TFRecord record 1`));
    }
  });

  it('reads a record longer than a read chunk, plain and GZIP', async function () {
    const big = 'x'.repeat(3 << 20);
    for (const gzip of [false, true]) {
      const framed = frameRecords([encodeTestExample({ v: { bytes: ['before'] } }), encodeTestExample({ v: { bytes: [big] } }), encodeTestExample({ v: { bytes: ['after'] } })]);
      const file = path.join(dir, gzip ? 'big.tfrecord.gz' : 'big.tfrecord');
      await writeFile(file, gzip ? gzipSync(framed) : framed);
      const loaded = await load([file]);
      assert.deepEqual(
        loaded.rows.map((r) => r.v),
        ['before', big, 'after'],
        gzip ? 'GZIP' : 'plain',
      );
    }
  });
});
