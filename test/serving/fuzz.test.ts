import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { buildIdentityModel, buildMlpModel, mulberry32, OnnxElementType, SMALL_MLP, writeModelVersion } from '../../bench/serving/models';
import { OIP_DATATYPES } from '../../serving/datatypes';
import { assertClose, float32s, mlpReference } from './mlp-reference';
import { floats, grpcClient, postJson, request, splitBinaryResponse, startTestServer, type HttpReply, type ServerUnderTest } from './serving-fixture';

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

/** Every valid request carries rows of its own, so an answer that went to the wrong request shows. */
const randomRow = (r: Random) => Array.from({ length: 4 }, () => Math.round((r() * 8 - 2) * 100) / 100);
const VALID_SMALL = (r: Random) => ({
  id: 'fuzz',
  inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', data: [...randomRow(r), ...randomRow(r)] }],
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
  const valid = infer.includes('identity') ? VALID_IDENTITY() : VALID_SMALL(r);
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
    (): HttpCase => ({ method: 'POST', path: pick(r, ['/v1/models/small:predict', '/v1/models/identity:predict', '/v1/models/small/labels/x:predict']), body: JSON.stringify(mutate(r, { instances: [randomRow(r), randomRow(r)] })) }),
    (): HttpCase => ({ method: 'POST', path: '/v1/models/small:predict', body: JSON.stringify(mutate(r, { inputs: { input: [randomRow(r)] }, signature_name: 'serving_default' })) }),
    (): HttpCase => ({
      method: pick(r, ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH']),
      path: pick(r, ['/v2', '/v2/models/small', '/v2/models/%E0%A4%A', '/v2/models/small/versions/0/ready', '/v2/models/small/versions/99999999999999999999', '/v1/models/small/labels/%ZZ', '/metrics', '/v2/models/stats', '/v2/repository/index', '/v1/models/a:b:c', '/' + 'x/'.repeat(int(r, 1, 50))]),
      body: r() < 0.5 ? undefined : JSON.stringify(randomJson(r)),
    }),
    (): HttpCase => ({ method: 'POST', path: infer, body: 'x'.repeat(pick(r, [70_000, 200_000])) }),
  ])();
}

function grpcCase(r: Random): Record<string, unknown> {
  const valid = { model_name: 'small', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [floats(randomRow(r))] };
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

const reference = mlpReference(SMALL_MLP);
type Json = Record<string, unknown>;
interface AnswerTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
}

/** The JSON of a request as the server reads it, and the binary tensor bytes after it. */
function sentBody(c: HttpCase): { json: Json; binary: Buffer } {
  const body = Buffer.from(c.body!);
  const header = c.headers?.['Inference-Header-Content-Length'];
  const length = header === undefined ? body.length : Number(header);
  return { json: JSON.parse(body.subarray(0, length).toString('utf8')) as Json, binary: body.subarray(length) };
}

/** BYTES elements as the binary extension lays them out: a 4-byte little-endian length before each. */
function bytesElements(raw: Buffer): string[] {
  const out: string[] = [];
  for (let at = 0; at < raw.length; at += 4 + raw.readUInt32LE(at)) out.push(raw.toString('utf8', at + 4, at + 4 + raw.readUInt32LE(at)));
  return out;
}

/** The outputs of a v2 answer, those sent as binary data decoded from the bytes after the JSON header. */
function answerTensors(reply: HttpReply): AnswerTensor[] {
  if (!reply.headers.get('inference-header-content-length')) return (reply.json as { outputs: AnswerTensor[] }).outputs;
  const { header, rest } = splitBinaryResponse(reply);
  let offset = 0;
  return (header.outputs as unknown as Array<AnswerTensor & { parameters?: { binary_data_size?: number } }>).map((o) => {
    const size = o.parameters?.binary_data_size;
    if (size === undefined) return o;
    const raw = rest.subarray(offset, (offset += size));
    return { ...o, data: o.datatype === 'BYTES' ? bytesElements(raw) : float32s(raw) };
  });
}

/** How many outputs a request to the MLP asks for: naming none, or an empty list, asks for its one output. */
const requestedOutputs = (outputs: unknown): number => (Array.isArray(outputs) && outputs.length > 0 ? outputs.length : 1);

function checkMlpOutputs(outputs: AnswerTensor[], requested: number, values: number[], what: string): void {
  assert.equal(outputs.length, requested, `${what}: ${outputs.length} outputs for ${requested} asked for`);
  for (const o of outputs) {
    assert.equal(o.name, 'probabilities', what);
    assert.deepEqual(o.shape, [values.length / SMALL_MLP.inputDim, SMALL_MLP.outputDim], what);
    assertClose(o.data as number[], reference(values), what);
  }
}

const flat = (data: unknown): unknown[] => (Array.isArray(data) ? data.flat(Infinity) : [data]);

/**
 * Checks a 200 answer to an inference request against the request as sent: the MLP's outputs for
 * exactly its rows, or for the identity model its inputs back. Returns false for answers that are
 * not inferences; fails on an inference answer it cannot read, so that none goes unchecked.
 */
function checkHttpAnswer(c: HttpCase, reply: HttpReply): boolean {
  if (c.method !== 'POST') return false;
  const what = `${c.path} ${String(c.body).slice(0, 300)}`;
  if (/^\/v2\/models\/(small|fixed)(\/versions\/1)?\/infer$/.test(c.path)) {
    const { json, binary } = sentBody(c);
    const input = (json.inputs as Json[]).find((i) => i.name === 'input')!;
    const values = input.data !== undefined ? (flat(input.data) as number[]) : float32s(binary.subarray(0, (input.parameters as { binary_data_size: number }).binary_data_size));
    checkMlpOutputs(answerTensors(reply), requestedOutputs(json.outputs), values, what);
    return true;
  }
  if (c.path === '/v2/models/identity/infer') {
    const { json, binary } = sentBody(c);
    const outputs = answerTensors(reply);
    let offset = 0;
    for (const input of json.inputs as Array<Json & { name: string; datatype: string; parameters?: { binary_data_size?: number } }>) {
      const size = input.parameters?.binary_data_size;
      const sent = size === undefined ? flat(input.data) : bytesElements(binary.subarray(offset, (offset += size)));
      const out = outputs.find((o) => o.name === `${input.name}_out`);
      assert.ok(out, `${what}: no output ${input.name}_out`);
      assert.deepEqual(out.shape, input.shape, what);
      if (input.datatype === 'FP16') assertClose(out.data as number[], sent as number[], `${what}: ${out.name}`, 1e-3);
      else assert.deepEqual(out.data, sent, `${what}: ${out.name}`);
    }
    return true;
  }
  if (c.path === '/v1/models/small:predict') {
    const json = JSON.parse(String(c.body)) as Json;
    const answer = reply.json as { predictions?: unknown[]; outputs?: unknown[] };
    const sent = json.instances !== undefined ? json.instances : Array.isArray(json.inputs) ? json.inputs : (json.inputs as Json).input;
    const values = flat((sent as unknown[]).map((x) => (Array.isArray(x) ? x : (x as Json).input))) as number[];
    assertClose(flat(json.instances !== undefined ? answer.predictions : answer.outputs) as number[], reference(values), what);
    return true;
  }
  if (c.path.endsWith('/infer') || c.path.endsWith(':predict')) assert.fail(`an inference answer the test does not read: ${what} -> ${reply.body.toString().slice(0, 300)}`);
  return false;
}

/** The same for a gRPC ModelInfer answer. */
function checkGrpcAnswer(req: Json, res: Json): void {
  const what = JSON.stringify(req).slice(0, 300);
  const contents = res.raw_output_contents as Buffer[];
  if (req.model_name === 'identity') {
    const sent = ((req.inputs as Json[])[0]!.contents as { bytes_contents: Buffer[] }).bytes_contents;
    assert.deepEqual(bytesElements(contents[0]!), sent.map((b) => b.toString('utf8')), what);
    return;
  }
  const input = (req.inputs as Json[])[0]!;
  const raw = req.raw_input_contents as Buffer[];
  const values = raw.length > 0 ? float32s(raw[0]!) : (input.contents as { fp32_contents: number[] }).fp32_contents;
  const outputs = (res.outputs as AnswerTensor[]).map((o, i) => ({ ...o, data: float32s(contents[i]!) }));
  checkMlpOutputs(outputs, requestedOutputs(req.outputs), values, what);
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

  before(async () => {
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

  it('never fails with a server error, answers what stays valid correctly, and still answers correctly afterwards', async () => {
    const r = mulberry32(20240611);
    const cases = Array.from({ length: HTTP_REQUESTS }, () => httpCase(r));
    let checked = 0;
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
      if (reply.status === 200 && checkHttpAnswer(c, reply)) checked++;
      return reply.status;
    });
    const byStatus = new Map<number, number>();
    for (const s of statuses) byStatus.set(s, (byStatus.get(s) ?? 0) + 1);
    assert.ok((byStatus.get(400) ?? 0) > HTTP_REQUESTS / 4, `mostly rejected as bad requests: ${JSON.stringify([...byStatus])}`);
    assert.ok(checked > 50, `only ${checked} inference answers to check`);

    const client = grpcClient(t.grpcAddress);
    const grpcCases = Array.from({ length: GRPC_REQUESTS }, () => grpcCase(r));
    const codes = await inParallel(grpcCases.length, async (i) => {
      let res: Record<string, unknown>;
      try {
        res = await client.call('ModelInfer')(grpcCases[i]!);
      } catch (err) {
        const code = (err as grpc.ServiceError).code;
        if (code === grpc.status.INTERNAL || code === grpc.status.UNKNOWN || code === grpc.status.UNAVAILABLE) {
          throw new Error(`gRPC ${JSON.stringify(grpcCases[i])} -> ${code} ${(err as grpc.ServiceError).details}`);
        }
        return code;
      }
      checkGrpcAnswer(grpcCases[i]!, res);
      return 0;
    });
    assert.ok(codes.includes(grpc.status.INVALID_ARGUMENT));
    assert.ok(codes.filter((c) => c === 0).length > 20, 'some gRPC requests stay valid, and their answers were checked');
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
    assertClose((after.json as { outputs: Array<{ data: number[] }> }).outputs[0]!.data, reference(X), 'REST after the fuzzing');
    const viaGrpc = (await client.call('ModelInfer')({ model_name: 'small', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [floats(X)] })) as {
      raw_output_contents: Buffer[];
    };
    assertClose(float32s(viaGrpc.raw_output_contents[0]!), reference(X), 'gRPC after the fuzzing');
    client.close();
    assert.equal((await request(`${t.http}/v2/health/ready`)).status, 200);
    assert.equal((await request(`${t.http}/metrics`)).status, 200);
    assert.ok(t.server.repository.pendingCounts().every((p) => p.count === 0), 'nothing is left queued');
  });
});
