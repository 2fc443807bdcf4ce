import assert from 'node:assert/strict';
import { rejects } from '../support/user-input-errors';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import * as zstdWasm from '@bokuweb/zstd-wasm';
import type avro from 'avsc';
import { compress as snappyCompress } from 'snappyjs';
import { sqlString } from '../../components/data/sql';
import { ExampleGen } from '../../components/example-gen/spec';
import { runExecutorForTest, type ExecutorTestRun } from '../support/executor-harness';
import { tempDir } from '../support/tmp';
import { writeAvroFile } from '../support/avro-writer';
import { duckQuery, readParquet } from './parquet-rows';
import { vegaFile } from './vega-data';

/**
 * Avro block codecs: files written by avsc's encoder with each codec's compressor (zstandard by
 * libzstd built to wasm, another library than the reader's fzstd) give the Examples of the same
 * records written uncompressed; a block that does not decompress, or whose snappy CRC32 does not
 * match, names the file, the block and its byte offset.
 */

type Compressor = (data: Buffer) => Buffer;

const FLIGHT_ROWS = 6000;
const SPLITS = ['train', 'eval'];
const SCHEMA: avro.Schema = {
  type: 'record',
  name: 'Flight',
  fields: [
    { name: 'date', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'delay', type: ['null', 'int'] },
    { name: 'distance', type: 'long' },
    { name: 'origin', type: 'string' },
    { name: 'destination', type: 'string' },
  ],
};

/** Avro's snappy block, made here from the specification: snappy data, then the CRC32 of the uncompressed data big-endian. */
function snappyBlock(data: Buffer, crcOf: Buffer = data): Buffer {
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(crcOf));
  return Buffer.concat([snappyCompress(data), crc]);
}

const COMPRESSORS: Record<string, Compressor> = {
  deflate: (data) => deflateRawSync(data),
  snappy: (data) => snappyBlock(data),
  zstandard: (data) => Buffer.from(zstdWasm.compress(data, 3)),
};

/** Writes `records` with avsc's encoder; `compress` gets each block's bytes and its index. */
async function writeAvro(file: string, records: readonly object[], codec: string, compress: (data: Buffer, block: number) => Buffer): Promise<void> {
  let block = 0;
  await writeAvroFile(file, SCHEMA, records, {
    blockSize: 16 * 1024,
    codec,
    codecs: { [codec]: (data: Buffer, done: (err: Error | null, out?: Buffer) => void) => done(null, compress(data, block++)) },
  });
}

/** The byte offset of each block: the header and every block end with the file's sync marker, its last 16 bytes. */
function blockOffsets(file: Buffer): number[] {
  const sync = file.subarray(file.length - 16);
  const offsets: number[] = [];
  for (let at = file.indexOf(sync); at >= 0 && at + 16 < file.length; at = file.indexOf(sync, at + 16)) offsets.push(at + 16);
  return offsets;
}

const gen = (input: string) => runExecutorForTest(ExampleGen, { parameters: { input } });
const splitFile = (run: ExecutorTestRun, split: string) => path.join(run.outputDirs.examples!, `Split-${split}`, 'data-00000.parquet');

describe('ExampleGen formats: Avro codecs', function () {
  let dir: string;
  let records: object[];
  let plainRun: ExecutorTestRun;
  let plainSize: number;

  before(async function () {
    dir = await tempDir('example-gen-avro-codecs');
    await zstdWasm.init();
    const rows = await duckQuery(
      `SELECT epoch_ms(date) AS date, delay, distance, origin, destination FROM read_parquet(${sqlString(vegaFile('flights-3m.parquet'))}) LIMIT ${FLIGHT_ROWS}`,
    );
    records = rows.map((r) => ({ ...r, date: Number(r.date), delay: r.delay === null ? null : Number(r.delay), distance: Number(r.distance) }));
    const plain = path.join(dir, 'flights-null.avro');
    await writeAvro(plain, records, 'null', (data) => data);
    plainSize = (await readFile(plain)).length;
    plainRun = await gen(plain);
    assert.equal(plainRun.result.properties?.examples?.num_examples, FLIGHT_ROWS);
  });

  for (const codec of Object.keys(COMPRESSORS)) {
    it(`a ${codec} file gives the Examples of the same records uncompressed`, async function () {
      const file = path.join(dir, `flights-${codec}.avro`);
      await writeAvro(file, records, codec, COMPRESSORS[codec]!);
      const bytes = await readFile(file);
      assert.ok(blockOffsets(bytes).length > 3, 'several blocks');
      assert.ok(bytes.length < plainSize * 0.7, `${codec} compresses (${bytes.length} of ${plainSize} bytes)`);
      const run = await gen(file);
      for (const split of SPLITS) {
        const got = await readParquet(splitFile(run, split));
        assert.ok(got.length > 0);
        assert.deepEqual(got, await readParquet(splitFile(plainRun, split)), `Split-${split}`);
      }
    });
  }

  it('a snappy block whose data changed after its CRC32 was taken fails naming file, block, byte offset and both CRCs', async function () {
    const file = path.join(dir, 'bad-crc.avro');
    let original: Buffer | undefined;
    let changed: Buffer | undefined;
    await writeAvro(file, records, 'snappy', (data, block) => {
      if (block !== 2) return snappyBlock(data);
      original = data;
      changed = Buffer.from(data);
      changed[100]! ^= 0x01;
      return snappyBlock(changed, original);
    });
    const at = blockOffsets(await readFile(file))[2];
    const crc = (data: Buffer) => `0x${crc32(data).toString(16).padStart(8, '0')}`;
    const expected =
      `bad-crc\\.avro: corrupt Avro file: block 2 at byte ${at} \\(records \\d+\\.\\.\\d+\\) does not decompress ` +
      `\\(its \\d+ snappy-compressed bytes from byte \\d+\\): the CRC32 of its ${changed!.length} uncompressed bytes is ${crc(changed!)}, the block stores ${crc(original!)}`;
    await rejects(gen(file), new RegExp(expected));
  });

  it('a snappy block claiming more bytes than snappy can expand to fails before allocating them', async function () {
    const file = path.join(dir, 'bad-length.avro');
    await writeAvro(file, records, 'snappy', (data, block) => {
      const stored = snappyBlock(data);
      // The preamble, a varint of the uncompressed length, now says 2^31 - 1 bytes.
      return block === 1 ? Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff, 0x07]), stored.subarray(varintLength(stored))]) : stored;
    });
    const at = blockOffsets(await readFile(file))[1];
    await rejects(gen(file), new RegExp(`bad-length\\.avro: corrupt Avro file: block 1 at byte ${at} .*does not decompress .*: The uncompressed length of 2147483647 is too big`));
  });

  it('a zstandard block cut short fails naming file, block and byte offset', async function () {
    const file = path.join(dir, 'bad-zstd.avro');
    await writeAvro(file, records, 'zstandard', (data, block) => {
      const stored = COMPRESSORS.zstandard!(data);
      return block === 3 ? stored.subarray(0, stored.length >> 1) : stored;
    });
    const at = blockOffsets(await readFile(file))[3];
    await rejects(gen(file), new RegExp(`bad-zstd\\.avro: corrupt Avro file: block 3 at byte ${at} \\(records \\d+\\.\\.\\d+\\) does not decompress \\(its \\d+ zstandard-compressed bytes from byte \\d+\\): `));
  });

  it('an unknown codec fails naming the codec and the supported ones', async function () {
    const file = path.join(dir, 'lzo.avro');
    await writeAvro(file, records.slice(0, 10), 'lzo', (data) => data);
    await rejects(gen(file), /lzo\.avro: Avro codec "lzo" is not supported; supported codecs: null, deflate, snappy, zstandard$/);
  });
});

/** Bytes of the varint at the start of `bytes`. */
function varintLength(bytes: Buffer): number {
  let n = 0;
  while (bytes[n]! & 0x80) n++;
  return n + 1;
}
