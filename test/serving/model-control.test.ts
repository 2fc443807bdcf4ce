import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildMlpModel, HEAVY_MLP, SMALL_MLP, writeModelVersion } from '../../bench/serving/models';
import { binaryBody, grpcClient, postJson, request, startTestServer, waitFor, type ServerUnderTest } from './serving-fixture';

const ROW = { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [5.1, 3.5, 1.4, 0.2] }] };

async function fillTwoModels(repo: string): Promise<void> {
  // Requests to iris_a wait up to 300 ms for company, so a test can hold some in the queue.
  await writeModelVersion(repo, 'iris_a', 1, buildMlpModel(SMALL_MLP), {
    max_batch_size: 32,
    dynamic_batching: { max_queue_delay_microseconds: 300_000 },
  });
  await writeModelVersion(repo, 'iris_b', 1, buildMlpModel({ ...SMALL_MLP, seed: 5 }), { max_batch_size: 8 });
}

const infer = (t: ServerUnderTest, model: string) => postJson(`${t.http}/v2/models/${model}/infer`, ROW);
const index = async (t: ServerUnderTest, body: unknown = {}) =>
  (await postJson(`${t.http}/v2/repository/index`, body)).json as Array<{ name: string; version: string; state: string; reason: string }>;

describe('serving: model control (Triton model repository extension)', function () {
  it('explicit mode loads only the startup models, then loads and unloads on request over REST', async () => {
    const t = await startTestServer(fillTwoModels, { modelControlMode: 'explicit', loadModels: ['iris_a'] });
    try {
      assert.equal((await infer(t, 'iris_a')).status, 200);
      const notLoaded = await infer(t, 'iris_b');
      assert.equal(notLoaded.status, 404);
      assert.match(JSON.stringify(notLoaded.json), /unknown model 'iris_b'/);
      assert.deepEqual(await index(t), [
        { name: 'iris_a', version: '1', state: 'READY', reason: '' },
        { name: 'iris_b', version: '', state: '', reason: '' },
      ]);
      assert.deepEqual((await index(t, { ready: true })).map((e) => e.name), ['iris_a']);
      await writeModelVersion(t.repo, 'iris_c', 1, buildMlpModel(SMALL_MLP));
      assert.deepEqual((await index(t)).find((e) => e.name === 'iris_c'), { name: 'iris_c', version: '', state: '', reason: '' }, 'the index reads the repository afresh');

      assert.equal((await postJson(`${t.http}/v2/repository/models/iris_b/load`, '')).status, 200);
      assert.equal((await infer(t, 'iris_b')).status, 200);

      // Requests already queued on iris_a still finish after the unload; later ones are refused.
      const inFlight = Array.from({ length: 20 }, () => infer(t, 'iris_a'));
      const queued = () => t.server.repository.pendingCounts().find((p) => p.model === 'iris_a')?.count ?? 0;
      await waitFor(() => queued() === 20, 10_000, '20 requests queued on iris_a');
      const unload = await postJson(`${t.http}/v2/repository/models/iris_a/unload`, { parameters: { unload_dependents: false } });
      assert.equal(unload.status, 200);
      assert.equal((await infer(t, 'iris_a')).status, 404);
      assert.deepEqual((await Promise.all(inFlight)).map((r) => r.status), Array(20).fill(200));
      const irisA = async () => (await index(t)).find((e) => e.name === 'iris_a');
      await waitFor(async () => (await irisA())?.state === 'UNAVAILABLE', 10_000, 'iris_a to be unloaded');
      assert.deepEqual(await irisA(), { name: 'iris_a', version: '1', state: 'UNAVAILABLE', reason: 'unloaded' });
      assert.ok(t.events.some((e) => e.type === 'unloaded' && e.model === 'iris_a'));
      assert.equal((await postJson(`${t.http}/v2/repository/models/iris_a/unload`, '')).status, 200, 'unloading twice does nothing');

      // A load of a loaded model picks up what changed in the repository: here a new version.
      await writeModelVersion(t.repo, 'iris_b', 2, buildMlpModel({ ...SMALL_MLP, seed: 6 }), { max_batch_size: 8 });
      assert.equal((await postJson(`${t.http}/v2/models/iris_b/versions/2/infer`, ROW)).status, 404, 'no polling in explicit mode');
      assert.equal((await postJson(`${t.http}/v2/repository/models/iris_b/load`, '')).status, 200);
      assert.equal((await postJson(`${t.http}/v2/models/iris_b/versions/2/infer`, ROW)).status, 200);
    } finally {
      await t.stop();
    }
  });

  it('answers an unload at once, as Triton, and shows the model UNLOADING until its running request ends', async () => {
    // One request of 4000 rows keeps the heavy model's session busy for a tenth of a second or more.
    const rows = 4000;
    const t = await startTestServer((repo) => writeModelVersion(repo, 'heavy', 1, buildMlpModel(HEAVY_MLP), { max_batch_size: 0 }), {
      modelControlMode: 'explicit',
      loadModels: ['heavy'],
    });
    try {
      const { body, headers } = binaryBody(
        { inputs: [{ name: 'input', shape: [rows, 512], datatype: 'FP32', parameters: { binary_data_size: rows * 512 * 4 } }] },
        [Buffer.alloc(rows * 512 * 4)],
      );
      let finishedAt = 0;
      const running = request(`${t.http}/v2/models/heavy/infer`, { method: 'POST', body, headers }).then((r) => {
        finishedAt = performance.now();
        return r;
      });
      const pending = () => t.server.repository.pendingCounts().find((p) => p.model === 'heavy')?.count ?? 0;
      await waitFor(() => pending() === 1, 10_000, 'the large request to reach the heavy model');
      const unload = await postJson(`${t.http}/v2/repository/models/heavy/unload`, '');
      const answeredAt = performance.now();
      assert.equal(unload.status, 200);
      const during = (await index(t)).find((e) => e.name === 'heavy');
      const reply = await running;
      assert.equal(reply.status, 200, reply.body.toString('utf8', 0, 200));
      assert.ok(answeredAt < finishedAt, 'the unload answered before the running request finished');
      assert.deepEqual(during, { name: 'heavy', version: '1', state: 'UNLOADING', reason: '' });
      await waitFor(async () => (await index(t)).find((e) => e.name === 'heavy')?.state === 'UNAVAILABLE', 10_000, 'heavy to be unloaded');
      assert.ok(t.events.some((e) => e.type === 'unloaded' && e.model === 'heavy'));
    } finally {
      await t.stop();
    }
  });

  it('refuses to start when a startup model is not in the repository', async () => {
    await assert.rejects(
      startTestServer(fillTwoModels, { modelControlMode: 'explicit', loadModels: ['iris_a', 'nope'] }),
      /--load-model 'nope': no such model directory in /,
    );
  });

  it('answers bad load requests with the reason and keeps serving', async () => {
    const t = await startTestServer(
      async (repo) => {
        await fillTwoModels(repo);
        await writeModelVersion(repo, 'broken', 1, Buffer.from('not an onnx model'));
      },
      { modelControlMode: 'explicit', loadModels: ['*'] },
    );
    try {
      assert.equal((await infer(t, 'iris_a')).status, 200, "'*' loads every model");
      assert.equal((await infer(t, 'iris_b')).status, 200);
      const missing = await postJson(`${t.http}/v2/repository/models/nope/load`, '');
      assert.equal(missing.status, 404);
      assert.match(JSON.stringify(missing.json), /failed to load 'nope': no model directory 'nope'/);
      const broken = await postJson(`${t.http}/v2/repository/models/broken/load`, '');
      assert.equal(broken.status, 400);
      assert.match(JSON.stringify(broken.json), /failed to load 'broken': version 1: .*Protobuf parsing failed/);
      const override = await postJson(`${t.http}/v2/repository/models/iris_a/load`, { parameters: { config: '{"max_batch_size": 4}' } });
      assert.equal(override.status, 400);
      assert.match(JSON.stringify(override.json), /load parameter 'config' is not supported/);
      const malformed = await postJson(`${t.http}/v2/repository/models/iris_a/load`, '{"parameters": 3}');
      assert.equal(malformed.status, 400);
      assert.match(JSON.stringify(malformed.json), /load request: .*parameters/);
      assert.equal((await infer(t, 'iris_a')).status, 200);

      // A load fails when a version it should serve fails, or the config is broken; what served goes on.
      await writeModelVersion(t.repo, 'iris_b', 2, buildMlpModel(SMALL_MLP));
      await writeFile(path.join(t.repo, 'iris_b', '2', 'model.onnx'), 'truncated');
      const badVersion = await postJson(`${t.http}/v2/repository/models/iris_b/load`, '');
      assert.equal(badVersion.status, 400);
      assert.match(JSON.stringify(badVersion.json), /failed to load 'iris_b': version 2: /);
      assert.equal((await postJson(`${t.http}/v2/models/iris_b/versions/1/infer`, ROW)).status, 200);
      await writeFile(path.join(t.repo, 'iris_b', 'config.json'), '{"max_batch_size": "eight"}');
      const badConfig = await postJson(`${t.http}/v2/repository/models/iris_b/load`, '');
      assert.equal(badConfig.status, 400);
      assert.match(JSON.stringify(badConfig.json), /failed to load 'iris_b': .*max_batch_size/);
      assert.equal((await infer(t, 'iris_b')).status, 200);
    } finally {
      await t.stop();
    }
  });

  it('loads and unloads over gRPC, and refuses both outside explicit mode', async () => {
    const t = await startTestServer(fillTwoModels, { modelControlMode: 'explicit' });
    const client = grpcClient(t.grpcAddress);
    try {
      assert.deepEqual(await client.call('ServerReady')({}), { ready: true }, 'no model loaded is still ready');
      await client.call('RepositoryModelLoad')({ model_name: 'iris_a' });
      assert.deepEqual(await client.call('ModelReady')({ name: 'iris_a' }), { ready: true });
      const { models } = (await client.call('RepositoryIndex')({ ready: true })) as { models: Array<{ name: string }> };
      assert.deepEqual(models.map((m) => m.name), ['iris_a']);
      await client.call('RepositoryModelUnload')({ model_name: 'iris_a' });
      assert.deepEqual(await client.call('ModelReady')({ name: 'iris_a' }), { ready: false });
      await assert.rejects(client.call('RepositoryModelLoad')({ model_name: 'nope' }), (err: { code: number; details: string }) => {
        assert.equal(err.code, 5);
        assert.match(err.details, /no model directory 'nope'/);
        return true;
      });
    } finally {
      client.close();
      await t.stop();
    }
    const polled = await startTestServer(fillTwoModels);
    const polledClient = grpcClient(polled.grpcAddress);
    try {
      const rest = await postJson(`${polled.http}/v2/repository/models/iris_a/unload`, '');
      assert.equal(rest.status, 503);
      assert.match(JSON.stringify(rest.json), /explicit model unload is not allowed in model control mode 'poll'/);
      await assert.rejects(polledClient.call('RepositoryModelLoad')({ model_name: 'iris_a' }), (err: { code: number }) => err.code === 14);
      assert.equal((await infer(polled, 'iris_a')).status, 200);
    } finally {
      polledClient.close();
      await polled.stop();
    }
  });
});
