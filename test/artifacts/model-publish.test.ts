import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FileArtifactStore } from '../../artifacts/file-store';
import { ModelVersionPublication, publishModelVersion } from '../../artifacts/model-publish';
import { parseVersionManifest, VERSION_MANIFEST_NAME, type VersionManifest } from '../../artifacts/model-version-manifest';
import { S3ArtifactStore } from '../../artifacts/s3-store';
import type { ArtifactStore, ObjectInfo } from '../../artifacts/store';
import { testMinio } from '../support/servers';
import { tempDir } from '../support/tmp';

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

async function listing(store: ArtifactStore, prefix: string): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const info of store.list(prefix)) out.push(info);
  return out;
}

async function manifestOf(store: ArtifactStore, dir: string): Promise<VersionManifest> {
  const key = `${dir}/${VERSION_MANIFEST_NAME}`;
  return parseVersionManifest((await store.getObjectBuffer(key)).toString('utf8'), key);
}

function describePublisher(backend: string, openStore: () => Promise<ArtifactStore>): void {
  describe(`model version publisher: ${backend}`, function () {
    this.timeout(60_000);
    let store: ArtifactStore;

    beforeEach(async () => {
      store = await openStore();
    });
    afterEach(() => store.close());

    it('makes a version visible only when it finishes, its manifest listing each file with size and sha256', async () => {
      const model = Buffer.from('model bytes');
      const labelsFile = path.join(await tempDir('publish-src'), 'labels.txt');
      await writeFile(labelsFile, 'adelie\ngentoo\n');

      const publication = await ModelVersionPublication.start(store, 'iris', 3);
      assert.equal((await manifestOf(store, 'iris/3')).state, 'publishing');
      await publication.putFile('model.onnx', model);
      await publication.putFile('labels.txt', { localFile: labelsFile });
      assert.equal((await manifestOf(store, 'iris/3')).state, 'publishing', 'files alone publish nothing');

      const finished = await publication.finish();
      const stored = await manifestOf(store, 'iris/3');
      assert.deepEqual(stored, finished);
      assert.ok(stored.state === 'published');
      assert.deepEqual(stored.files, [
        { path: 'labels.txt', size: 14, sha256: sha256('adelie\ngentoo\n') },
        { path: 'model.onnx', size: model.length, sha256: sha256(model) },
      ]);
      assert.deepEqual(
        (await listing(store, 'iris/3')).map((o) => o.key),
        ['iris/3/_MLPIPE_VERSION.json', 'iris/3/labels.txt', 'iris/3/model.onnx'],
      );
    });

    it('publishes a version again in place: old files go, a retry completes a crashed publication', async () => {
      await publishModelVersion(store, 'm', 1, [
        { name: 'model.onnx', content: Buffer.from('weights-A') },
        { name: 'vocab.txt', content: Buffer.from('a b c') },
      ]);
      const before = new Map((await listing(store, 'm/1')).map((o) => [o.key, o]));

      const crashed = await ModelVersionPublication.start(store, 'm', 1);
      await crashed.putFile('model.onnx', Buffer.from('weights-B'));
      assert.equal((await manifestOf(store, 'm/1')).state, 'publishing', 'a publication that never finishes leaves the version unpublished');

      const retried = await publishModelVersion(store, 'm', 1, [{ name: 'model.onnx', content: Buffer.from('weights-B') }]);
      assert.deepEqual(retried.files, [{ path: 'model.onnx', size: 9, sha256: sha256('weights-B') }]);
      const after = await listing(store, 'm/1');
      assert.deepEqual(after.map((o) => o.key), ['m/1/_MLPIPE_VERSION.json', 'm/1/model.onnx'], 'vocab.txt of the old version is gone');
      assert.equal((await store.getObjectBuffer('m/1/model.onnx')).toString(), 'weights-B');
      const rewritten = after.find((o) => o.key === 'm/1/model.onnx')!;
      const original = before.get('m/1/model.onnx')!;
      assert.equal(rewritten.size, original.size, 'the same size, as new weights of one architecture have');
      if (store instanceof S3ArtifactStore) {
        assert.notEqual(rewritten.etag, original.etag, 'the ETag tells the rewritten object from the one before');
      }

      const again = await publishModelVersion(store, 'm', 1, [{ name: 'model.onnx', content: Buffer.from('weights-B') }]);
      assert.equal(again.contentHash, retried.contentHash, 'the same files give the same content hash');
    });

    it('refuses names that a model repository cannot hold, naming them', async () => {
      await assert.rejects(ModelVersionPublication.start(store, '.hidden', 1), /cannot publish model '\.hidden': expected a directory name/);
      await assert.rejects(ModelVersionPublication.start(store, 'm', 0), /cannot publish version 0 of model 'm': expected a positive integer/);
      const publication = await ModelVersionPublication.start(store, 'm', 2);
      await assert.rejects(publication.putFile('sub/model.onnx', Buffer.from('x')), /cannot publish m\/2\/sub\/model\.onnx: a file name directly in the version directory/);
      await assert.rejects(publication.putFile(VERSION_MANIFEST_NAME, Buffer.from('x')), /is the version manifest's own name/);
      await assert.rejects(publication.finish(), /cannot publish m\/2 without files/);
    });
  });
}

describePublisher('file://', async () => FileArtifactStore.open(`file://${await tempDir('publish-repo')}`));

describePublisher('s3:// on MinIO', async () => {
  const minio = await testMinio();
  return S3ArtifactStore.open(
    `s3://publish-${randomUUID().slice(0, 8)}/models`,
    { endpoint: minio.endpoint, accessKey: minio.accessKey, secretKey: minio.secretKey, region: 'us-east-1' },
    { cacheDir: await tempDir('s3-cache') },
  );
});

describe('model version manifest', () => {
  it('refuses a manifest whose content hash is not that of its files, naming it', () => {
    const text = JSON.stringify({
      format: 'mlpipe.model-version.v1',
      state: 'published',
      contentHash: '0'.repeat(64),
      files: [{ path: 'model.onnx', size: 3, sha256: sha256('abc') }],
      publishedAt: '2025-01-01T00:00:00.000Z',
    });
    assert.throws(() => parseVersionManifest(text, 'm/1/_MLPIPE_VERSION.json'), /version manifest m\/1\/_MLPIPE_VERSION\.json is malformed: its contentHash is not the hash of the files it lists/);
    assert.throws(() => parseVersionManifest('{"state": "published"', 'm/1/_MLPIPE_VERSION.json'), /version manifest m\/1\/_MLPIPE_VERSION\.json is not valid JSON/);
  });
});
