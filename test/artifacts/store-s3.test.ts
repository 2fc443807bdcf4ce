import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'minio';
import type { S3Settings } from '../../artifacts/s3-client';
import { mapWithConcurrency } from '../../artifacts/manifest';
import {
  ArtifactIntegrityError,
  S3ArtifactStore,
  StoreAccessError,
  StoreUnavailableError,
  type S3StoreOptions,
} from '../../artifacts/s3-store';
import { MANIFEST_NAME, type ArtifactStore } from '../../artifacts/store';
import { freePort } from '../../stack/free-port';
import { startMinio } from '../../stack/minio-server';
import { testMinio, type MinioServer } from '../support/servers';
import { stageFiles } from '../support/stage-files';
import { tempDir } from '../support/tmp';

function bucketName(): string {
  return `s3test-${randomUUID().slice(0, 8)}`;
}

function s3Config(minio: MinioServer): S3Settings {
  return { endpoint: minio.endpoint, accessKey: minio.accessKey, secretKey: minio.secretKey, region: 'us-east-1' };
}

/** A plain client, to look at the bucket the way another S3 tool would. */
function rawClient(minio: MinioServer): Client {
  const url = new URL(minio.endpoint);
  return new Client({
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: false,
    accessKey: minio.accessKey,
    secretKey: minio.secretKey,
  });
}

async function rawNames(client: Client, bucket: string, prefix: string): Promise<string[]> {
  const names: string[] = [];
  for await (const item of client.listObjectsV2(bucket, prefix, true)) {
    names.push((item as { name: string }).name);
  }
  return names;
}

describe('artifact store on s3:// (MinIO specifics)', function () {
  this.timeout(120_000);
  let minio: MinioServer;
  const opened: ArtifactStore[] = [];

  async function open(rootUri: string, options: S3StoreOptions = {}): Promise<S3ArtifactStore> {
    const store = await S3ArtifactStore.open(rootUri, s3Config(minio), { cacheDir: await tempDir('s3-cache'), ...options });
    opened.push(store);
    return store;
  }

  before(async () => {
    minio = await testMinio();
  });
  after(async () => {
    await Promise.all(opened.map((s) => s.close()));
  });

  it('creates a missing bucket when opened', async () => {
    const bucket = bucketName();
    const client = rawClient(minio);
    assert.equal(await client.bucketExists(bucket), false);
    const store = await open(`s3://${bucket}/some/prefix`);
    assert.equal(store.rootUri, `s3://${bucket}/some/prefix`);
    assert.equal(await client.bucketExists(bucket), true);
    await store.putObject('k', 'v');
    assert.deepEqual(await rawNames(client, bucket, ''), ['some/prefix/k']);
    await open(`s3://${bucket}/some/prefix`);
  });

  it('names the endpoint and bucket when the credentials are wrong, and never the secret', async () => {
    const bucket = bucketName();
    const wrongSecret = `wrong-${randomBytes(8).toString('hex')}`;
    await assert.rejects(
      S3ArtifactStore.open(`s3://${bucket}`, { ...s3Config(minio), secretKey: wrongSecret }, { cacheDir: await tempDir('s3-cache') }),
      (err: Error) => {
        assert.ok(err instanceof StoreAccessError, String(err));
        assert.ok(err.message.includes(minio.endpoint), err.message);
        assert.ok(err.message.includes(`'${bucket}'`), err.message);
        assert.match(err.message, /check the configured S3 access key and secret key/);
        assert.ok(!err.message.includes(wrongSecret) && !String(err.stack).includes(wrongSecret));
        assert.ok(!err.message.includes(minio.secretKey));
        return true;
      },
    );
  });

  it('reports an unreachable endpoint as a retryable error naming it', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    await assert.rejects(
      S3ArtifactStore.open('s3://nobody-home', { ...s3Config(minio), endpoint }, { cacheDir: await tempDir('s3-cache') }),
      (err: Error) => {
        assert.ok(err instanceof StoreUnavailableError, String(err));
        assert.equal(err.retryable, true);
        assert.match(err.message, new RegExp(`S3 endpoint ${endpoint}, bucket 'nobody-home' is unreachable \\(ECONNREFUSED`));
        return true;
      },
    );
  });

  it('turns a server that goes away mid-session into retryable errors', async () => {
    const own = await startMinio({ dataDir: path.join(await tempDir('minio-outage'), 'data') });
    const store = await S3ArtifactStore.open(
      's3://outage/p',
      { endpoint: own.endpoint, accessKey: own.accessKey, secretKey: own.secretKey, region: 'us-east-1' },
      { cacheDir: await tempDir('s3-cache') },
    );
    opened.push(store);
    await store.putObject('before', 'ok');
    const staging = await stageFiles(store, { 'f.txt': 'f' });
    await own.stop();
    const attempts: Array<[string, () => Promise<unknown>]> = [
      ['putObject', () => store.putObject('after', 'x')],
      ['getObject', () => store.getObject('before')],
      ['statObject', () => store.statObject('before')],
      ['list', async () => { for await (const _ of store.list('')) break; }],
      ['readManifest', () => store.readManifest(store.uriFor('a'))],
      ['commit', () => store.commit(staging, store.uriFor('a'))],
    ];
    for (const [what, attempt] of attempts) {
      await assert.rejects(attempt(), (err: Error) => {
        assert.ok(err instanceof StoreUnavailableError, `${what}: ${String(err)}`);
        assert.match(err.message, new RegExp(`S3 endpoint ${own.endpoint}, bucket 'outage' is unreachable`), what);
        return true;
      });
    }
  });

  it('lists number-like keys at the root of a bucket exactly as written', async () => {
    const store = await open(`s3://${bucketName()}`);
    for (const key of ['007', '0x1F', '1e3', '12.50']) await store.putObject(key, key);
    const listed: string[] = [];
    for await (const info of store.list('')) listed.push(info.key);
    assert.deepEqual(listed, ['007', '0x1F', '12.50', '1e3']);
  });

  it('pages through listings longer than one S3 response (1000 keys)', async () => {
    const bucket = bucketName();
    const store = await open(`s3://${bucket}/p`);
    const keys = Array.from({ length: 1005 }, (_, i) => `many/${String(i).padStart(4, '0')}`);
    await mapWithConcurrency(keys, 16, (key) => store.putObject(key, 'x'));
    const listed: string[] = [];
    for await (const info of store.list('many')) listed.push(info.key);
    assert.deepEqual(listed, keys);
    await store.deletePrefix('many');
    assert.deepEqual(await rawNames(rawClient(minio), bucket, ''), []);
  });

  it('leaves no staged copies or claims in the bucket after commits', async () => {
    const bucket = bucketName();
    const store = await open(`s3://${bucket}/root`);
    const uri = store.uriFor('run/node/out');
    await store.commit(await stageFiles(store, { 'a.txt': 'a', 'b/c.txt': 'c' }), uri);
    await store.commit(await stageFiles(store, { 'a.txt': 'again' }), uri);
    assert.deepEqual(await rawNames(rawClient(minio), bucket, ''), [
      `root/run/node/out/${MANIFEST_NAME}`,
      'root/run/node/out/a.txt',
      'root/run/node/out/b/c.txt',
    ]);
  });

  it('materializes into a cache keyed by content hash and verifies what it downloads', async () => {
    const bucket = bucketName();
    const cacheDir = await tempDir('s3-cache');
    const store = await open(`s3://${bucket}`, { cacheDir });
    const uri = store.uriFor('model');
    const manifest = await store.commit(await stageFiles(store, { 'model.onnx': randomBytes(100_000), 'meta.json': '{}' }), uri);
    const dirs = await Promise.all([store.materialize(uri), store.materialize(uri), store.materialize(uri)]);
    assert.deepEqual(dirs, Array(3).fill(path.join(cacheDir, manifest.contentHash)));
    assert.deepEqual((await readdir(cacheDir)).filter((n) => !n.startsWith('.')), [manifest.contentHash]);
    assert.deepEqual(await readdir(path.join(cacheDir, '.downloads')), [], 'no half-downloaded directories remain');
    assert.equal((await readFile(path.join(dirs[0] as string, 'meta.json'))).toString(), '{}');

    await rawClient(minio).putObject(bucket, 'model/meta.json', '{"tampered":true}');
    const fresh = await open(`s3://${bucket}`);
    await assert.rejects(fresh.materialize(uri), (err: Error) => {
      assert.ok(err instanceof ArtifactIntegrityError, String(err));
      assert.match(err.message, new RegExp(`${uri}/meta\\.json: downloaded 17 bytes with sha256 [0-9a-f]{64}, but the manifest records 2 bytes`));
      return true;
    });
  });

  it('takes over the claim of a committer that crashed mid-commit once it goes stale', async () => {
    const bucket = bucketName();
    const store = await open(`s3://${bucket}/r`, { claimStaleMs: 1_500 });
    const uri = store.uriFor('out');
    // What a committer killed while holding its claim leaves behind: the claim and some copied files.
    const claimDir = `r/.staging/claims/${createHash('sha256').update('out').digest('hex')}`;
    await rawClient(minio).putObject(bucket, `${claimDir}/${randomUUID()}`, uri);
    await rawClient(minio).putObject(bucket, 'r/out/partial.bin', 'partial');
    const started = Date.now();
    const manifest = await store.commit(await stageFiles(store, { 'done.txt': 'done' }), uri);
    assert.ok(Date.now() - started >= 1_000, 'the commit waited for the claim to go stale');
    assert.deepEqual(manifest.files.map((f) => f.path), ['done.txt']);
    assert.deepEqual(await rawNames(rawClient(minio), bucket, ''), [`r/out/${MANIFEST_NAME}`, 'r/out/done.txt']);
  });
});
