import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { openArtifactStore } from '../../artifacts/open-store';
import { buildMlpModel, SMALL_MLP } from '../../bench/serving/models';
import { startModelServer } from '../../serving/server';
import { testMinio } from '../support/servers';
import { tempDir } from '../support/tmp';
import { postJson, request } from './serving-fixture';

describe('serving: a model repository on S3 (MinIO)', function () {
  it('serves models from s3:// and hot-loads a version pushed there', async () => {
    const minio = await testMinio();
    const s3 = { endpoint: minio.endpoint, accessKey: minio.accessKey, secretKey: minio.secretKey, region: 'us-east-1' };
    const root = `s3://serving-${randomUUID().slice(0, 8)}/models`;
    const pusher = await openArtifactStore(root, s3, { cacheDir: await tempDir('s3-pusher') });
    await pusher.putObject('iris/config.json', JSON.stringify({ max_batch_size: 8, version_labels: { stable: 1 } }));
    await pusher.putObject('iris/1/model.onnx', Buffer.from(buildMlpModel(SMALL_MLP)));
    const events: string[] = [];
    const server = await startModelServer({ repository: root, s3, httpPort: 0, grpcPort: 0, pollIntervalMs: 0 }, (e) => events.push(e.type));
    const http = `http://127.0.0.1:${server.httpPort}`;
    const infer = () => postJson(`${http}/v2/models/iris/infer`, { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] });
    try {
      const first = await infer();
      assert.equal(first.status, 200);
      assert.equal((first.json as { model_version: string }).model_version, '1');
      await pusher.putObject('iris/2/model.onnx', Buffer.from(buildMlpModel({ ...SMALL_MLP, seed: 2 })));
      await server.repository.pollNow();
      const second = await infer();
      assert.equal((second.json as { model_version: string }).model_version, '2');
      assert.notDeepEqual((second.json as { outputs: unknown }).outputs, (first.json as { outputs: unknown }).outputs);
      const viaLabel = await postJson(`${http}/v1/models/iris/labels/stable:predict`, { instances: [[5.1, 3.5, 1.4, 0.2]] });
      assert.equal(viaLabel.status, 404, 'version 1, which the label names, is no longer served');
      const status = (await request(`${http}/v1/models/iris`)).json as { model_version_status: Array<{ version: string; state: string }> };
      assert.equal(status.model_version_status[0]!.version, '2');
      assert.ok(events.includes('unloading'));
    } finally {
      await server.stop();
      await pusher.close();
    }
  });
});
