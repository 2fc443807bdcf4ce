import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import * as ort from 'onnxruntime-node';
import { buildIdentityModel, buildMlpModel, mulberry32, OnnxElementType, SMALL_MLP, writeModelVersion } from '../../bench/serving/models';
import { OIP_DATATYPES } from '../../serving/datatypes';
import { floats, grpcClient, postJson, request, startTestServer, type ServerUnderTest } from './serving-fixture';

const HTTP_REQUESTS = 3000;
const GRPC_REQUESTS = 600;
const CONCURRENCY = 16;
const X = [5.1, 3.5, 1.4, 0.2];

type Random = () => number;
const pick = <T>(r: Random, items: readonly T[]): T => items[Math.floor(r() * items.length)]!;
const int = (r: Random, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

function randomScalar(r: Random): unknown {
  return pick(r, [
    () => int(r, -5, 10),
    () => r() * 1e6 - 5e5,
    () => pick(r, [2 ** 31, -(2 ** 63), 2 ** 64, 1e308, -0, 0.5]),
    () => pick(r, ['', 'FP32', 'input', 'x'.repeat(int(r, 0, 300)), '\u0000', '😀', '{"a":']),
    () => r() < 0.5,
    () => null,
  ])();
}

function randomJson(r: Random, depth = 0): unknown {
  if (depth > 3 || r() < 0.4) return randomScalar(r);
  if (r() < 0.5) return Array.from({ length: int(r, 0, 5) }, () => randomJson(r, depth + 1));
  return Object.fromEntries(
    Array.from({ length: int(r, 0, 4) }, () => [pick(r, ['inputs', 'outputs', 'name', 'shape', 'datatype', 'data', 'parameters', 'id', 'z']), randomJson(r, depth + 1)]),
  );
}

const VALID_SMALL = () => ({
  id: 'fuzz',
  inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', data: [...X, ...X] }],
  outputs: [{ name: 'probabilities', parameters: { binary_data: false } }],
});
const VALID_IDENTITY = () => ({
  inputs: [
    { name: 's', shape: [1, 2], datatype: 'BYTES', data: ['a', 'b'] },
    { name: 'i', shape: [1, 3], datatype: 'INT32', data: [1, 2, 3] },
    { name: 'v', shape: [1, 2], datatype: 'FP16', data: [0.5, 1] },
  ],
});

/** Replaces one randomly chosen value somewhere inside `value`, or deletes a key, or duplicates an element. */
function mutate(r: Random, value: unknown): unknown {
  if (Array.isArray(value)) {
    if (value.length === 0 || r() < 0.15) return randomJson(r);
    const copy = [...value];
    const i = int(r, 0, copy.length - 1);
    if (r() < 0.15) copy.push(copy[i]);
    else if (r() < 0.15) copy.splice(i, 1);
    else copy[i] = mutate(r, copy[i]);
    return copy;
  }
  if (value && typeof value === 'object') {
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    const keys = Object.keys(copy);
    if (keys.length === 0 || r() < 0.1) return randomJson(r);
    const key = pick(r, keys);
    if (r() < 0.15) delete copy[key];
    else copy[key] = mutate(r, copy[key]);
    return copy;
  }
  return r() < 0.5 ? randomScalar(r) : randomJson(r);
}

function mutateText(r: Random, text: string): string {
  const at = int(r, 0, text.length);
  return pick(r, [
    () => text.slice(0, at),
    () => text.slice(0, at) + String.fromCharCode(int(r, 0, 255)) + text.slice(at + 1),
    () => text.slice(0, at) + text.slice(at, at + int(r, 1, 40)).repeat(int(r, 2, 5)) + text.slice(at),
    () => text.replace(/\d+/, pick(r, ['1e999', '-1', '999999999999', 'NaN', '1.5'])),
  ])();
}

interface HttpCase {
  method: string;
  path: string;
  body?: Buffer | string;
  headers?: Record<string, string>;
}

function httpCase(r: Random): HttpCase {
  const infer = pick(r, ['/v2/models/small/infer', '/v2/models/identity/infer', '/v2/models/fixed/infer', '/v2/models/small/versions/1/infer']);
  const valid = infer.includes('identity') ? VALID_IDENTITY() : VALID_SMALL();
  return pick(r, [
    (): HttpCase => ({ method: 'POST', path: infer, body: JSON.stringify(mutate(r, valid)) }),
    (): HttpCase => ({ method: 'POST', path: infer, body: JSON.stringify(mutate(r, mutate(r, valid))) }),
    (): HttpCase => ({ method: 'POST', path: infer, body: mutateText(r, JSON.stringify(valid)) }),
    (): HttpCase => ({ method: 'POST', path: infer, body: JSON.stringify(randomJson(r)) }),
    (): HttpCase => ({ method: 'POST', path: infer, body: Buffer.from(Array.from({ length: int(r, 0, 400) }, () => int(r, 0, 255))) }),
    (): HttpCase => {
      const header = mutate(r, { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }], parameters: { binary_data_output: true } });
      const json = Buffer.from(JSON.stringify(header));
      const tail = Buffer.from(Array.from({ length: pick(r, [0, 15, 16, 17, 64]) }, () => int(r, 0, 255)));
      const length = pick(r, [json.length, json.length, json.length - 1, json.length + 3, 0, 10 ** 9]);
      return { method: 'POST', path: '/v2/models/small/infer', body: Buffer.concat([json, tail]), headers: { 'Inference-Header-Content-Length': String(length) } };
    },
    (): HttpCase => {
      const valid2 = { inputs: [{ name: 's', shape: [1, 2], datatype: 'BYTES', parameters: { binary_data_size: 10 } }] };
      const raw = Buffer.from([1, 0, 0, 0, 97, 1, 0, 0, 0, 98]);
      raw[int(r, 0, raw.length - 1)] = int(r, 0, 255);
      const json = Buffer.from(JSON.stringify(r() < 0.5 ? valid2 : mutate(r, valid2)));
      return { method: 'POST', path: '/v2/models/identity/infer', body: Buffer.concat([json, raw]), headers: { 'Inference-Header-Content-Length': String(json.length) } };
    },
    (): HttpCase => ({ method: 'POST', path: pick(r, ['/v1/models/small:predict', '/v1/models/identity:predict', '/v1/models/small/labels/x:predict']), body: JSON.stringify(mutate(r, { instances: [X, X] })) }),
    (): HttpCase => ({ method: 'POST', path: '/v1/models/small:predict', body: JSON.stringify(mutate(r, { inputs: { input: [X] }, signature_name: 'serving_default' })) }),
    (): HttpCase => ({
      method: pick(r, ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH']),
      path: pick(r, ['/v2', '/v2/models/small', '/v2/models/%E0%A4%A', '/v2/models/small/versions/0/ready', '/v2/models/small/versions/99999999999999999999', '/v1/models/small/labels/%ZZ', '/metrics', '/v2/models/stats', '/v2/repository/index', '/v1/models/a:b:c', '/' + 'x/'.repeat(int(r, 1, 50))]),
      body: r() < 0.5 ? undefined : JSON.stringify(randomJson(r)),
    }),
    (): HttpCase => ({ method: 'POST', path: infer, body: 'x'.repeat(pick(r, [70_000, 200_000])) }),
  ])();
}

function grpcCase(r: Random): Record<string, unknown> {
  const valid = { model_name: 'small', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [floats(X)] };
  return pick(r, [
    () => ({ ...valid, inputs: [{ name: 'input', datatype: pick(r, [...OIP_DATATYPES, 'fp32', '']), shape: [int(r, 0, 3), int(r, 0, 5)] }] }),
    () => ({ ...valid, raw_input_contents: [Buffer.from(Array.from({ length: int(r, 0, 40) }, () => int(r, 0, 255)))] }),
    () => ({ ...valid, raw_input_contents: [] }),
    () => ({ ...valid, inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: Array.from({ length: int(r, 0, 6) }, () => r()) } }], raw_input_contents: [] }),
    () => ({ ...valid, model_version: pick(r, ['0', '-1', 'x', '2', '1', '99999999999999999999']) }),
    () => ({ ...valid, model_name: pick(r, ['', 'nope', 'identity', 'fixed']) }),
    () => ({ ...valid, parameters: { timeout: pick(r, [{ int64_param: -5 }, { string_param: 'soon' }, { int64_param: 10 }]) } }),
    () => ({ ...valid, outputs: [{ name: pick(r, ['probabilities', 'nope', '']) }, { name: 'probabilities' }] }),
    () => ({ model_name: 'identity', inputs: [{ name: 's', datatype: 'BYTES', shape: [1, 2], contents: { bytes_contents: [Buffer.from([0xff, 0xfe]), Buffer.alloc(0)] } }], raw_input_contents: [] }),
  ])();
}

async function inParallel<T>(count: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await fn(i);
      }
    }),
  );
  return results;
}

describe('serving: fuzzing with thousands of random and mutated requests', function () {
  let t: ServerUnderTest;
  let expected: number[];

  before(async () => {
    const session = await ort.InferenceSession.create(buildMlpModel(SMALL_MLP));
    expected = [...((await session.run({ input: new ort.Tensor('float32', new Float32Array(X), [1, 4]) })).probabilities!.data as Float32Array)];
    t = await startTestServer(
      async (repo) => {
        await writeModelVersion(repo, 'small', 1, buildMlpModel(SMALL_MLP), { max_batch_size: 8, dynamic_batching: { max_queue_delay_microseconds: 100 } });
        await writeModelVersion(
          repo,
          'identity',
          1,
          buildIdentityModel([
            { name: 's', elemType: OnnxElementType.STRING, dims: [2] },
            { name: 'i', elemType: OnnxElementType.INT32, dims: ['n'] },
            { name: 'v', elemType: OnnxElementType.FLOAT16, dims: [2] },
          ]),
          { max_batch_size: 4 },
        );
        await writeModelVersion(repo, 'fixed', 1, buildMlpModel(SMALL_MLP), { max_batch_size: 0 });
      },
      { maxRequestBytes: 64 * 1024 },
    );
  });
  after(() => t?.stop());

  it('never fails with a server error, and still answers correctly afterwards', async () => {
    const r = mulberry32(20240611);
    const cases = Array.from({ length: HTTP_REQUESTS }, () => httpCase(r));
    const statuses = await inParallel(cases.length, async (i) => {
      const c = cases[i]!;
      const reply = await request(`${t.http}${c.path}`, {
        method: c.method,
        ...(c.body !== undefined && c.method !== 'GET' && c.method !== 'HEAD' ? { body: c.body } : {}),
        ...(c.headers ? { headers: c.headers } : {}),
      });
      if (reply.status >= 500) throw new Error(`${c.method} ${c.path} -> ${reply.status} ${reply.body.toString().slice(0, 300)}\nbody: ${String(c.body).slice(0, 300)}`);
      if (reply.status >= 400 && c.method !== 'HEAD') {
        const error = (reply.json as { error?: unknown } | undefined)?.error;
        assert.equal(typeof error, 'string', `${c.method} ${c.path} -> ${reply.status} without {"error"}: ${reply.body.toString().slice(0, 200)}`);
      }
      return reply.status;
    });
    const byStatus = new Map<number, number>();
    for (const s of statuses) byStatus.set(s, (byStatus.get(s) ?? 0) + 1);
    assert.ok((byStatus.get(400) ?? 0) > HTTP_REQUESTS / 4, `mostly rejected as bad requests: ${JSON.stringify([...byStatus])}`);
    assert.ok((byStatus.get(200) ?? 0) > 0, 'some mutations stay valid');

    const client = grpcClient(t.grpcAddress);
    const grpcCases = Array.from({ length: GRPC_REQUESTS }, () => grpcCase(r));
    const codes = await inParallel(grpcCases.length, async (i) => {
      try {
        await client.call('ModelInfer')(grpcCases[i]!);
        return 0;
      } catch (err) {
        const code = (err as grpc.ServiceError).code;
        if (code === grpc.status.INTERNAL || code === grpc.status.UNKNOWN || code === grpc.status.UNAVAILABLE) {
          throw new Error(`gRPC ${JSON.stringify(grpcCases[i])} -> ${code} ${(err as grpc.ServiceError).details}`);
        }
        return code;
      }
    });
    assert.ok(codes.includes(grpc.status.INVALID_ARGUMENT));
    // Bytes that are not a ModelInferRequest at all: grpc-js rejects them before the service sees them.
    const raw = new grpc.Client(t.grpcAddress, grpc.credentials.createInsecure());
    for (let i = 0; i < 50; i++) {
      const garbage = Buffer.from(Array.from({ length: int(r, 1, 64) }, () => int(r, 0, 255)));
      await new Promise<void>((resolve) =>
        raw.makeUnaryRequest('/inference.GRPCInferenceService/ModelInfer', (b: Buffer) => b, (b: Buffer) => b, garbage, () => resolve()),
      );
    }
    raw.close();

    const after = await postJson(`${t.http}/v2/models/small/infer`, { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: X }] });
    assert.equal(after.status, 200);
    const data = (after.json as { outputs: Array<{ data: number[] }> }).outputs[0]!.data;
    data.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-6));
    const viaGrpc = await client.call('ModelInfer')({ model_name: 'small', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [floats(X)] });
    assert.equal(viaGrpc.model_name, 'small');
    client.close();
    assert.equal((await request(`${t.http}/v2/health/ready`)).status, 200);
    assert.equal((await request(`${t.http}/metrics`)).status, 200);
    assert.ok(t.server.repository.pendingCounts().every((p) => p.count === 0), 'nothing is left queued');
  });
});
