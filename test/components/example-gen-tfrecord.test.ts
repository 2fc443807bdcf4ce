import assert from 'node:assert/strict';
import { rejects } from '../support/user-input-errors';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ExampleGen } from '../../components/example-gen/spec';
import { withDuckDb } from '../../components/data/duckdb-session';
import { crc32c } from '../../components/example-gen/formats/crc32c';
import { loadRecords } from '../../components/example-gen/formats/load-records';
import { decodeExample } from '../../components/example-gen/formats/tf-example';
import { openTfRecordSource } from '../../components/example-gen/formats/tfrecord';
import { readTfRecordFrameBatches } from '../../components/example-gen/formats/tfrecord-frames';
import { runExecutorForTest, type ExecutorTestRun } from '../support/executor-harness';
import { REPO_ROOT } from '../support/repo-root';
import { tempDir } from '../support/tmp';
import { encodeTestExample, exampleMessageType, frameRecords, writeTfRecords, type TestExample } from '../support/tfrecord-writer';
import { duckQuery, readParquet } from './parquet-rows';
import { vegaFile } from './vega-data';

type Row = Record<string, unknown>;
const FIXTURES = path.join(REPO_ROOT, 'test/fixtures/tfx-split');
const FLIGHT_ROWS = 3000;

async function splitRows(run: ExecutorTestRun, split: string): Promise<Row[]> {
  return readParquet(path.join(run.outputDirs.examples!, `Split-${split}`, 'data-00000.parquet'));
}

/** One canonical form per value: numbers within float32 precision (TFRecord stores float32), timestamps as DuckDB's UTC text. */
function canonical(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'bigint') return Math.fround(Number(value));
  if (value instanceof Date) return value.toISOString().replace('T', ' ').replace(/\.000Z$/, '');
  return value;
}

async function assertSameRows(actual: ExecutorTestRun, expected: ExecutorTestRun, columns: string[]): Promise<void> {
  for (const split of ['train', 'eval']) {
    const a = await splitRows(actual, split);
    const e = await splitRows(expected, split);
    assert.equal(a.length, e.length, `${split} row count`);
    e.forEach((row, i) => {
      for (const c of columns) assert.equal(canonical(a[i]![c]), canonical(row[c]), `${split} row ${i} column ${c}`);
    });
  }
}

/** The file's rows as loaded into DuckDB, in file order. */
async function readAll(file: string): Promise<unknown[][]> {
  const signal = new AbortController().signal;
  const source = await openTfRecordSource(file, { signal });
  return withDuckDb({ tmpDir: path.dirname(file), signal }, async (db) => {
    await loadRecords(db, 'records', [source], { signal });
    // Unordered, the view yields its Parquet parts' rows in file order (DuckDB preserves insertion order).
    return (await db.query('SELECT * FROM records')).getRows();
  });
}

describe('ExampleGen on TFRecord of tf.Example', function () {
  let dir: string;
  before(async function () {
    dir = await tempDir('tfrecord-test');
  });

  it('computes CRC-32C as TFRecord does (the standard check value)', function () {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  });

  it('decodes every record of a TFRecord file TensorFlow wrote as protobufjs does from the vendored .proto', async function () {
    const type = exampleMessageType();
    let records = 0;
    const frames: Buffer[] = [];
    for await (const batch of readTfRecordFrameBatches(path.join(FIXTURES, 'penguins.tfrecord'), { gzip: false, signal: new AbortController().signal })) {
      for (let k = 0; k < batch.count; k++) frames.push(batch.bytes.subarray(batch.dataStart[k], batch.dataEnd[k]));
    }
    for (const data of frames) {
      records++;
      const mine = decodeExample(data);
      const theirs = type.toObject(type.decode(data), { longs: String, bytes: String, arrays: true }) as {
        features: { feature: Record<string, { bytesList?: { value: string[] }; floatList?: { value: number[] }; int64List?: { value: string[] } }> };
      };
      assert.deepEqual([...mine.features.keys()].sort(), Object.keys(theirs.features.feature).sort());
      for (const [name, { feature }] of mine.features) {
        const t = theirs.features.feature[name]!;
        if (feature.kind === 'float_list') assert.deepEqual(Array.from(new Float32Array(Uint8Array.from(feature.bits).buffer)), t.floatList!.value);
        else if (feature.kind === 'bytes_list') assert.deepEqual(feature.values.map((v) => Buffer.from(v).toString('base64')), t.bytesList!.value);
        else assert.fail(`unexpected kind ${String(feature.kind)} for ${name}`);
      }
    }
    assert.equal(records, 344);
  });

  it('reads penguins.tfrecord like the CSV route reads penguins.csv, row for row', async function () {
    const tfr = await runExecutorForTest(ExampleGen, { parameters: { input: path.join(FIXTURES, 'penguins.tfrecord') } });
    const csv = await runExecutorForTest(ExampleGen, { parameters: { input: path.join(FIXTURES, 'penguins.csv') } });
    assert.equal(tfr.result.properties?.examples?.input_format, 'tfrecord');
    const header = (await readFile(path.join(FIXTURES, 'penguins.csv'), 'utf8')).split('\n')[0]!.split(',');
    await assertSameRows(tfr, csv, header);
    const types = await duckQuery(`DESCRIBE SELECT * FROM read_parquet('${path.join(tfr.outputDirs.examples!, 'Split-train', 'data-00000.parquet')}')`);
    assert.deepEqual(
      types.map((t) => `${String(t.column_name)} ${String(t.column_type)}`),
      header.map((h) => `${h} ${h === 'Species' || h === 'Island' || h === 'Sex' ? 'VARCHAR' : 'FLOAT'}`),
    );
  });

  it('reads a flights sample written as TFRecord, plain and GZIP, like the CSV route', async function () {
    const flights = await duckQuery(
      `SELECT CAST(date AS VARCHAR) AS date, delay, distance, origin, destination FROM read_parquet('${vegaFile('flights-3m.parquet')}') LIMIT ${FLIGHT_ROWS}`,
    );
    const examples: TestExample[] = flights.map((r) => ({
      date: { bytes: [String(r.date)] },
      delay: { int64: [r.delay as bigint] },
      distance: { int64: [r.distance as bigint] },
      origin: { bytes: [String(r.origin)] },
      destination: { bytes: [String(r.destination)] },
    }));
    const columns = ['date', 'delay', 'distance', 'origin', 'destination'];
    const csvFile = path.join(dir, 'flights.csv');
    await writeFile(csvFile, [columns.join(','), ...flights.map((r) => columns.map((c) => String(r[c])).join(','))].join('\n') + '\n');
    const csv = await runExecutorForTest(ExampleGen, { parameters: { input: csvFile } });
    for (const gzip of [false, true]) {
      const file = await writeTfRecords(path.join(dir, gzip ? 'flights.tfrecord.gz' : 'flights.tfrecords'), examples, { gzip });
      const tfr = await runExecutorForTest(ExampleGen, { parameters: { input: file } });
      assert.equal(tfr.result.summary?.rows, FLIGHT_ROWS);
      await assertSameRows(tfr, csv, columns);
    }
  });

  it('maps list features to LIST columns, non-UTF-8 bytes to BLOB, empty lists and absent features to NULL', async function () {
    const file = await writeTfRecords(path.join(dir, 'shapes.tfrecord'), [
      { ids: { int64: [1, -2] }, raw: { bytes: [Uint8Array.from([0xff, 0x00])] }, score: { float: [0.5] } },
      { ids: { int64: [] }, raw: { bytes: [Uint8Array.from([0x41])] } },
      { ids: { int64: [9007199254740993n] }, score: { float: [] } },
    ]);
    const run = await runExecutorForTest(ExampleGen, { parameters: { input: file, splits: [{ name: 'all', hashBuckets: 1 }] } });
    const parquet = path.join(run.outputDirs.examples!, 'Split-all', 'data-00000.parquet');
    const types = await duckQuery(`DESCRIBE SELECT * FROM read_parquet('${parquet}')`);
    assert.deepEqual(
      types.map((t) => `${String(t.column_name)} ${String(t.column_type)}`),
      ['ids BIGINT[]', 'raw BLOB', 'score FLOAT'],
    );
    const rows = await duckQuery(`SELECT CAST(ids AS VARCHAR) AS ids, hex(raw) AS raw, score FROM read_parquet('${parquet}')`);
    assert.deepEqual(rows, [
      { ids: '[1, -2]', raw: 'FF00', score: 0.5 },
      { ids: null, raw: '41', score: null },
      { ids: '[9007199254740993]', raw: null, score: null },
    ]);
  });

  describe('corrupt input names the file and the byte offset', function () {
    const examples: TestExample[] = [{ a: { int64: [1] } }, { a: { int64: [2] }, b: { bytes: ['x'] } }, { a: { int64: [3] } }];
    const payloads = examples.map(encodeTestExample);
    // Record k starts after the 12-byte header, data and 4-byte CRC of every record before it.
    const starts = payloads.map((_, k) => payloads.slice(0, k).reduce((n, p) => n + 16 + p.length, 0));
    const good = frameRecords(payloads);
    const corrupt = async (name: string, mutate: (b: Buffer) => Buffer): Promise<string> => {
      const file = path.join(dir, name);
      await writeFile(file, mutate(Buffer.from(good)));
      return file;
    };
    const flip = (at: number) => (b: Buffer) => {
      b[at] = b[at]! ^ 0x01;
      return b;
    };

    it('reads the good file', async function () {
      assert.deepEqual(await readAll(await corrupt('good.tfrecord', (b) => b)), [[1n, null], [2n, 'x'], [3n, null]]);
    });
    it('truncated length', async function () {
      const file = await corrupt('cut-header.tfrecord', (b) => b.subarray(0, starts[2]! + 5));
      await rejects(readAll(file), new RegExp(`cut-header.tfrecord: byte ${starts[2]}: truncated TFRecord length: the file ends 5 byte\\(s\\) into record 2's 12-byte header`));
    });
    it('bad length CRC', async function () {
      const file = await corrupt('length-crc.tfrecord', flip(starts[1]! + 9));
      await rejects(readAll(file), new RegExp(`length-crc.tfrecord: byte ${starts[1]}: bad length CRC in TFRecord record 1 \\(its CRC at byte ${starts[1]! + 8}`));
    });
    it('truncated data', async function () {
      const file = await corrupt('cut-data.tfrecord', (b) => b.subarray(0, starts[1]! + 14));
      await rejects(readAll(file), new RegExp(`cut-data.tfrecord: byte ${starts[1]}: truncated TFRecord record 1: it declares ${payloads[1]!.length} data bytes`));
    });
    it('bad data CRC: a flipped data byte and a flipped CRC byte', async function () {
      const dataFile = await corrupt('data.tfrecord', flip(starts[1]! + 13));
      await rejects(readAll(dataFile), new RegExp(`data.tfrecord: byte ${starts[1]}: bad data CRC in TFRecord record 1 \\(its ${payloads[1]!.length} data bytes at byte ${starts[1]! + 12}`));
      const crcFile = await corrupt('data-crc.tfrecord', flip(starts[2]! - 2));
      await rejects(readAll(crcFile), new RegExp(`data-crc.tfrecord: byte ${starts[1]}: bad data CRC in TFRecord record 1`));
    });
    it('a truncated GZIP file', async function () {
      const { gzipSync } = await import('node:zlib');
      const file = path.join(dir, 'cut.tfrecord.gz');
      const zipped = gzipSync(good);
      await writeFile(file, zipped.subarray(0, zipped.length - 10));
      await rejects(readAll(file), /cut.tfrecord.gz: not a valid GZIP file/);
    });
    it('a record that is not a tf.Example, and a feature that changes kind', async function () {
      const notExample = path.join(dir, 'not-example.tfrecord');
      await writeFile(notExample, frameRecords([payloads[0]!, Buffer.from('hello, world')]));
      await rejects(readAll(notExample), new RegExp(`not-example.tfrecord record 1 at byte ${16 + payloads[0]!.length}: the record is not a tf.Example`));
      const kinds = await writeTfRecords(path.join(dir, 'kinds.tfrecord'), [{ a: { int64: [1] } }, { a: { float: [1.5] } }]);
      await rejects(
        runExecutorForTest(ExampleGen, { parameters: { input: kinds } }),
        new RegExp(`kinds.tfrecord record 1 at byte ${16 + payloads[0]!.length}: feature "a" is float_list here but int64_list in .*kinds.tfrecord record 0 at byte 0`),
      );
    });
  });
});
