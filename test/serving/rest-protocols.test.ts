import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { buildIdentityModel, buildMlpModel, OnnxElementType, SMALL_MLP, writeModelVersion } from '../../bench/serving/models';
import { assertClose, float32s, mlpReference } from './mlp-reference';
import { binaryBody, floats, postJson, request, splitBinaryResponse, startTestServer, type ServerUnderTest } from './serving-fixture';

const ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
];

/** Every element type onnxruntime-node carries, with values at the edges of each type. */
const TYPES = [
  { name: 'b', datatype: 'BOOL', elem: OnnxElementType.BOOL, data: [true, false] },
  { name: 'u8', datatype: 'UINT8', elem: OnnxElementType.UINT8, data: [0, 255] },
  { name: 'u16', datatype: 'UINT16', elem: OnnxElementType.UINT16, data: [1, 65535] },
  { name: 'u32', datatype: 'UINT32', elem: OnnxElementType.UINT32, data: [2, 4294967295] },
  { name: 'u64', datatype: 'UINT64', elem: OnnxElementType.UINT64, data: [3, 2 ** 52] },
  { name: 'i8', datatype: 'INT8', elem: OnnxElementType.INT8, data: [-128, 127] },
  { name: 'i16', datatype: 'INT16', elem: OnnxElementType.INT16, data: [-32768, 32767] },
  { name: 'i32', datatype: 'INT32', elem: OnnxElementType.INT32, data: [-2147483648, 2147483647] },
  { name: 'i64', datatype: 'INT64', elem: OnnxElementType.INT64, data: [-(2 ** 52), 2 ** 52] },
  { name: 'h', datatype: 'FP16', elem: OnnxElementType.FLOAT16, data: [0.5, -1024] },
  { name: 'f', datatype: 'FP32', elem: OnnxElementType.FLOAT, data: [1.5, -0.25] },
  { name: 'd', datatype: 'FP64', elem: OnnxElementType.DOUBLE, data: [0.1, -1e300] },
  { name: 's', datatype: 'BYTES', elem: OnnxElementType.STRING, data: ['héllo wörld', ''] },
] as const;

describe('serving: Open Inference Protocol v2 and TF Serving over REST', function () {
  let t: ServerUnderTest;
  const expected = mlpReference(SMALL_MLP)(ROWS.flat());

  before(async () => {
    t = await startTestServer(async (repo) => {
      await writeModelVersion(repo, 'small', 1, buildMlpModel(SMALL_MLP), {
        max_batch_size: 8,
        dynamic_batching: {},
        version_labels: { stable: 1 },
      });
      await writeModelVersion(repo, 'identity', 1, buildIdentityModel(TYPES.map((x) => ({ name: x.name, elemType: x.elem, dims: [2] }))), {
        max_batch_size: 8,
      });
    }, { maxRequestBytes: 64 * 1024 });
  });
  after(() => t?.stop());

  it('answers health, server metadata with extensions, model metadata and readiness', async () => {
    assert.equal((await request(`${t.http}/v2/health/live`)).status, 200);
    assert.equal((await request(`${t.http}/v2/health/ready`)).status, 200);
    const meta = await request(`${t.http}/v2`);
    assert.equal((meta.json as { name: string }).name, 'mlpipe');
    assert.ok((meta.json as { extensions: string[] }).extensions.includes('binary_tensor_data'));
    assert.ok((meta.json as { extensions: string[] }).extensions.includes('classification'));
    const model = await request(`${t.http}/v2/models/small`);
    assert.deepEqual(model.json, {
      name: 'small',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 3] }],
    });
    assert.equal((await request(`${t.http}/v2/models/small/versions/1`)).status, 200);
    assert.equal((await request(`${t.http}/v2/models/small/ready`)).status, 200);
    assert.equal((await request(`${t.http}/v2/models/small/versions/1/ready`)).status, 200);
  });

  it('reports the model configuration the way perf_analyzer reads it', async () => {
    const config = (await request(`${t.http}/v2/models/small/config`)).json as Record<string, unknown>;
    assert.equal(config.max_batch_size, 8);
    assert.deepEqual(config.input, [{ name: 'input', data_type: 'TYPE_FP32', dims: [4] }]);
    assert.deepEqual(config.output, [{ name: 'probabilities', data_type: 'TYPE_FP32', dims: [3] }]);
    assert.ok(config.dynamic_batching);
  });

  it('infers with JSON tensors, flat or nested, and echoes the request id', async () => {
    const flat = await postJson(`${t.http}/v2/models/small/infer`, {
      id: 'req-7',
      inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', data: ROWS.flat() }],
    });
    assert.equal(flat.status, 200);
    const body = flat.json as { model_name: string; model_version: string; id: string; outputs: Array<{ name: string; shape: number[]; datatype: string; data: number[] }> };
    assert.equal(body.model_name, 'small');
    assert.equal(body.model_version, '1');
    assert.equal(body.id, 'req-7');
    assert.equal(body.outputs[0]!.datatype, 'FP32');
    assert.deepEqual(body.outputs[0]!.shape, [2, 3]);
    assertClose(body.outputs[0]!.data, expected, 'flat JSON data');
    const nested = await postJson(`${t.http}/v2/models/small/versions/1/infer`, {
      inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', data: ROWS }],
    });
    assertClose((nested.json as typeof body).outputs[0]!.data, expected, 'nested JSON data');
    const emptyOutputs = await postJson(`${t.http}/v2/models/small/infer`, {
      inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', data: ROWS.flat() }],
      outputs: [],
    });
    assert.deepEqual(
      (emptyOutputs.json as typeof body).outputs.map((o) => o.name),
      ['probabilities'],
      'an empty outputs list asks for every output, as in Triton and over gRPC',
    );
  });

  it('round-trips every datatype as JSON tensors', async () => {
    const reply = await postJson(`${t.http}/v2/models/identity/infer`, {
      inputs: TYPES.map((x) => ({ name: x.name, shape: [1, 2], datatype: x.datatype, data: x.data })),
    });
    assert.equal(reply.status, 200, reply.body.toString());
    const outputs = (reply.json as { outputs: Array<{ name: string; datatype: string; data: unknown[] }> }).outputs;
    for (const x of TYPES) {
      const out = outputs.find((o) => o.name === `${x.name}_out`)!;
      assert.equal(out.datatype, x.datatype);
      assert.deepEqual(out.data, x.data, x.datatype);
    }
  });

  it('round-trips every datatype through the binary tensor extension', async () => {
    const json = await postJson(`${t.http}/v2/models/identity/infer`, {
      inputs: TYPES.map((x) => ({ name: x.name, shape: [1, 2], datatype: x.datatype, data: x.data })),
      parameters: { binary_data_output: true },
    });
    const { header, rest } = splitBinaryResponse(json);
    assert.equal(json.headers.get('content-type'), 'application/octet-stream');
    // Send the raw bytes the server produced back as binary inputs: they must come back identical.
    let offset = 0;
    const raws = header.outputs.map((o) => {
      const size = (o.parameters as { binary_data_size: number }).binary_data_size;
      const raw = rest.subarray(offset, offset + size);
      offset += size;
      return raw;
    });
    assert.equal(offset, rest.length);
    const { body, headers } = binaryBody(
      {
        inputs: TYPES.map((x, i) => ({ name: x.name, shape: [1, 2], datatype: x.datatype, parameters: { binary_data_size: raws[i]!.length } })),
        outputs: TYPES.map((x) => ({ name: `${x.name}_out`, parameters: { binary_data: x.datatype === 'BYTES' } })),
      },
      raws,
    );
    const reply = await request(`${t.http}/v2/models/identity/infer`, { method: 'POST', body, headers });
    assert.equal(reply.status, 200, reply.body.toString());
    const split = splitBinaryResponse(reply);
    const bytesOut = split.header.outputs.find((o) => o.name === 's_out')!;
    assert.deepEqual(split.rest, raws[TYPES.findIndex((x) => x.name === 's')]);
    assert.equal((bytesOut.parameters as { binary_data_size: number }).binary_data_size, split.rest.length);
    for (const x of TYPES.filter((y) => y.datatype !== 'BYTES')) {
      assert.deepEqual(split.header.outputs.find((o) => o.name === `${x.name}_out`)!.data, x.data, x.datatype);
    }
    const stringRaw = raws[TYPES.findIndex((x) => x.name === 's')]!;
    assert.equal(stringRaw.readUInt32LE(0), Buffer.byteLength('héllo wörld'));
  });

  it('takes binary FP32 input and returns JSON unless binary output is asked for', async () => {
    const { body, headers } = binaryBody(
      { inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', parameters: { binary_data_size: 32 } }] },
      [floats(ROWS.flat())],
    );
    const reply = await request(`${t.http}/v2/models/small/infer`, { method: 'POST', body, headers });
    assert.equal(reply.status, 200);
    assertClose((reply.json as { outputs: Array<{ data: number[] }> }).outputs[0]!.data, expected, 'binary input');
    const binaryOut = binaryBody(
      {
        inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', parameters: { binary_data_size: 32 } }],
        outputs: [{ name: 'probabilities', parameters: { binary_data: true } }],
      },
      [floats(ROWS.flat())],
    );
    const bin = await request(`${t.http}/v2/models/small/infer`, { method: 'POST', ...binaryOut });
    const { rest } = splitBinaryResponse(bin);
    assertClose(float32s(rest), expected, 'binary output');
  });

  it('accepts gzip-compressed request bodies', async () => {
    const body = gzipSync(JSON.stringify({ inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP32', data: ROWS.flat() }] }));
    const reply = await request(`${t.http}/v2/models/small/infer`, { method: 'POST', body, headers: { 'Content-Encoding': 'gzip' } });
    assertClose((reply.json as { outputs: Array<{ data: number[] }> }).outputs[0]!.data, expected, 'gzip body');
  });

  it('answers bad requests with a 4xx {"error"} naming the problem', async () => {
    const infer = (body: unknown, headers?: Record<string, string>) => postJson(`${t.http}/v2/models/small/infer`, body, headers);
    const cases: Array<[Promise<{ status: number; json: unknown }>, number, RegExp]> = [
      [infer('{"inputs": ['), 400, /request body is not valid JSON/],
      [infer({ inputs: [] }), 400, /field inputs: expected at least one input/],
      [infer({ inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32' }] }), 400, /input 'input': has neither data nor parameters\.binary_data_size/],
      [infer({ inputs: [{ name: 'input', shape: [1, 4], datatype: 'INT32', data: [1, 2, 3, 4] }] }), 400, /input 'input': datatype INT32, but model 'small' expects FP32/],
      [infer({ inputs: [{ name: 'input', shape: [1, 5], datatype: 'FP32', data: [1, 2, 3, 4, 5] }] }), 400, /shape \[1, 5\] does not match model 'small' shape \[-1, 4\]/],
      [infer({ inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3] }] }), 400, /shape needs 4 elements but data has 3/],
      [infer({ inputs: [{ name: 'input', shape: [9, 4], datatype: 'FP32', data: new Array(36).fill(0) }] }), 400, /batch size 9 exceeds max_batch_size 8/],
      [infer({ inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }), 400, /model 'small' has no input 'x'/],
      [infer({ inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP99', data: [1, 2, 3, 4] }] }), 400, /unknown datatype 'FP99'/],
      [infer({ inputs: [{ name: 'input', shape: [1, 4], datatype: 'BF16', data: [1, 2, 3, 4] }] }), 400, /BF16 is not supported by onnxruntime-node/],
      [infer({ inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }], outputs: [{ name: 'logits' }] }), 400, /has no output 'logits'/],
      [infer({ inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }] }), 400, /no Inference-Header-Content-Length header/],
      [infer('{}', { 'Inference-Header-Content-Length': '99' }), 400, /Inference-Header-Content-Length 99 exceeds the body length 2/],
      [
        request(`${t.http}/v2/models/small/infer`, {
          method: 'POST',
          ...binaryBody({ inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }] }, [Buffer.alloc(2)]),
        }),
        400,
        /binary_data_size 16 runs past the end of the body \(2 bytes left\)/,
      ],
      [
        request(`${t.http}/v2/models/small/infer`, {
          method: 'POST',
          ...binaryBody({ inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }] }, [Buffer.alloc(20)]),
        }),
        400,
        /4 bytes follow the last binary input/,
      ],
      [postJson(`${t.http}/v2/models/nope/infer`, { inputs: [] }), 404, /unknown model 'nope'/],
      [postJson(`${t.http}/v2/models/small/versions/3/infer`, { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }), 404, /model 'small' has no version 3 being served \(serving: 1\)/],
      [postJson(`${t.http}/v2/models/small/versions/x/infer`, {}), 400, /version 'x' is not a positive integer/],
      [request(`${t.http}/v2/models/small/infer`), 405, /GET is not allowed on \/v2\/models\/small\/infer; use POST/],
      [request(`${t.http}/v3/anything`), 404, /no route for GET \/v3\/anything/],
      [infer('x'.repeat(70 * 1024)), 413, /exceeds the limit of 65536 bytes/],
    ];
    for (const [pending, status, pattern] of cases) {
      const reply = await pending;
      assert.equal(reply.status, status, JSON.stringify(reply.json));
      assert.match((reply.json as { error: string }).error, pattern);
    }
  });

  it('serves TF Serving predict in row and columnar form, by version and by label', async () => {
    const row = await postJson(`${t.http}/v1/models/small:predict`, { instances: ROWS });
    assert.equal(row.status, 200, row.body.toString());
    const predictions = (row.json as { predictions: number[][] }).predictions;
    assert.equal(predictions.length, 2);
    assertClose(predictions.flat(), expected, 'TF Serving rows');
    const named = await postJson(`${t.http}/v1/models/small/versions/1:predict`, { signature_name: 'serving_default', instances: ROWS.map((r) => ({ input: r })) });
    assertClose((named.json as { predictions: number[][] }).predictions.flat(), expected, 'TF Serving named inputs');
    const columnar = await postJson(`${t.http}/v1/models/small/labels/stable:predict`, { inputs: ROWS });
    const outputs = (columnar.json as { outputs: number[][] }).outputs;
    assert.equal(outputs.length, 2);
    assertClose(outputs.flat(), expected, 'TF Serving columnar');
    const multi = await postJson(`${t.http}/v1/models/identity:predict`, {
      inputs: Object.fromEntries(TYPES.map((x) => [x.name, [x.data]])),
    });
    assert.equal(multi.status, 200, multi.body.toString());
    const byName = (multi.json as { outputs: Record<string, unknown[][]> }).outputs;
    for (const x of TYPES) assert.deepEqual(byName[`${x.name}_out`], [x.data], x.datatype);
    const b64 = await postJson(`${t.http}/v1/models/identity:predict`, {
      instances: [Object.fromEntries(TYPES.map((x) => [x.name, x.datatype === 'BYTES' ? [{ b64: Buffer.from('hé').toString('base64') }, 'x'] : x.data]))],
    });
    assert.deepEqual((b64.json as { predictions: Array<Record<string, unknown>> }).predictions[0]!['s_out'], ['hé', 'x']);
  });

  it('reports TF Serving model status and metadata, and names TF Serving request errors', async () => {
    const status = await request(`${t.http}/v1/models/small`);
    assert.deepEqual(status.json, { model_version_status: [{ version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }] });
    assert.equal((await request(`${t.http}/v1/models/small/labels/stable`)).status, 200);
    assert.equal((await request(`${t.http}/v1/models/small/versions/2`)).status, 404);
    const meta = (await request(`${t.http}/v1/models/small/metadata`)).json as {
      metadata: { signature_def: { signature_def: { serving_default: { inputs: Record<string, { dtype: string }> } } } };
    };
    assert.equal(meta.metadata.signature_def.signature_def.serving_default.inputs['input']!.dtype, 'DT_FLOAT');
    const cases: Array<[Promise<{ status: number; json: unknown }>, number, RegExp]> = [
      [postJson(`${t.http}/v1/models/small:predict`, { instances: [[1, 2, 3, 4], [1, 2]] }), 400, /instances\[1\]\.input: shape \[2\] differs from instances\[0\]'s \[4\]/],
      [postJson(`${t.http}/v1/models/small:predict`, { instances: [[[1, 2], [3]]] }), 400, /ragged list/],
      [postJson(`${t.http}/v1/models/small:predict`, { instances: ROWS, inputs: ROWS }), 400, /exactly one of "instances" \(row format\) or "inputs"/],
      [postJson(`${t.http}/v1/models/small:predict`, { instances: [] }), 400, /"instances" is empty/],
      [postJson(`${t.http}/v1/models/small:predict`, { signature_name: 'classify', instances: ROWS }), 400, /unknown signature_name 'classify'/],
      [postJson(`${t.http}/v1/models/small/labels/canary:predict`, { instances: ROWS }), 404, /no version label 'canary'/],
      [postJson(`${t.http}/v1/models/identity:predict`, { instances: [[1, 2]] }), 400, /each instance must be an object keyed by input name/],
      [postJson(`${t.http}/v1/models/small:classify`, { instances: ROWS }), 400, /:classify is not supported/],
      [postJson(`${t.http}/v1/models/nope:predict`, { instances: ROWS }), 404, /unknown model 'nope'/],
    ];
    for (const [pending, code, pattern] of cases) {
      const reply = await pending;
      assert.equal(reply.status, code, JSON.stringify(reply.json));
      assert.match((reply.json as { error: string }).error, pattern);
    }
  });

  it('reports per-version statistics and the repository index', async () => {
    const stats = (await request(`${t.http}/v2/models/small/stats`)).json as {
      model_stats: Array<{ name: string; version: string; inference_count: number; execution_count: number; inference_stats: { success: { count: number } } }>;
    };
    assert.equal(stats.model_stats[0]!.name, 'small');
    assert.ok(stats.model_stats[0]!.inference_stats.success.count > 0);
    assert.ok(stats.model_stats[0]!.inference_count >= stats.model_stats[0]!.inference_stats.success.count);
    const all = (await request(`${t.http}/v2/models/stats`)).json as { model_stats: unknown[] };
    assert.equal(all.model_stats.length, 2);
    const index = await request(`${t.http}/v2/repository/index`, { method: 'POST' });
    assert.deepEqual(index.json, [
      { name: 'identity', version: '1', state: 'READY', reason: '' },
      { name: 'small', version: '1', state: 'READY', reason: '' },
    ]);
  });
});
