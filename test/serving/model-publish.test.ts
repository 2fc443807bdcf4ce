import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FileArtifactStore } from '../../artifacts/file-store';
import { ModelVersionPublication, publishModelVersion } from '../../artifacts/model-publish';
import { publishedManifest, serializeVersionManifest, VERSION_MANIFEST_NAME } from '../../artifacts/model-version-manifest';
import type { S3Settings } from '../../artifacts/s3-client';
import { S3ArtifactStore } from '../../artifacts/s3-store';
import type { ArtifactStore } from '../../artifacts/store';
import { buildMlpModel, MLP_INPUT, MLP_OUTPUT, SMALL_MLP } from '../../bench/serving/models';
import { openSession, Tensor } from '../../onnx/session';
import type { RepositoryEvent } from '../../serving/model-repository';
import { startModelServer, type ModelServer } from '../../serving/server';
import { testMinio } from '../support/servers';
import { tempDir } from '../support/tmp';
import { postJson, request } from './serving-fixture';

const X = [5.1, 3.5, 1.4, 0.2];
const model = (seed: number) => buildMlpModel({ ...SMALL_MLP, seed });
const ALL_VERSIONS = JSON.stringify({ max_batch_size: 4, version_policy: { all: {} } });

/** What onnxruntime itself answers for X, the reference a served version must match. */
async function outputsOf(bytes: Uint8Array): Promise<number[]> {
  const session = await openSession(bytes);
  try {
    const result = await session.run({ [MLP_INPUT]: new Tensor('float32', Float32Array.from(X), [1, 4]) });
    return Array.from(result[MLP_OUTPUT]!.data as Float32Array);
  } finally {
    await session.release();
  }
}

interface Repository {
  uri: string;
  s3?: S3Settings;
  /** The store a pusher publishes through, opened on the repository root. */
  store: ArtifactStore;
  /** Writes a file the way a person or a plain tool does: `cp` over the file, or an S3 PUT. */
  writeByHand(key: string, bytes: Uint8Array | string): Promise<void>;
}

async function fileRepository(): Promise<Repository> {
  const dir = await tempDir('publish-serving');
  return {
    uri: `file://${dir}`,
    store: await FileArtifactStore.open(`file://${dir}`),
    writeByHand: async (key, bytes) => {
      const file = path.join(dir, ...key.split('/'));
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, bytes);
    },
  };
}

async function s3Repository(): Promise<Repository> {
  const minio = await testMinio();
  const s3 = { endpoint: minio.endpoint, accessKey: minio.accessKey, secretKey: minio.secretKey, region: 'us-east-1' };
  const uri = `s3://serving-${randomUUID().slice(0, 8)}/models`;
  const store = await S3ArtifactStore.open(uri, s3, { cacheDir: await tempDir('s3-pusher') });
  return { uri, s3, store, writeByHand: (key, bytes) => store.putObject(key, Buffer.from(bytes)) };
}

for (const [backend, openRepository] of [
  ['file://', fileRepository],
  ['s3:// on MinIO', s3Repository],
] as const) {
  describe(`serving: publishing model versions on ${backend}`, function () {
    this.timeout(60_000);
    let repo: Repository;
    let server: ModelServer | undefined;
    let events: RepositoryEvent[];

    beforeEach(async () => {
      repo = await openRepository();
      events = [];
    });
    afterEach(async () => {
      await server?.stop();
      server = undefined;
      await repo.store.close();
    });

    async function start(): Promise<ModelServer> {
      server = await startModelServer(
        { repository: repo.uri, ...(repo.s3 ? { s3: repo.s3 } : {}), httpPort: 0, grpcPort: 0, pollIntervalMs: 0 },
        (e) => events.push(e),
      );
      return server;
    }

    async function answer(name: string, version: number): Promise<{ status: number; version?: string; outputs?: number[]; error?: string }> {
      const reply = await postJson(`http://127.0.0.1:${server!.httpPort}/v2/models/${name}/versions/${version}/infer`, {
        inputs: [{ name: MLP_INPUT, shape: [1, 4], datatype: 'FP32', data: X }],
      });
      const json = reply.json as { model_version?: string; outputs?: Array<{ data: number[] }>; error?: string };
      return { status: reply.status, version: json.model_version, outputs: json.outputs?.[0]?.data, error: json.error };
    }

    async function assertAnswers(name: string, version: number, expected: number[], what: string): Promise<void> {
      const reply = await answer(name, version);
      assert.equal(reply.status, 200, `${what}: ${reply.error}`);
      assert.equal(reply.version, String(version));
      assert.equal(reply.outputs?.length, expected.length);
      reply.outputs!.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-6, `${what}: output ${i} is ${v}, expected ${expected[i]}`));
    }

    it('serves the new weights of a version rewritten in place with a model of the same size', async () => {
      const [before, after] = [model(1), model(2)];
      assert.equal(before.length, after.length, 'two seeds of one architecture give models of one size');
      const [expectedBefore, expectedAfter] = [await outputsOf(before), await outputsOf(after)];
      assert.notDeepEqual(expectedBefore, expectedAfter);
      await publishModelVersion(repo.store, 'pushed', 1, [{ name: 'model.onnx', content: before }]);
      await repo.writeByHand('handmade/1/model.onnx', before);
      await start();
      await assertAnswers('pushed', 1, expectedBefore, 'published version 1');
      await assertAnswers('handmade', 1, expectedBefore, 'hand-made version 1');

      await publishModelVersion(repo.store, 'pushed', 1, [{ name: 'model.onnx', content: after }]);
      await repo.writeByHand('handmade/1/model.onnx', after);
      await server!.repository.pollNow();
      await assertAnswers('pushed', 1, expectedAfter, 'version 1 published again');
      await assertAnswers('handmade', 1, expectedAfter, 'version 1 rewritten by hand, without a manifest');
      assert.deepEqual(
        events.filter((e) => e.type === 'unloading').map((e) => e.type === 'unloading' && e.reason),
        ['replaced by a reload of the same version', 'replaced by a reload of the same version'],
      );
    });

    it('loads a version only once its publication is complete, serving what it served meanwhile', async () => {
      await repo.store.putObject('m/config.json', ALL_VERSIONS);
      await publishModelVersion(repo.store, 'm', 1, [{ name: 'model.onnx', content: model(1) }]);
      await start();
      const [v1, v2, v3] = [await outputsOf(model(1)), await outputsOf(model(2)), await outputsOf(model(3))];
      await assertAnswers('m', 1, v1, 'version 1');

      // Version 1 published again and a first version 2, both stopped after their model file.
      const again = await ModelVersionPublication.start(repo.store, 'm', 1);
      await again.putFile('model.onnx', model(2));
      const first = await ModelVersionPublication.start(repo.store, 'm', 2);
      await first.putFile('model.onnx', model(2));
      // Version 3 as a copying tool may deliver it: the manifest before one of the files it lists.
      const vocab = 'adelie\ngentoo\n';
      await repo.store.putObject('m/3/model.onnx', Buffer.from(model(3)));
      const manifest = publishedManifest([
        { path: 'model.onnx', size: model(3).length, sha256: createHash('sha256').update(model(3)).digest('hex') },
        { path: 'vocab.txt', size: vocab.length, sha256: createHash('sha256').update(vocab).digest('hex') },
      ]);
      await repo.store.putObject(`m/3/${VERSION_MANIFEST_NAME}`, serializeVersionManifest(manifest));
      await server!.repository.pollNow();

      await assertAnswers('m', 1, v1, 'version 1 while it is published again');
      assert.equal((await answer('m', 2)).status, 404, 'a version being published for the first time does not exist yet');
      const waiting = await answer('m', 3);
      assert.equal(waiting.status, 503);
      assert.match(waiting.error!, /version 3 of model 'm' failed to load: version manifest m\/3\/_MLPIPE_VERSION\.json lists vocab\.txt with 14 bytes, but m\/3\/vocab\.txt does not exist/);
      assert.deepEqual(
        server!.repository.status('m')!.map((s) => [s.version, s.state]),
        [
          [3, 'FAILED'],
          [1, 'READY'],
        ],
      );
      assert.equal(server!.repository.status('m')![1]!.reason, '');
      assert.ok(!events.some((e) => e.type === 'unloading'), 'nothing unloads while versions are being published');

      await again.finish();
      await first.finish();
      await repo.store.putObject('m/3/vocab.txt', vocab);
      await server!.repository.pollNow();
      await assertAnswers('m', 1, v2, 'version 1 once published again');
      await assertAnswers('m', 2, v2, 'version 2 once published');
      await assertAnswers('m', 3, v3, 'version 3 once its last file arrived');
      assert.deepEqual(server!.repository.status('m'), [3, 2, 1].map((version) => ({ version, state: 'READY', reason: '' })));
    });

    it('reports a corrupt manifest, and a published version changed afterwards, in the version status', async () => {
      await repo.store.putObject('m/config.json', ALL_VERSIONS);
      await publishModelVersion(repo.store, 'm', 1, [{ name: 'model.onnx', content: model(1) }]);
      await start();
      const v1 = await outputsOf(model(1));
      await repo.store.putObject('m/2/model.onnx', Buffer.from(model(2)));
      await repo.store.putObject(`m/2/${VERSION_MANIFEST_NAME}`, '{"format": "mlpipe.model-version.v1", "state": "publ');
      await repo.writeByHand('m/1/model.onnx', model(3));
      await server!.repository.pollNow();

      const status = (await request(`http://127.0.0.1:${server!.httpPort}/v1/models/m`)).json as {
        model_version_status: Array<{ version: string; state: string; status: { error_message: string } }>;
      };
      assert.deepEqual(status.model_version_status.map((s) => [s.version, s.state]), [
        ['2', 'END'],
        ['1', 'AVAILABLE'],
      ]);
      assert.match(status.model_version_status[0]!.status.error_message, /^version manifest m\/2\/_MLPIPE_VERSION\.json is not valid JSON: /);
      const failed = events.find((e) => e.type === 'load-failed' && e.version === 2);
      assert.ok(failed?.type === 'load-failed' && /m\/2\/_MLPIPE_VERSION\.json is not valid JSON/.test(failed.error));

      await assertAnswers('m', 1, v1, 'version 1, whose manifest no longer describes its model file');
      const [, ready] = server!.repository.status('m')!;
      assert.equal(ready!.state, 'READY');
      assert.match(
        ready!.reason,
        /^serving the files loaded before, as reloading failed: version manifest m\/1\/_MLPIPE_VERSION\.json lists model\.onnx with sha256 [0-9a-f]{64}, but m\/1\/model\.onnx has sha256 [0-9a-f]{64}: the directory changed after it was published; publish the version again, or delete _MLPIPE_VERSION\.json/,
      );
    });
  });
}
