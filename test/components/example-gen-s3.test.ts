import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import avro from 'avsc';
import { Float64, Table, tableToIPC, Utf8, vectorFromArray } from 'apache-arrow';
import { FileHashMemo, listInputFiles } from '../../artifacts/input-files';
import { s3Client, type S3Settings } from '../../artifacts/s3-client';
import type { S3Sources } from '../../artifacts/s3-sources';
import { loadConfig, redactConfig } from '../../config/config';
import { sqlString } from '../../components/data/sql';
import { listInput } from '../../components/example-gen/input-patterns';
import { localInputFiles } from '../../components/example-gen/s3-input';
import { ExampleGen } from '../../components/example-gen/spec';
import { ExampleGen as ExampleGenNode, pipeline } from '../../dsl';
import { UserInputError } from '../../dsl/executor';
import { startMinio, type MinioServer } from '../../stack/minio-server';
import { runExecutorForTest, type ExecutorTestRun } from '../support/executor-harness';
import { testMinio } from '../support/servers';
import { writeTfRecords, type TestExample } from '../support/tfrecord-writer';
import { tempDir } from '../support/tmp';
import { writeAvroFile } from '../support/avro-writer';
import { startTestStack } from '../pipeline/harness';
import { duckQuery, readParquet } from './parquet-rows';
import { vegaFile } from './vega-data';

type Json = Record<string, string | number | null>;

/** Penguins with names every format takes (Avro allows letters, digits and _). */
const COLUMNS: Record<string, string> = {
  Species: 'species',
  Island: 'island',
  'Beak Length (mm)': 'beak_length_mm',
  'Beak Depth (mm)': 'beak_depth_mm',
  'Flipper Length (mm)': 'flipper_length_mm',
  'Body Mass (g)': 'body_mass_g',
  Sex: 'sex',
};
const TEXT = ['species', 'island', 'sex'];
const NUMBERS = ['beak_length_mm', 'beak_depth_mm', 'flipper_length_mm', 'body_mass_g'];

const settingsOf = (server: MinioServer): S3Settings => ({ endpoint: server.endpoint, accessKey: server.accessKey, secretKey: server.secretKey, region: 'us-east-1' });
const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The same penguins in every format ExampleGen reads, one file each. */
async function penguinFiles(dir: string, rows: Json[]): Promise<Record<string, string>> {
  const json = path.join(dir, 'source.json');
  await writeFile(json, JSON.stringify(rows));
  const from = `read_json(${sqlString(json)}, format = 'array')`;
  const files: Record<string, string> = {};
  for (const [format, ext, options] of [
    ['csv', 'csv', 'FORMAT csv, HEADER true'],
    ['json', 'json', 'FORMAT json, ARRAY true'],
    ['jsonl', 'jsonl', 'FORMAT json'],
    ['parquet', 'parquet', 'FORMAT parquet'],
  ] as const) {
    files[format] = path.join(dir, `penguins.${ext}`);
    await duckQuery(`COPY (SELECT * FROM ${from}) TO ${sqlString(files[format])} (${options})`);
  }
  const schema = avro.Type.forSchema({
    type: 'record',
    name: 'Penguin',
    fields: [...TEXT.map((name) => ({ name, type: ['null', 'string'] })), ...NUMBERS.map((name) => ({ name, type: ['null', 'double'] }))],
  });
  files.avro = path.join(dir, 'penguins.avro');
  await writeAvroFile(files.avro, schema, rows);
  const table = new Table({
    ...Object.fromEntries(TEXT.map((c) => [c, vectorFromArray(rows.map((r) => r[c] as string | null), new Utf8())])),
    ...Object.fromEntries(NUMBERS.map((c) => [c, vectorFromArray(rows.map((r) => r[c] as number | null), new Float64())])),
  });
  files.arrow = path.join(dir, 'penguins.arrow');
  await writeFile(files.arrow, tableToIPC(table, 'file'));
  const examples: TestExample[] = rows.map((row) =>
    Object.fromEntries(
      Object.entries(row)
        .filter(([, v]) => v !== null)
        .map(([name, v]) => [name, typeof v === 'number' ? { float: [v] } : { bytes: [String(v)] }]),
    ),
  );
  files.tfrecord = await writeTfRecords(path.join(dir, 'penguins.tfrecord'), examples);
  return files;
}

async function splitRows(run: ExecutorTestRun): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const split of ['train', 'eval']) out[split] = await readParquet(path.join(run.outputDirs.examples!, `Split-${split}`, 'data-00000.parquet'));
  return out;
}

async function rejected(promise: Promise<unknown>, message: RegExp, retryable = false): Promise<Error> {
  let caught: Error | undefined;
  await assert.rejects(promise, (err: Error) => {
    caught = err;
    if (retryable) assert.ok(!(err instanceof UserInputError) && err.name !== 'InputLocationError', `expected an error a retry may cure, got ${err.name}: ${err.message}`);
    else assert.ok(err instanceof UserInputError, `expected a UserInputError, got ${err.name}: ${err.message}`);
    assert.match(err.message, message);
    return true;
  });
  return caught!;
}

describe('ExampleGen on s3:// inputs', function () {
  let store: MinioServer;
  let partner: MinioServer;
  let sources: S3Sources;
  let bucket: string;
  let files: Record<string, string>;
  let rows: Json[];

  before(async () => {
    [store, partner] = await Promise.all([
      testMinio(),
      // Another account: its own server and keys, unknown to the artifact store's.
      tempDir('partner-minio').then((dir) =>
        startMinio({ dataDir: path.join(dir, 'data'), accessKey: `partner${randomBytes(3).toString('hex')}`, secretKey: randomBytes(16).toString('hex'), logFile: path.join(dir, 'minio.log') }),
      ),
    ]);
    sources = { store: settingsOf(store), named: { partner: settingsOf(partner) } };
    bucket = `eg-${randomUUID().slice(0, 8)}`;
    await s3Client(settingsOf(store)).makeBucket(bucket);
    await s3Client(settingsOf(partner)).makeBucket(bucket);
    const penguins = JSON.parse(await readFile(vegaFile('penguins.json'), 'utf8')) as Json[];
    rows = penguins.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [COLUMNS[k]!, v])));
    files = await penguinFiles(await tempDir('s3-formats'), rows);
    for (const [format, file] of Object.entries(files)) {
      await s3Client(settingsOf(store)).fPutObject(bucket, `formats/${format}/${path.basename(file)}`, file);
    }
  });
  after(async () => partner?.stop());

  it('reads every format from s3:// into the same Examples as from the local file, row for row', async () => {
    for (const [format, file] of Object.entries(files)) {
      const local = await runExecutorForTest(ExampleGen, { parameters: { input: file } });
      const remote = await runExecutorForTest(ExampleGen, { parameters: { input: `s3://${bucket}/formats/${format}/*.${path.extname(file).slice(1)}` }, s3Sources: sources });
      assert.equal(remote.result.properties!.examples!.input_format, format);
      assert.equal(remote.result.properties!.examples!.num_examples, rows.length, format);
      assert.deepEqual(await splitRows(remote), await splitRows(local), `${format}: s3:// and local Examples differ`);
    }
  });

  it('keys each object by its ETag: a replaced object is another key, and a span pattern lists s3:// spans', async () => {
    const client = s3Client(settingsOf(store));
    const csv = await readFile(files.csv!);
    await client.putObject(bucket, 'days/span-1/a.csv', csv);
    await client.putObject(bucket, 'days/span-2/a.csv', csv.subarray(0, csv.indexOf('\n', 2000) + 1));
    const memo = new FileHashMemo();
    const list = () => listInput((location, options) => listInputFiles(location, { ...options, s3: sources, memo }), `s3://${bucket}/days/span-{SPAN}/*.csv`, {});
    const first = await list();
    assert.deepEqual(first.spans, [{ span: 2, version: 0 }]);
    assert.deepEqual(first.files.map((f) => [f.path, f.contentHash]), [['span-2/a.csv', `etag:${md5(csv.subarray(0, csv.indexOf('\n', 2000) + 1))}`]]);
    assert.equal(first.root, `s3://${bucket}/days/`);
    await client.putObject(bucket, 'days/span-2/a.csv', csv);
    assert.deepEqual((await list()).files.map((f) => f.contentHash), [`etag:${md5(csv)}`]);
  });

  it('reads with a named source of its own (another server and keys), never with the keys in parameters', async () => {
    await s3Client(settingsOf(partner)).fPutObject(bucket, 'shared/penguins.parquet', files.parquet!);
    const input = `s3://${bucket}/shared/*.parquet`;
    const run = await runExecutorForTest(ExampleGen, { parameters: { input, s3Source: 'partner' }, s3Sources: sources });
    const local = await runExecutorForTest(ExampleGen, { parameters: { input: files.parquet! } });
    assert.deepEqual(await splitRows(run), await splitRows(local));
    // The store's keys reach a server that has the bucket but not this object.
    await rejected(runExecutorForTest(ExampleGen, { parameters: { input }, s3Sources: sources }), /no object matches the input pattern "s3:\/\/.*\/shared\/\*\.parquet"/);
    await rejected(
      runExecutorForTest(ExampleGen, { parameters: { input, s3Source: 'nope' }, s3Sources: sources }),
      /is on S3, but no S3 source 'nope' is configured on this worker .*; it knows 'partner'/,
    );
  });

  it('a missing bucket and refused keys fail at once, naming them and never the secret; an unreachable store is retried', async () => {
    await rejected(
      runExecutorForTest(ExampleGen, { parameters: { input: 's3://no-such-bucket-here/x/*.csv' }, s3Sources: sources }),
      /input "s3:\/\/no-such-bucket-here\/x\/\*\.csv": bucket 'no-such-bucket-here' does not exist \(read with the artifact store's S3 keys at http:\/\/127\.0\.0\.1:\d+\)/,
    );
    const wrongSecret = randomBytes(16).toString('hex');
    const denied = await rejected(
      runExecutorForTest(ExampleGen, {
        parameters: { input: `s3://${bucket}/formats/csv/*.csv`, s3Source: 'stale' },
        s3Sources: { ...sources, named: { stale: { ...settingsOf(store), secretKey: wrongSecret } } },
      }),
      /input "s3:\/\/.*\/formats\/csv\/\*\.csv": access refused \(SignatureDoesNotMatch\) to S3 source 'stale' at http:\/\/127\.0\.0\.1:\d+/,
    );
    assert.ok(!denied.message.includes(wrongSecret) && !denied.message.includes(store.secretKey), 'no secret in the message');
    const down = `http://127.0.0.1:${await freePort()}`;
    await rejected(
      runExecutorForTest(ExampleGen, {
        parameters: { input: `s3://${bucket}/formats/csv/*.csv`, s3Source: 'down' },
        s3Sources: { ...sources, named: { down: { ...settingsOf(store), endpoint: down } } },
      }),
      /ECONNREFUSED/,
      true,
    );
  });

  it('names the bucket and key of an object with a bad row', async () => {
    await s3Client(settingsOf(store)).putObject(bucket, 'bad/rows.csv', Buffer.from('a,b\n1,2\n3,4,5\n'));
    await rejected(
      runExecutorForTest(ExampleGen, { parameters: { input: `s3://${bucket}/bad/*.csv` }, s3Sources: sources }),
      new RegExp(`malformed CSV: \\S*/${bucket}/bad/rows\\.csv line 3`),
    );
  });

  it('downloads exactly the objects the cache key was made of: an object changed or removed since is a clear error', async () => {
    const client = s3Client(settingsOf(store));
    const csv = await readFile(files.csv!);
    await client.putObject(bucket, 'moving/a.csv', csv);
    const memo = new FileHashMemo();
    const resolved = await listInputFiles(`s3://${bucket}/moving/*.csv`, { s3: sources, memo });
    const download = async () =>
      localInputFiles(resolved, { sources, dir: await tempDir('s3-download'), signal: new AbortController().signal, progress: () => undefined });
    const copy = await download();
    assert.deepEqual(await readFile(path.join(copy.root, 'a.csv')), csv);
    await client.putObject(bucket, 'moving/a.csv', Buffer.concat([csv, Buffer.from(csv.subarray(csv.indexOf('\n') + 1, csv.indexOf('\n', 200) + 1))]));
    await rejected(download(), /input object s3:\/\/.*\/moving\/a\.csv changed after the node was prepared \(ETag [0-9a-f]+, keyed by [0-9a-f]+\): run the pipeline again/);
    await client.removeObject(bucket, 'moving/a.csv');
    await rejected(download(), /input object s3:\/\/.*\/moving\/a\.csv was removed after the node was prepared/);
  });

  it('in a pipeline: the IR names the source, an unchanged object is cached, a replaced one runs again', async function () {
    const client = s3Client(settingsOf(partner));
    const csv = await readFile(files.csv!);
    await client.putObject(bucket, 'daily/data.csv', csv);
    const stack = await startTestStack({ queues: ['control', 'cpu'], s3: settingsOf(store), s3Sources: { partner: settingsOf(partner) } });
    try {
      const definition = pipeline({ name: 's3-partner', nodes: [ExampleGenNode('example_gen', { parameters: { input: `s3://${bucket}/daily/*.csv`, s3Source: 'partner' } })] });
      const ir = JSON.stringify(stack.compile(definition));
      assert.ok(!ir.includes(partner.secretKey) && !ir.includes(partner.accessKey), 'no key in the IR');
      const first = await stack.run(definition);
      assert.equal(first.status.state, 'succeeded', first.error);
      assert.equal(first.status.nodes.example_gen!.summary?.rows, rows.length);
      assert.equal((await stack.run(definition)).status.nodes.example_gen!.state, 'cached');
      await client.putObject(bucket, 'daily/data.csv', csv.subarray(0, csv.indexOf('\n', 3000) + 1));
      const replaced = await stack.run(definition);
      assert.equal(replaced.status.nodes.example_gen!.state, 'succeeded', replaced.error);
      assert.ok(Number(replaced.status.nodes.example_gen!.summary?.rows) < rows.length);
    } finally {
      await stack.stop();
    }
  });

  it('takes named sources from the configuration file and MLPIPE_S3_SOURCE_<NAME>_* variables, and masks their secrets', () => {
    const config = loadConfig({
      cwd: '/nonexistent',
      env: {
        MLPIPE_S3_SOURCE_PARTNER_DATA_ENDPOINT: 'http://10.0.0.5:9000',
        MLPIPE_S3_SOURCE_PARTNER_DATA_ACCESS_KEY: 'reader',
        MLPIPE_S3_SOURCE_PARTNER_DATA_SECRET_KEY: 'reader-secret-123',
      },
    });
    assert.deepEqual(config.s3Sources, { 'partner-data': { endpoint: 'http://10.0.0.5:9000', accessKey: 'reader', secretKey: 'reader-secret-123', region: 'us-east-1' } });
    const shown = JSON.stringify(redactConfig(config));
    assert.ok(!shown.includes('reader-secret-123') && shown.includes('********'), shown);
    assert.throws(
      () => loadConfig({ cwd: '/nonexistent', env: { MLPIPE_S3_SOURCE_PARTNER_ENDPOINT: 'minio:9000', MLPIPE_S3_SOURCE_PARTNER_ACCESS_KEY: 'reader', MLPIPE_S3_SOURCE_PARTNER_SECRET_KEY: 'reader-secret-123' } }),
      /MLPIPE_S3_SOURCE_PARTNER_ENDPOINT \(s3Sources\.partner\.endpoint\)/,
    );
  });
});
