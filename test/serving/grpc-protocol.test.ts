import assert from 'node:assert/strict';
import { credentials, status as GrpcStatus, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { loadInferenceService } from '../../serving/grpc/grpc-proto';
import { buildIdentityModel, buildMlpModel, OnnxElementType, SMALL_MLP, writeModelVersion } from '../../bench/serving/models';
import { STREAM_MAX_PENDING } from '../../serving/grpc/grpc-stream';
import { assertClose, distinctRows, float32s, mlpReference } from './mlp-reference';
import { floats, grpcClient, startTestServer, waitFor, type ServerUnderTest } from './serving-fixture';

const X = [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3];
const reference = mlpReference(SMALL_MLP);

interface StreamReply {
  error_message: string;
  infer_response: { id: string; raw_output_contents: Buffer[] };
}

function bytesTensor(values: string[]): Buffer {
  return Buffer.concat(
    values.flatMap((v) => {
      const b = Buffer.from(v, 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32LE(b.length);
      return [len, b];
    }),
  );
}

/** A ModelStreamInfer call on its own client: what it writes, the replies collected, and its end. */
function openInferStream(address: string) {
  const Service = loadInferenceService();
  const client = new Service(address, credentials.createInsecure());
  const stream = (client['ModelStreamInfer'] as () => ClientDuplexStream<object, StreamReply>).call(client);
  const replies: StreamReply[] = [];
  stream.on('data', (r: StreamReply) => replies.push(r));
  const ended = new Promise<void>((resolve, reject) => {
    stream.on('end', () => resolve());
    stream.on('error', reject);
  });
  return { stream, replies, ended, close: () => client.close() };
}

async function rejectsWith(pending: Promise<unknown>, code: number, pattern: RegExp): Promise<void> {
  await assert.rejects(pending, (err: ServiceError) => {
    assert.equal(err.code, code, err.details);
    assert.match(err.details, pattern);
    return true;
  });
}

describe('serving: Open Inference Protocol v2 over gRPC (inference.GRPCInferenceService)', function () {
  let t: ServerUnderTest;
  let client: ReturnType<typeof grpcClient>;

  before(async () => {
    t = await startTestServer(async (repo) => {
      await writeModelVersion(repo, 'small', 1, buildMlpModel(SMALL_MLP), { max_batch_size: 8 });
      await writeModelVersion(
        repo,
        'identity',
        1,
        buildIdentityModel([
          { name: 'i64', elemType: OnnxElementType.INT64, dims: [2] },
          { name: 's', elemType: OnnxElementType.STRING, dims: [2] },
          { name: 'b', elemType: OnnxElementType.BOOL, dims: [2] },
        ]),
        { max_batch_size: 4 },
      );
    });
    client = grpcClient(t.grpcAddress);
  });
  after(async () => {
    client?.close();
    await t?.stop();
  });

  it('answers liveness, readiness and server metadata', async () => {
    assert.deepEqual(await client.call('ServerLive')({}), { live: true });
    assert.deepEqual(await client.call('ServerReady')({}), { ready: true });
    assert.deepEqual(await client.call('ModelReady')({ name: 'small', version: '' }), { ready: true });
    assert.deepEqual(await client.call('ModelReady')({ name: 'small', version: '2' }), { ready: false });
    assert.deepEqual(await client.call('ModelReady')({ name: 'nope', version: '' }), { ready: false });
    const meta = await client.call('ServerMetadata')({});
    assert.equal(meta.name, 'mlpipe');
    assert.ok((meta.extensions as string[]).includes('binary_tensor_data'));
  });

  it('reports model metadata and Triton ModelConfig', async () => {
    const meta = await client.call('ModelMetadata')({ name: 'small', version: '' });
    assert.deepEqual(meta, {
      name: 'small',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 3] }],
    });
    const { config } = (await client.call('ModelConfig')({ name: 'small', version: '1' })) as {
      config: { max_batch_size: number; input: Array<{ name: string; data_type: string; dims: number[] }>; dynamic_batching: unknown; scheduling_choice: string };
    };
    assert.equal(config.max_batch_size, 8);
    assert.deepEqual(
      config.input.map((i) => [i.name, i.data_type, i.dims]),
      [['input', 'TYPE_FP32', [4]]],
    );
    assert.equal(config.scheduling_choice, 'dynamic_batching');
  });

  it('infers with raw_input_contents and returns raw_output_contents', async () => {
    const res = (await client.call('ModelInfer')({
      model_name: 'small',
      id: 'g-1',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4] }],
      raw_input_contents: [floats(X)],
    })) as { model_name: string; model_version: string; id: string; outputs: Array<{ name: string; datatype: string; shape: number[] }>; raw_output_contents: Buffer[] };
    assert.equal(res.model_name, 'small');
    assert.equal(res.model_version, '1');
    assert.equal(res.id, 'g-1');
    assert.deepEqual(res.outputs, [{ name: 'probabilities', datatype: 'FP32', shape: [2, 3], parameters: {}, contents: null }]);
    assertClose(float32s(res.raw_output_contents[0]!), reference(X), 'raw_output_contents');
    const typed = (await client.call('ModelInfer')({
      model_name: 'small',
      model_version: '1',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 4], contents: { fp32_contents: X } }],
    })) as typeof res;
    assert.deepEqual(typed.raw_output_contents[0], res.raw_output_contents[0]);
  });

  it('carries INT64, BYTES and BOOL raw tensors exactly', async () => {
    const ints = Buffer.from(new BigInt64Array([2n ** 62n, -5n]).buffer);
    const strings = bytesTensor(['grüße', '']);
    const bools = Buffer.from([1, 0]);
    const res = (await client.call('ModelInfer')({
      model_name: 'identity',
      inputs: [
        { name: 'i64', datatype: 'INT64', shape: [1, 2] },
        { name: 's', datatype: 'BYTES', shape: [1, 2] },
        { name: 'b', datatype: 'BOOL', shape: [1, 2] },
      ],
      outputs: [{ name: 's_out' }, { name: 'i64_out' }, { name: 'b_out' }],
      raw_input_contents: [ints, strings, bools],
    })) as { outputs: Array<{ name: string }>; raw_output_contents: Buffer[] };
    assert.deepEqual(
      res.outputs.map((o) => o.name),
      ['s_out', 'i64_out', 'b_out'],
    );
    assert.deepEqual(res.raw_output_contents, [strings, ints, bools]);
    const viaContents = (await client.call('ModelInfer')({
      model_name: 'identity',
      inputs: [
        { name: 'i64', datatype: 'INT64', shape: [1, 2], contents: { int64_contents: [7, -7] } },
        { name: 's', datatype: 'BYTES', shape: [1, 2], contents: { bytes_contents: [Buffer.from('grüße'), Buffer.alloc(0)] } },
        { name: 'b', datatype: 'BOOL', shape: [1, 2], contents: { bool_contents: [true, false] } },
      ],
    })) as typeof res;
    assert.deepEqual(viaContents.raw_output_contents[1], strings);
    assert.deepEqual(viaContents.raw_output_contents[2], bools);
  });

  it('maps errors to gRPC status codes with the same messages as REST', async () => {
    const infer = client.call('ModelInfer');
    await rejectsWith(infer({ model_name: 'nope', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [floats([1, 2, 3, 4])] }), GrpcStatus.NOT_FOUND, /unknown model 'nope'/);
    await rejectsWith(
      infer({ model_name: 'small', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [floats([1, 2, 3])] }),
      GrpcStatus.INVALID_ARGUMENT,
      /input 'input': shape needs 16 bytes of FP32 but got 12/,
    );
    await rejectsWith(
      infer({ model_name: 'small', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [floats([1, 2, 3, 4]), floats([1])] }),
      GrpcStatus.INVALID_ARGUMENT,
      /raw_input_contents has 2 entries for 1 inputs/,
    );
    await rejectsWith(
      infer({ model_name: 'small', inputs: [{ name: 'input', datatype: 'FP16', shape: [1, 4], contents: {} }] }),
      GrpcStatus.INVALID_ARGUMENT,
      /FP16 data must be sent in raw_input_contents/,
    );
    await rejectsWith(infer({ model_name: 'small', model_version: 'latest', inputs: [] }), GrpcStatus.INVALID_ARGUMENT, /version 'latest' is not a positive integer/);
    await rejectsWith(client.call('ModelMetadata')({ name: 'small', version: '9' }), GrpcStatus.NOT_FOUND, /no version 9 being served/);
  });

  it('streams inference: one response per request in request order, errors in error_message, the stream goes on', async () => {
    const { stream, replies, ended, close } = openInferStream(t.grpcAddress);
    try {
      const row = (id: string, values: number[]) => ({
        model_name: 'small',
        id,
        inputs: [{ name: 'input', datatype: 'FP32', shape: [1, values.length] }],
        raw_input_contents: [floats(values)],
      });
      const [first, second] = distinctRows(2, SMALL_MLP.inputDim, 21);
      stream.write(row('first', first!));
      stream.write(row('bad', [1, 2, 3]));
      stream.write({ ...row('unknown', first!), model_name: 'nope' });
      stream.write(row('second', second!));
      stream.end();
      await ended;
      const byId = new Map(replies.map((r) => [r.infer_response.id, r]));
      assert.deepEqual(
        replies.map((r) => r.infer_response.id),
        ['first', 'bad', 'unknown', 'second'],
        'answers come in request order, as Triton writes them for models that are not decoupled',
      );
      assert.equal(byId.get('first')!.error_message, '');
      assert.equal(byId.get('second')!.error_message, '');
      assertClose(float32s(byId.get('first')!.infer_response.raw_output_contents[0]!), reference(first!), 'first');
      assertClose(float32s(byId.get('second')!.infer_response.raw_output_contents[0]!), reference(second!), 'second');
      assert.match(byId.get('bad')!.error_message, /shape \[1, 3\] does not match/);
      assert.match(byId.get('unknown')!.error_message, /unknown model 'nope'/);
    } finally {
      close();
    }
  });

  it('ends open streams when the server shuts down instead of waiting for their clients', async () => {
    const own = await startTestServer((repo) => writeModelVersion(repo, 'small', 1, buildMlpModel(SMALL_MLP), { max_batch_size: 8 }));
    const { stream, replies, ended, close } = openInferStream(own.grpcAddress);
    try {
      stream.write({ model_name: 'small', id: 'one', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [floats(X.slice(0, 4))] });
      await waitFor(() => replies.length === 1, 10_000, 'the first reply');
      assert.equal(replies[0]!.error_message, '');
      const started = performance.now();
      await own.stop();
      await ended;
      assert.ok(performance.now() - started < 5000, `shutdown took ${(performance.now() - started).toFixed(0)} ms with an idle stream open`);
    } finally {
      close();
    }
  });

  it('stops reading a stream while 256 of its requests are pending, and answers every request', async () => {
    const own = await startTestServer((repo) =>
      // Requests wait up to 1.5 s for a batch of 512, so the ones the server has read stay pending.
      writeModelVersion(repo, 'slow', 1, buildMlpModel(SMALL_MLP), { max_batch_size: 512, dynamic_batching: { max_queue_delay_microseconds: 1_500_000 } }),
    );
    const { stream, replies, ended, close } = openInferStream(own.grpcAddress);
    // Different rows for every request: the pending ones run as batches of up to 256, which must answer each its own.
    const rows = distinctRows(400, SMALL_MLP.inputDim, 22);
    try {
      for (let i = 0; i < 400; i++) {
        stream.write({ model_name: 'slow', id: String(i), inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [floats(rows[i]!)] });
      }
      stream.end();
      const pending = () => own.server.repository.pendingCounts().find((p) => p.model === 'slow')?.count ?? 0;
      await waitFor(() => pending() > 0, 5000, 'requests queued');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(pending(), STREAM_MAX_PENDING, 'the server stops reading at the limit');
      await ended;
      assert.deepEqual(
        replies.map((r) => r.infer_response.id),
        Array.from({ length: 400 }, (_, i) => String(i)),
      );
      assert.ok(replies.every((r) => r.error_message === ''));
      replies.forEach((r, i) => assertClose(float32s(r.infer_response.raw_output_contents[0]!), reference(rows[i]!), `request ${i}`));
    } finally {
      close();
      await own.stop();
    }
  });

  it('reports statistics and the repository index', async () => {
    const stats = (await client.call('ModelStatistics')({ name: 'small', version: '' })) as {
      model_stats: Array<{ name: string; inference_count: number; execution_count: number; inference_stats: { success: { count: number } } }>;
    };
    assert.equal(stats.model_stats[0]!.name, 'small');
    assert.ok(stats.model_stats[0]!.inference_stats.success.count >= 2);
    const index = (await client.call('RepositoryIndex')({})) as { models: Array<{ name: string; state: string }> };
    assert.deepEqual(
      index.models.map((m) => [m.name, m.state]),
      [
        ['identity', 'READY'],
        ['small', 'READY'],
      ],
    );
  });
});
