import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildMlpModel, HEAVY_MLP, SMALL_MLP, writeModelVersion } from '../../bench/serving/models';
import { assertClose, distinctRows, float32s, mlpReference, TOLERANCE } from './mlp-reference';
import { floats, grpcClient, parseMetrics, postJson, request, startTestServer, waitFor, type HttpReply } from './serving-fixture';

const X = [5.1, 3.5, 1.4, 0.2];
const inferBody = { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: X }] };
/** Version v is built with seed v: every version has its own weights, and so its own answers. */
const smallModel = (version: number) => buildMlpModel({ ...SMALL_MLP, seed: version });
const references = new Map<number, (rows: ArrayLike<number>) => number[]>();
const expectedOf = (version: number, rows: ArrayLike<number>) => {
  if (!references.has(version)) references.set(version, mlpReference({ ...SMALL_MLP, seed: version }));
  return references.get(version)!(rows);
};
const versionOf = (reply: { json: unknown }) => Number((reply.json as { model_version: string }).model_version);

/** Asserts a 200 answer naming `version` and holding that version's outputs for `rows`. */
function assertAnsweredBy(reply: HttpReply, version: number, rows: number[], what: string): void {
  assert.equal(reply.status, 200, `${what}: ${reply.body.toString()}`);
  assert.equal(versionOf(reply), version, what);
  assertClose((reply.json as { outputs: Array<{ data: number[] }> }).outputs[0]!.data, expectedOf(version, rows), `${what}, version ${version}`);
}

describe('serving: versions and hot reload', function () {
  this.timeout(120_000);

  it('answers every request while a new version is pushed every two seconds', async () => {
    const t = await startTestServer(
      (repo) => writeModelVersion(repo, 'hot', 1, smallModel(1), { max_batch_size: 8, dynamic_batching: {} }),
      { pollIntervalMs: 100 },
    );
    const client = grpcClient(t.grpcAddress);
    const lastVersion = 6;
    // Each request sends another row, and requests are batched together: an answer computed by another
    // version than it names, or for another request's row, fails.
    const rows = distinctRows(64, SMALL_MLP.inputDim, 31);
    for (let a = 1; a <= lastVersion; a++) {
      for (let b = a + 1; b <= lastVersion; b++) {
        for (const row of rows) {
          const gap = Math.max(...expectedOf(a, row).map((v, i) => Math.abs(v - expectedOf(b, row)[i]!)));
          assert.ok(gap > 100 * TOLERANCE, `versions ${a} and ${b} answer row ${row} alike: the test could not tell them apart`);
        }
      }
    }
    let sent = 0;
    const nextRow = () => rows[sent++ % rows.length]!;
    let stop = false;
    let ok = 0;
    const failures: string[] = [];
    const seenByLoop: number[][] = [];
    const restLoop = async (seen: number[]) => {
      while (!stop) {
        const row = nextRow();
        try {
          const reply = await postJson(`${t.http}/v2/models/hot/infer`, { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: row }] });
          assertAnsweredBy(reply, versionOf(reply), row, `REST row ${row}`);
          ok++;
          seen.push(versionOf(reply));
        } catch (err) {
          failures.push(`REST ${(err as Error).message}`);
        }
      }
    };
    const grpcLoop = async (seen: number[]) => {
      while (!stop) {
        const row = nextRow();
        try {
          const res = (await client.call('ModelInfer')({
            model_name: 'hot',
            inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4] }],
            raw_input_contents: [floats(row)],
          })) as { model_version: string; raw_output_contents: Buffer[] };
          const version = Number(res.model_version);
          assertClose(float32s(res.raw_output_contents[0]!), expectedOf(version, row), `gRPC row ${row}, version ${version}`);
          ok++;
          seen.push(version);
        } catch (err) {
          failures.push(`gRPC ${(err as Error).message}`);
        }
      }
    };
    const loops = Array.from({ length: 8 }, (_, i) => {
      const seen: number[] = [];
      seenByLoop.push(seen);
      return i % 2 === 0 ? restLoop(seen) : grpcLoop(seen);
    });
    try {
      for (let version = 2; version <= lastVersion; version++) {
        await new Promise((r) => setTimeout(r, 2000));
        await writeModelVersion(t.repo, 'hot', version, smallModel(version));
      }
      await waitFor(() => t.server.repository.servingVersions('hot')[0] === lastVersion, 20_000, `version ${lastVersion} to serve`);
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      stop = true;
      await Promise.all(loops);
      client.close();
    }
    try {
      assert.deepEqual(failures, [], `${failures.length} failed requests of ${ok + failures.length}`);
      assert.ok(ok > 100, `only ${ok} requests completed`);
      for (const seen of seenByLoop) {
        for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! >= seen[i - 1]!, 'a client never goes back to an older version');
        assert.equal(seen.at(-1), lastVersion);
      }
      const seenVersions = new Set(seenByLoop.flat());
      assert.ok(seenVersions.size >= 4, `requests were answered by versions ${[...seenVersions].join(', ')}`);
      await waitFor(() => t.events.filter((e) => e.type === 'unloaded').length === lastVersion - 1, 10_000, 'old versions to unload');
      assert.deepEqual(t.server.repository.status('hot'), [{ version: lastVersion, state: 'READY', reason: '' }]);
    } finally {
      await t.stop();
    }
  });

  it('keeps the old version serving when a new one fails to load, and reports the failure', async () => {
    const t = await startTestServer((repo) => writeModelVersion(repo, 'm', 1, smallModel(1), { max_batch_size: 4 }));
    try {
      await writeModelVersion(t.repo, 'm', 2, Buffer.from('this is not an ONNX model'));
      await t.server.repository.pollNow();
      assertAnsweredBy(await postJson(`${t.http}/v2/models/m/infer`, inferBody), 1, X, 'with version 2 broken');
      const failed = t.events.find((e) => e.type === 'load-failed');
      assert.ok(failed && failed.type === 'load-failed' && failed.version === 2, 'a load-failed event names version 2');
      assert.match(failed.error, /protobuf parsing failed/i);
      const status = (await request(`${t.http}/v1/models/m`)).json as { model_version_status: Array<{ version: string; state: string; status: { error_message: string } }> };
      assert.deepEqual(
        status.model_version_status.map((s) => [s.version, s.state]),
        [
          ['2', 'END'],
          ['1', 'AVAILABLE'],
        ],
      );
      assert.match(status.model_version_status[0]!.status.error_message, /protobuf parsing failed/i);
      const v2 = await postJson(`${t.http}/v2/models/m/versions/2/infer`, inferBody);
      assert.equal(v2.status, 503);
      assert.match((v2.json as { error: string }).error, /version 2 of model 'm' failed to load/);
      const index = (await request(`${t.http}/v2/repository/index`, { method: 'POST' })).json as Array<{ version: string; state: string }>;
      assert.deepEqual(index.find((i) => i.version === '2')?.state, 'UNAVAILABLE');
      const metrics = parseMetrics((await request(`${t.http}/metrics`)).body.toString());
      assert.equal(metrics.get('mlpipe_model_load_failures_total{model="m",version="2"}'), 1);
      assert.equal(metrics.get('mlpipe_model_state{model="m",version="2",state="FAILED"}'), 1);
      assert.equal(metrics.get('mlpipe_model_state{model="m",version="1",state="READY"}'), 1);

      await writeFile(path.join(t.repo, 'm', 'config.json'), '{"max_batch_size": "lots"}');
      await t.server.repository.pollNow();
      assert.ok(t.events.some((e) => e.type === 'config-failed' && /field max_batch_size/.test(e.error)));
      assertAnsweredBy(await postJson(`${t.http}/v2/models/m/infer`, inferBody), 1, X, 'a broken config.json changes nothing that serves');

      await writeModelVersion(t.repo, 'm', 3, smallModel(3), { max_batch_size: 4 });
      await t.server.repository.pollNow();
      assertAnsweredBy(await postJson(`${t.http}/v2/models/m/infer`, inferBody), 3, X, 'after version 3 is pushed');
      await waitFor(() => t.events.some((e) => e.type === 'unloaded' && e.version === 1), 5000, 'version 1 to unload');
    } finally {
      await t.stop();
    }
  });

  it('serves the versions the version policy selects and follows policy changes', async () => {
    const t = await startTestServer(async (repo) => {
      for (const v of [1, 2, 3]) {
        await writeModelVersion(repo, 'p', v, smallModel(v), { max_batch_size: 4, version_policy: { all: {} }, version_labels: { stable: 2, canary: 3 } });
      }
    });
    const served = async () => ((await request(`${t.http}/v2/models/p`)).json as { versions: string[] }).versions;
    const setConfig = async (config: object) => {
      await writeFile(path.join(t.repo, 'p', 'config.json'), JSON.stringify({ max_batch_size: 4, ...config }));
      await t.server.repository.pollNow();
      await waitFor(() => t.server.repository.status('p')!.every((s) => s.state === 'READY'), 10_000, 'unloads to finish');
    };
    try {
      assert.deepEqual(await served(), ['3', '2', '1']);
      for (const v of [1, 2, 3]) assertAnsweredBy(await postJson(`${t.http}/v2/models/p/versions/${v}/infer`, inferBody), v, X, `versions/${v}`);
      assertAnsweredBy(await postJson(`${t.http}/v2/models/p/infer`, inferBody), 3, X, 'no version means the highest');
      const stable = (await request(`${t.http}/v1/models/p/labels/stable`)).json as { model_version_status: Array<{ version: string }> };
      assert.equal(stable.model_version_status[0]!.version, '2');
      const canary = await postJson(`${t.http}/v1/models/p/labels/canary:predict`, { instances: [X] });
      assert.equal(canary.status, 200);
      assertClose((canary.json as { predictions: number[][] }).predictions.flat(), expectedOf(3, X), 'label canary is version 3');

      await setConfig({ version_policy: { specific: { versions: [1, 3] } }, version_labels: { stable: 2 } });
      assert.deepEqual(await served(), ['3', '1']);
      const gone = await postJson(`${t.http}/v2/models/p/versions/2/infer`, inferBody);
      assert.equal(gone.status, 404);
      assert.match((gone.json as { error: string }).error, /no version 2 being served \(serving: 3, 1\)/);
      const labelled = await postJson(`${t.http}/v1/models/p/labels/stable:predict`, { instances: [X] });
      assert.equal(labelled.status, 404, 'a label pointing at a version that is not served is not found');

      await setConfig({ version_policy: { latest: { num_versions: 2 } } });
      assert.deepEqual(await served(), ['3', '2']);
    } finally {
      await t.stop();
    }
  });

  it('lets in-flight requests on a removed version finish, then unloads it', async () => {
    const config = {
      max_batch_size: 4,
      version_policy: { all: {} },
      dynamic_batching: { preferred_batch_size: [4], max_queue_delay_microseconds: 1_000_000 },
    };
    const t = await startTestServer(async (repo) => {
      await writeModelVersion(repo, 'r', 1, smallModel(1), config);
      await writeModelVersion(repo, 'r', 2, smallModel(2), config);
    });
    try {
      const inFlight = postJson(`${t.http}/v2/models/r/versions/1/infer`, inferBody);
      await waitFor(() => t.server.repository.pendingCounts().some((p) => p.version === 1 && p.count === 1), 5000, 'a queued request');
      await rm(path.join(t.repo, 'r', '1'), { recursive: true });
      await t.server.repository.pollNow();
      assert.deepEqual(t.server.repository.servingVersions('r'), [2]);
      assert.equal((await postJson(`${t.http}/v2/models/r/versions/1/infer`, inferBody)).status, 404);
      assertAnsweredBy(await inFlight, 1, X, 'the request queued on the removed version');
      await waitFor(() => t.events.some((e) => e.type === 'unloaded' && e.version === 1), 5000, 'version 1 to unload');
      const order = t.events.filter((e) => 'version' in e && e.version === 1).map((e) => e.type);
      assert.deepEqual(order, ['loaded', 'unloading', 'unloaded']);
    } finally {
      await t.stop();
    }
  });

  it('reports a model as not ready while it loads and warms up', async () => {
    const t = await startTestServer((repo) => writeModelVersion(repo, 'small', 1, smallModel(1)));
    try {
      await writeModelVersion(t.repo, 'heavy', 1, buildMlpModel(HEAVY_MLP), {
        max_batch_size: 64,
        model_warmup: [{ name: 'full batch', batch_size: 64, count: 3, inputs: { input: { data_type: 'TYPE_FP32', dims: [512], random_data: true } } }],
      });
      const polling = t.server.repository.pollNow();
      await waitFor(() => t.server.repository.status('heavy')?.[0]?.state === 'LOADING', 10_000, 'heavy to start loading');
      const ready = await request(`${t.http}/v2/models/heavy/ready`);
      assert.equal(ready.status, 503);
      assert.equal((await request(`${t.http}/v2/health/ready`)).status, 503, 'the server is not ready while a model loads');
      const infer = await postJson(`${t.http}/v2/models/heavy/infer`, { inputs: [{ name: 'input', shape: [1, 512], datatype: 'FP32', data: new Array(512).fill(0) }] });
      assert.equal(infer.status, 503);
      assert.match((infer.json as { error: string }).error, /model 'heavy' is not ready: loading/);
      await polling;
      assert.equal((await request(`${t.http}/v2/models/heavy/ready`)).status, 200);
      assert.equal((await request(`${t.http}/v2/health/ready`)).status, 200);
    } finally {
      await t.stop();
    }
  });
});
