import assert from 'node:assert/strict';
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { buildMlpModel, SMALL_MLP, writeModelVersion } from '../../bench/serving/models';
import { assertClose, distinctRows, mlpReference } from './mlp-reference';
import { floats, grpcClient, parseMetrics, postJson, request, startTestServer, waitFor, type HttpReply, type ServerUnderTest } from './serving-fixture';

const ROWS = distinctRows(720, SMALL_MLP.inputDim, 11);
const row = (i: number) => ROWS[i]!;
const reference = mlpReference(SMALL_MLP);
const body = (rows: number[][], extra: Record<string, unknown> = {}) => ({
  inputs: [{ name: 'input', shape: [rows.length, 4], datatype: 'FP32', data: rows.flat() }],
  ...extra,
});

/** Asserts a 200 JSON answer holding the model's probabilities for exactly `rows`, in their order. */
function assertAnswers(reply: HttpReply, rows: number[][], what: string): void {
  assert.equal(reply.status, 200, `${what}: ${reply.body.toString()}`);
  const out = (reply.json as { outputs: Array<{ shape: number[]; data: number[] }> }).outputs[0]!;
  assert.deepEqual(out.shape, [rows.length, SMALL_MLP.outputDim], what);
  assertClose(out.data, reference(rows.flat()), what);
}

interface ModelStats {
  execution_count: number;
  inference_count: number;
  inference_stats: { success: { count: number } };
  batch_stats: Array<{ batch_size: number; compute_infer: { count: number } }>;
}

/** A long max_queue_delay holds requests in the queue, so queue behaviour is observable without timing luck. */
const HOLD_US = 1_500_000;

describe('serving: dynamic batching, queue policy, timeouts and cancellation', function () {
  let t: ServerUnderTest;
  let client: ReturnType<typeof grpcClient>;
  const pending = (model: string) => t.server.repository.pendingCounts().find((p) => p.model === model)?.count ?? 0;
  const stats = async (model: string) =>
    ((await request(`${t.http}/v2/models/${model}/stats`)).json as { model_stats: ModelStats[] }).model_stats[0]!;

  before(async () => {
    const model = buildMlpModel(SMALL_MLP);
    t = await startTestServer(async (repo) => {
      await writeModelVersion(repo, 'batched', 1, model, { max_batch_size: 64, dynamic_batching: {} });
      await writeModelVersion(repo, 'unbatched', 1, model, { max_batch_size: 0 });
      await writeModelVersion(repo, 'threaded', 1, model, {
        max_batch_size: 64,
        instance_group: [{ kind: 'KIND_CPU', count: 2 }],
        parameters: { session_thread: { string_value: 'worker' } },
      });
      await writeModelVersion(repo, 'held', 1, model, {
        max_batch_size: 8,
        dynamic_batching: { preferred_batch_size: [8], max_queue_delay_microseconds: HOLD_US, default_queue_policy: { max_queue_size: 2 } },
      });
      await writeModelVersion(repo, 'preferred', 1, model, {
        max_batch_size: 8,
        dynamic_batching: { preferred_batch_size: [4], max_queue_delay_microseconds: 5_000_000 },
      });
      await writeModelVersion(repo, 'timeout', 1, model, {
        max_batch_size: 8,
        dynamic_batching: {
          preferred_batch_size: [8],
          max_queue_delay_microseconds: HOLD_US,
          default_queue_policy: { default_timeout_microseconds: 50_000, allow_timeout_override: true },
        },
      });
    });
    client = grpcClient(t.grpcAddress);
  });
  after(async () => {
    client?.close();
    await t?.stop();
  });

  it('merges concurrent requests into batches, each answered with its own rows, visible in statistics and metrics', async () => {
    const requests = 240;
    // One to three rows each, all different: a batch that hands a request another's rows, or splits at the wrong row, fails.
    const rowsOf = (i: number) => Array.from({ length: 1 + (i % 3) }, (_, k) => row(3 * i + k));
    const totalRows = Array.from({ length: requests }, (_, i) => rowsOf(i).length).reduce((a, b) => a + b, 0);
    let next = 0;
    const worker = async () => {
      while (next < requests) {
        const i = next++;
        assertAnswers(await postJson(`${t.http}/v2/models/batched/infer`, body(rowsOf(i))), rowsOf(i), `request ${i}`);
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    const s = await stats('batched');
    assert.equal(s.inference_stats.success.count, requests);
    assert.equal(s.inference_count, totalRows, 'inference_count counts rows, as Triton does');
    // Fewer executions than requests: some execution ran several requests as one batch.
    assert.ok(s.execution_count < requests, `expected batches of several requests, got ${s.execution_count} executions for ${requests} requests`);
    const metrics = parseMetrics((await request(`${t.http}/metrics`)).body.toString());
    assert.equal(metrics.get('nv_inference_exec_count{model="batched",version="1"}'), s.execution_count);
    assert.equal(metrics.get('mlpipe_inference_batch_size_count{model="batched",version="1"}'), s.execution_count);
    assert.equal(metrics.get('mlpipe_inference_batch_size_sum{model="batched",version="1"}'), totalRows);

    const alone = await Promise.all(Array.from({ length: 40 }, (_, i) => postJson(`${t.http}/v2/models/unbatched/infer`, body([row(i)]))));
    alone.forEach((reply, i) => assertAnswers(reply, [row(i)], `unbatched request ${i}`));
    const u = await stats('unbatched');
    assert.equal(u.execution_count, 40, 'max_batch_size 0 runs each request alone');
  });

  it('runs small models on the event loop and others in worker threads, as configured', async () => {
    assert.equal(t.server.repository.resolve('batched', {}).onEventLoop, true, 'auto: a full batch of the small model takes microseconds');
    assert.equal(t.server.repository.resolve('threaded', {}).onEventLoop, false);
    const [onLoop, threaded] = await Promise.all([
      postJson(`${t.http}/v2/models/batched/infer`, body([row(1), row(2)])),
      postJson(`${t.http}/v2/models/threaded/infer`, body([row(1), row(2)])),
    ]);
    assertAnswers(onLoop, [row(1), row(2)], 'event-loop session');
    assertAnswers(threaded, [row(1), row(2)], 'worker-thread session');
    // Answers come back from two worker threads at once: each must reach the request it belongs to.
    const concurrent = await Promise.all(Array.from({ length: 32 }, (_, i) => postJson(`${t.http}/v2/models/threaded/infer`, body([row(i)]))));
    concurrent.forEach((reply, i) => assertAnswers(reply, [row(i)], `worker-thread request ${i}`));
    const config = (await request(`${t.http}/v2/models/threaded/config`)).json as { instance_group: Array<{ count: number }> };
    assert.equal(config.instance_group[0]!.count, 2);
  });

  it('waits up to max_queue_delay for a preferred batch, and runs at once when one forms', async () => {
    const started = Date.now();
    const replies = await Promise.all(Array.from({ length: 4 }, (_, i) => postJson(`${t.http}/v2/models/preferred/infer`, body([row(i)]))));
    replies.forEach((reply, i) => assertAnswers(reply, [row(i)], `request ${i} of the preferred batch`));
    assert.ok(Date.now() - started < 2500, 'a preferred batch of 4 does not wait out the 5 s delay');
    const s = await stats('preferred');
    assert.deepEqual(
      s.batch_stats.map((b) => [b.batch_size, b.compute_infer.count]),
      [[4, 1]],
    );
  });

  it('rejects at once with 429 / RESOURCE_EXHAUSTED when the queue is full', async () => {
    const held = [postJson(`${t.http}/v2/models/held/infer`, body([row(1)])), postJson(`${t.http}/v2/models/held/infer`, body([row(2)]))];
    await waitFor(() => pending('held') === 2, 5000, 'two held requests');
    const t0 = Date.now();
    const rejected = await postJson(`${t.http}/v2/models/held/infer`, body([row(3)]));
    assert.equal(rejected.status, 429);
    assert.match((rejected.json as { error: string }).error, /queue is full \(max_queue_size 2\)/);
    await assert.rejects(
      client.call('ModelInfer')({ model_name: 'held', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [floats(row(4))] }),
      (err: ServiceError) => err.code === GrpcStatus.RESOURCE_EXHAUSTED && /queue is full/.test(err.details),
    );
    assert.ok(Date.now() - t0 < HOLD_US / 1000 / 2, 'rejections do not wait for the queue');
    const [a, b] = await Promise.all(held);
    assertAnswers(a!, [row(1)], 'first held request');
    assertAnswers(b!, [row(2)], 'second held request');
    const s = await stats('held');
    assert.deepEqual(
      s.batch_stats.map((x) => [x.batch_size, x.compute_infer.count]),
      [[2, 1]],
      'the two held requests ran as one batch after the delay',
    );
    const metrics = parseMetrics((await request(`${t.http}/metrics`)).body.toString());
    assert.equal(metrics.get('nv_inference_request_failure{model="held",version="1",reason="REJECTED"}'), 2);
  });

  it('fails a request that waits past its queue timeout, and honours a per-request override', async () => {
    const t0 = Date.now();
    const timedOut = await postJson(`${t.http}/v2/models/timeout/infer`, body([row(1)]));
    assert.equal(timedOut.status, 503);
    assert.match((timedOut.json as { error: string }).error, /timed out after 50000 µs in the queue/);
    assert.ok(Date.now() - t0 < 1000);
    await assert.rejects(
      client.call('ModelInfer')({ model_name: 'timeout', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [floats(row(2))] }),
      (err: ServiceError) => err.code === GrpcStatus.DEADLINE_EXCEEDED,
    );
    const overridden = await postJson(`${t.http}/v2/models/timeout/infer`, body([row(1)], { parameters: { timeout: 10_000_000 } }));
    assertAnswers(overridden, [row(1)], 'a 10 s timeout outlasts the 1.5 s queue delay');
  });

  it('drops a queued request whose client disconnects, over REST and gRPC', async () => {
    const before = await stats('preferred');
    const abort = new AbortController();
    const gone = fetch(`${t.http}/v2/models/preferred/infer`, { method: 'POST', body: JSON.stringify(body([row(1)])), signal: abort.signal });
    await waitFor(() => pending('preferred') === 1, 5000, 'the request to be queued');
    abort.abort();
    await assert.rejects(gone);
    await waitFor(() => pending('preferred') === 0, 1000, 'the abandoned request to leave the queue');
    await assert.rejects(
      client.call('ModelInfer')(
        { model_name: 'preferred', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [floats(row(2))] },
        { deadline: 200 },
      ),
      (err: ServiceError) => err.code === GrpcStatus.DEADLINE_EXCEEDED,
    );
    await waitFor(() => pending('preferred') === 0, 1000, 'the expired gRPC call to leave the queue');
    const after = await stats('preferred');
    assert.equal(after.execution_count, before.execution_count, 'nothing ran for clients that left');
    const metrics = parseMetrics((await request(`${t.http}/metrics`)).body.toString());
    assert.equal(metrics.get('nv_inference_request_failure{model="preferred",version="1",reason="CANCELED"}'), 2);
  });
});
