import assert from 'node:assert/strict';
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { buildMlpModel, SMALL_MLP, writeModelVersion } from '../../bench/serving/models';
import { assertClose, distinctRows, float32s, mlpReference } from './mlp-reference';
import { floats, grpcClient, parseMetrics, postJson, request, startTestServer, waitFor, type HttpReply } from './serving-fixture';

const ROWS = distinctRows(20, SMALL_MLP.inputDim, 41);
const inferBody = (row: number[]) => ({ inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: row }] });
const reference = mlpReference(SMALL_MLP);
const assertAnswer = (reply: HttpReply, row: number[], what: string) => {
  assert.equal(reply.status, 200, `${what}: ${reply.body.toString()}`);
  assertClose((reply.json as { outputs: Array<{ data: number[] }> }).outputs[0]!.data, reference(row), what);
};

const TRITON_NAMES = [
  'nv_inference_request_success',
  'nv_inference_request_failure',
  'nv_inference_count',
  'nv_inference_exec_count',
  'nv_inference_pending_request_count',
  'nv_inference_request_duration_us',
  'nv_inference_queue_duration_us',
  'nv_inference_compute_input_duration_us',
  'nv_inference_compute_infer_duration_us',
  'nv_inference_compute_output_duration_us',
];
const HISTOGRAMS = [
  'mlpipe_inference_request_duration_seconds',
  'mlpipe_inference_queue_duration_seconds',
  'mlpipe_inference_compute_duration_seconds',
  'mlpipe_inference_batch_size',
];

describe('serving: Prometheus metrics', function () {
  it('exposes Triton metric names, latency and batch-size histograms, and model load state', async () => {
    const t = await startTestServer((repo) => writeModelVersion(repo, 'small', 1, buildMlpModel(SMALL_MLP), { max_batch_size: 8 }));
    try {
      const replies = await Promise.all(ROWS.map((row) => postJson(`${t.http}/v2/models/small/infer`, inferBody(row))));
      replies.forEach((reply, i) => assertAnswer(reply, ROWS[i]!, `request ${i}`));
      await postJson(`${t.http}/v2/models/small/infer`, { inputs: [{ name: 'input', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }] });
      const reply = await request(`${t.http}/metrics`);
      assert.equal(reply.status, 200);
      assert.match(reply.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const text = reply.body.toString();
      for (const name of TRITON_NAMES) assert.match(text, new RegExp(`^# TYPE ${name} (counter|gauge)$`, 'm'), name);
      for (const name of HISTOGRAMS) assert.match(text, new RegExp(`^# TYPE ${name} histogram$`, 'm'), name);
      const m = parseMetrics(text);
      const labels = 'model="small",version="1"';
      assert.equal(m.get(`nv_inference_request_success{${labels}}`), 20);
      assert.equal(m.get(`nv_inference_request_failure{${labels},reason="OTHER"}`), 1);
      assert.equal(m.get(`nv_inference_count{${labels}}`), 20);
      assert.equal(m.get(`nv_inference_pending_request_count{${labels}}`), 0);
      assert.ok(m.get(`nv_inference_request_duration_us{${labels}}`)! > 0);
      assert.ok(m.get(`nv_inference_compute_infer_duration_us{${labels}}`)! > 0);
      for (const name of ['mlpipe_inference_request_duration_seconds', 'mlpipe_inference_queue_duration_seconds']) {
        assert.equal(m.get(`${name}_count{${labels}}`), 20, `${name} observes each successful request`);
      }
      const execs = m.get(`nv_inference_exec_count{${labels}}`)!;
      assert.equal(m.get(`mlpipe_inference_compute_duration_seconds_count{${labels}}`), execs);
      assert.equal(m.get(`mlpipe_inference_batch_size_count{${labels}}`), execs);
      const buckets = [...m].filter(([k]) => k.startsWith(`mlpipe_inference_request_duration_seconds_bucket{${labels}`));
      assert.ok(buckets.length > 10);
      for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i]![1] >= buckets[i - 1]![1], 'buckets are cumulative');
      assert.equal(buckets.at(-1)![0], `mlpipe_inference_request_duration_seconds_bucket{${labels},le="+Inf"}`);
      assert.equal(buckets.at(-1)![1], 20);
      assert.equal(m.get(`mlpipe_model_state{${labels},state="READY"}`), 1);
      assert.equal(m.get(`mlpipe_model_state{${labels},state="LOADING"}`), 0);
      assert.ok(m.get(`mlpipe_model_load_duration_seconds{${labels}}`)! > 0);
    } finally {
      await t.stop();
    }
  });
});

describe('serving: graceful shutdown', function () {
  it('stops accepting, finishes queued and running requests, then closes', async () => {
    const t = await startTestServer((repo) =>
      writeModelVersion(repo, 'slow', 1, buildMlpModel(SMALL_MLP), {
        max_batch_size: 8,
        dynamic_batching: { preferred_batch_size: [8], max_queue_delay_microseconds: 3_000_000 },
      }),
    );
    const client = grpcClient(t.grpcAddress);
    try {
      // Four different rows wait in the queue and run as one batch when shutdown begins.
      const rest = ROWS.slice(0, 3).map((row) => postJson(`${t.http}/v2/models/slow/infer`, inferBody(row)));
      const viaGrpc = client.call('ModelInfer')({
        model_name: 'slow',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4] }],
        raw_input_contents: [floats(ROWS[3]!)],
      }) as Promise<{ raw_output_contents: Buffer[] }>;
      await waitFor(() => t.server.repository.pendingCounts()[0]?.count === 4, 5000, 'four queued requests');
      const started = Date.now();
      const stopping = t.stop();
      assert.equal(t.server.service.ready, false, 'readiness drops as soon as shutdown begins');
      (await Promise.all(rest)).forEach((reply, i) => assertAnswer(reply, ROWS[i]!, `queued REST request ${i}`));
      assertClose(float32s((await viaGrpc).raw_output_contents[0]!), reference(ROWS[3]!), 'queued gRPC request');
      await stopping;
      assert.ok(Date.now() - started < 2500, 'queued requests run at once instead of waiting out the batching delay');
      await assert.rejects(fetch(`${t.http}/v2/health/live`), 'no new connections after shutdown');
      await assert.rejects(client.call('ServerLive')({}, { deadline: 1000 }), (err: ServiceError) =>
        [GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED].includes(err.code),
      );
      assert.ok(t.events.some((e) => e.type === 'unloaded' && e.model === 'slow'));
    } finally {
      client.close();
      await t.stop();
    }
  });
});
