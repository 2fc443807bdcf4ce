import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseTextProto, printTextProto, type TextProtoObject } from '../../artifacts/text-proto';
import { buildIdentityModel, OnnxElementType, writeModelVersion } from '../../bench/serving/models';
import { ModelConfigError, parseModelConfig, tritonModelConfigType } from '../../serving/model-config';
import { postJson, request, startTestServer } from './serving-fixture';

const FIXTURES = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'triton-configs');

function fixture(model: string): string {
  return readFileSync(path.join(FIXTURES, model, 'config.pbtxt'), 'utf8');
}

function readTriton(model: string): TextProtoObject {
  return parseTextProto(fixture(model), tritonModelConfigType(), 'config.pbtxt').value;
}

function rejects(model: string, text: string, expected: RegExp): void {
  assert.throws(
    () => parseModelConfig(model, text, 'config.pbtxt'),
    (err: unknown) => {
      assert.ok(err instanceof ModelConfigError, `expected a ModelConfigError, got ${String(err)}`);
      assert.match(err.message, expected);
      return true;
    },
  );
}

const tensor = (name: string, dataType: string, dims: string[]) => ({ name, data_type: dataType, dims });

describe('serving: Triton config.pbtxt', () => {
  it("reads Triton's own example configs with their values", () => {
    const models = readdirSync(FIXTURES, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    assert.equal(models.length, 10);
    const read = new Map(models.map((m) => [m, readTriton(m)]));
    assert.deepEqual(read.get('simple'), {
      name: 'simple',
      platform: 'onnxruntime_onnx',
      max_batch_size: 8,
      input: [tensor('INPUT0', 'TYPE_INT32', ['16']), tensor('INPUT1', 'TYPE_INT32', ['16'])],
      output: [tensor('OUTPUT0', 'TYPE_INT32', ['16']), tensor('OUTPUT1', 'TYPE_INT32', ['16'])],
    });
    assert.deepEqual(read.get('simple_string')!.input, [tensor('INPUT0', 'TYPE_STRING', ['16']), tensor('INPUT1', 'TYPE_STRING', ['16'])]);
    assert.deepEqual(read.get('densenet_onnx')!.input, [
      { name: 'data_0', data_type: 'TYPE_FP32', format: 'FORMAT_NCHW', dims: ['3', '224', '224'], reshape: { shape: ['1', '3', '224', '224'] } },
    ]);
    assert.equal((read.get('densenet_onnx')!.output as TextProtoObject[])[0]!.label_filename, 'densenet_labels.txt');
    assert.equal(read.get('densenet_onnx')!.max_batch_size, 0);
    const sequence = read.get('simple_dyna_sequence')!;
    assert.deepEqual(sequence.parameters, { execute_delay_ms: { string_value: '3' } });
    assert.deepEqual(sequence.instance_group, [{ count: 2, kind: 'KIND_CPU' }]);
    const controls = (sequence.sequence_batching as { control_input: Array<{ name: string; control: TextProtoObject[] }> }).control_input;
    assert.deepEqual(
      controls.map((c) => [c.name, c.control[0]!.kind]),
      [
        ['START', 'CONTROL_SEQUENCE_START'],
        ['END', 'CONTROL_SEQUENCE_END'],
        ['READY', 'CONTROL_SEQUENCE_READY'],
        ['CORRID', 'CONTROL_SEQUENCE_CORRID'],
      ],
    );
    assert.deepEqual(controls[0]!.control[0]!.int32_false_true, [0, 1]);
    // Two `input [...]` lists add up to one repeated field.
    const mlflow = read.get('onnx_float32_int32_int32')!;
    assert.deepEqual((mlflow.input as TextProtoObject[]).map((i) => i.name), ['INPUT0', 'INPUT1']);
    assert.deepEqual(mlflow.version_policy, { latest: { num_versions: 1 } });
    assert.equal(mlflow.name, undefined);
    assert.deepEqual(read.get('bert_base_tf_cpu'), {
      max_batch_size: 4,
      dynamic_batching: { preferred_batch_size: [1], max_queue_delay_microseconds: '2000000' },
      instance_group: [{ count: 2, kind: 'KIND_CPU' }],
    });
    assert.deepEqual(read.get('identity_fp32_timeout')!.dynamic_batching, {
      default_queue_policy: { timeout_action: 'REJECT', allow_timeout_override: true, default_timeout_microseconds: '1000000' },
    });
    const steps = (read.get('simple_ensemble')!.ensemble_scheduling as { step: TextProtoObject[] }).step;
    assert.deepEqual(
      steps.map((s) => [s.model_version, s.input_map, s.output_map]),
      [
        ['1', { INPUT0: 'INPUT0', INPUT1: 'INPUT1' }, { OUTPUT0: 'out0', OUTPUT1: 'out1' }],
        ['-1', { INPUT0: 'out0', INPUT1: 'out1' }, { OUTPUT0: 'OUTPUT0', OUTPUT1: 'OUTPUT1' }],
      ],
    );
    assert.deepEqual(read.get('failing_infer')!.model_warmup, [
      { name: 'zero sample', batch_size: 1, inputs: { INPUT: { data_type: 'TYPE_FP32', dims: ['4'], zero_data: true } } },
    ]);
    assert.deepEqual(read.get('max_priority_level')!.dynamic_batching, {
      priority_levels: '18446744073709551615',
      default_priority_level: '4294967295',
      priority_queue_policy: {
        '4294967296': { timeout_action: 'REJECT', default_timeout_microseconds: '18446744073709551615', allow_timeout_override: true, max_queue_size: 10 },
      },
    });
    for (const [model, value] of read) {
      const printed = printTextProto(value, tritonModelConfigType());
      assert.deepEqual(parseTextProto(printed, tritonModelConfigType(), `${model} printed`).value, value, `${model}: parse, print, parse`);
    }
  });

  it('gives the config a config.json of the same model gives, and places each mistake at its line and column', () => {
    const json = {
      name: 'simple',
      platform: 'onnxruntime_onnx',
      max_batch_size: 8,
      input: [
        { name: 'INPUT0', data_type: 'TYPE_INT32', dims: [16] },
        { name: 'INPUT1', data_type: 'TYPE_INT32', dims: [16] },
      ],
      output: [
        { name: 'OUTPUT0', data_type: 'TYPE_INT32', dims: [16] },
        { name: 'OUTPUT1', data_type: 'TYPE_INT32', dims: [16] },
      ],
    };
    assert.deepEqual(parseModelConfig('simple', fixture('simple'), 'config.pbtxt'), parseModelConfig('simple', JSON.stringify(json)));
    const bert = parseModelConfig('bert_base_tf_cpu', fixture('bert_base_tf_cpu'), 'config.pbtxt');
    assert.equal(bert.dynamic_batching?.max_queue_delay_microseconds, 2_000_000);
    assert.deepEqual(bert.instance_group, [{ count: 2, kind: 'KIND_CPU' }]);

    rejects('densenet_onnx', fixture('densenet_onnx'), /^model 'densenet_onnx' config\.pbtxt:10:5: field input\[0\]: Unrecognized key: "reshape"; config\.pbtxt:18:5: field output\[0\]/);
    rejects('simple_ensemble', fixture('simple_ensemble'), /^model 'simple_ensemble' config\.pbtxt:28:1: field platform: expected "onnxruntime_onnx"; config\.pbtxt:54:1: Unrecognized key: "ensemble_scheduling"$/);
    rejects('m', 'max_batch_size: 8\ninput [ { name: "x" dims: [ 4 ] data_type: FP32 } ]', /^model 'm' config\.pbtxt:2:44: expected a value of enum inference\.DataType for field "data_type" \(TYPE_INVALID, TYPE_BOOL/);
    rejects('m', 'max_batch: 8', /^model 'm' config\.pbtxt:1:1: unknown field "max_batch" in inference\.ModelConfig$/);
    rejects('m', 'name: "other"', /^model 'm' config\.pbtxt:1:1: field name: "other" differs from the model directory name "m"$/);
    rejects('m', 'max_batch_size: 4\ndynamic_batching { preferred_batch_size: [ 2, 8 ] }', /^model 'm' config\.pbtxt:2:20: field dynamic_batching\.preferred_batch_size: 8 exceeds max_batch_size 4$/);
    rejects('m', 'version_policy { specific { versions: [ 0 ] } }', /^model 'm' config\.pbtxt:1:41: field version_policy\.specific\.versions\[0\]: Too small: expected number to be >0$/);
  });

  it('serves a repository of config.pbtxt alone, with the declared dims after the batch dimension, and reloads it when it changes', async function () {
    this.timeout(60_000);
    // A variable second dimension, so only the config's dims can fix it at 3.
    const onnx = buildIdentityModel([{ name: 'x', elemType: OnnxElementType.FLOAT, dims: ['n'] }]);
    const pbtxt = (maxBatch: number) => `# Triton's words, as a Triton repository holds them
name: "ident"
platform: "onnxruntime_onnx"
max_batch_size: ${maxBatch}
input [ { name: "x", data_type: TYPE_FP32, dims: [ 3 ] } ]
output [ { name: "x_out" data_type: TYPE_FP32 dims: [ 3 ] } ]
dynamic_batching { preferred_batch_size: [ 2, 4 ] max_queue_delay_microseconds: 100 }
instance_group [ { kind: KIND_CPU count: 2 } ]
version_labels { key: "stable" value: 1 }
`;
    const asJson = (name: string) => ({
      name,
      platform: 'onnxruntime_onnx',
      max_batch_size: 8,
      input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [3] }],
      output: [{ name: 'x_out', data_type: 'TYPE_FP32', dims: [3] }],
      dynamic_batching: { preferred_batch_size: [2, 4], max_queue_delay_microseconds: 100 },
      instance_group: [{ kind: 'KIND_CPU', count: 2 }],
      version_labels: { stable: 1 },
    });
    const t = await startTestServer(async (repo) => {
      await writeModelVersion(repo, 'ident', 1, onnx);
      await writeFile(path.join(repo, 'ident', 'config.pbtxt'), pbtxt(8));
      await writeModelVersion(repo, 'ident_json', 1, onnx, asJson('ident_json'));
    });
    try {
      const config = async (model: string) => (await request(`${t.http}/v2/models/${model}/config`)).json as Record<string, unknown>;
      const served = await config('ident');
      assert.equal(served.max_batch_size, 8);
      assert.deepEqual(served.input, [{ name: 'x', data_type: 'TYPE_FP32', dims: [3] }]);
      assert.deepEqual(served.dynamic_batching, {
        preferred_batch_size: [2, 4],
        max_queue_delay_microseconds: 100,
        default_queue_policy: { timeout_action: 'REJECT', default_timeout_microseconds: 0, allow_timeout_override: false, max_queue_size: 0 },
      });
      const fromJson = await config('ident_json');
      assert.deepEqual({ ...served, name: 'ident_json', instance_group: fromJson.instance_group }, fromJson);
      assert.deepEqual(served.instance_group, [{ name: 'ident_0', kind: 'KIND_CPU', count: 2 }]);
      assert.equal(t.server.repository.resolve('ident', { label: 'stable' }).version, 1);

      const rows = [1, 2, 3, 4, 5, 6];
      const ok = await postJson(`${t.http}/v2/models/ident/infer`, { inputs: [{ name: 'x', shape: [2, 3], datatype: 'FP32', data: rows }] });
      assert.equal(ok.status, 200, ok.body.toString());
      const output = (ok.json as { outputs: Array<{ name: string; shape: number[]; data: number[] }> }).outputs[0]!;
      assert.deepEqual([output.name, output.shape, output.data], ['x_out', [2, 3], rows]);
      const wrong = await postJson(`${t.http}/v2/models/ident/infer`, { inputs: [{ name: 'x', shape: [2, 4], datatype: 'FP32', data: [...rows, 7, 8] }] });
      assert.equal(wrong.status, 400);
      assert.match(wrong.body.toString(), /shape \[2, 4\] does not match model 'ident' shape \[-1, 3\]/);

      await writeFile(path.join(t.repo, 'ident', 'config.pbtxt'), pbtxt(4));
      await t.server.repository.pollNow();
      assert.equal((await config('ident')).max_batch_size, 4);

      // Both files: config.pbtxt wins, as in Triton, and the server says so once.
      await writeFile(path.join(t.repo, 'ident', 'config.json'), JSON.stringify({ ...asJson('ident'), max_batch_size: 2, dynamic_batching: {} }));
      await t.server.repository.pollNow();
      await t.server.repository.pollNow();
      assert.equal((await config('ident')).max_batch_size, 4);
      const ignored = t.events.filter((e) => e.type === 'config-ignored');
      assert.deepEqual(ignored, [{ type: 'config-ignored', model: 'ident', ignored: 'ident/config.json', used: 'ident/config.pbtxt' }]);
      await rm(path.join(t.repo, 'ident', 'config.pbtxt'));
      await t.server.repository.pollNow();
      assert.equal((await config('ident')).max_batch_size, 2);
    } finally {
      await t.stop();
    }
  });

  it('names the config file the model has when the ONNX model contradicts it', async function () {
    this.timeout(60_000);
    const onnx = buildIdentityModel([{ name: 'x', elemType: OnnxElementType.FLOAT, dims: ['n'] }]);
    const t = await startTestServer(async (repo) => {
      await writeModelVersion(repo, 'wrong_pbtxt', 1, onnx);
      await writeFile(path.join(repo, 'wrong_pbtxt', 'config.pbtxt'), 'input [ { name: "features" data_type: TYPE_FP32 dims: [ 3 ] } ]\n');
      await writeModelVersion(repo, 'wrong_json', 1, onnx, { input: [{ name: 'features', data_type: 'TYPE_FP32', dims: [3] }] });
    });
    try {
      const index = (await postJson(`${t.http}/v2/repository/index`, {})).json as Array<{ name: string; version: string; state: string; reason: string }>;
      const mistake = "field input[0].name: the ONNX model has no input 'features' (it has 'x')";
      assert.deepEqual(index, [
        { name: 'wrong_json', version: '1', state: 'UNAVAILABLE', reason: `model 'wrong_json' config.json: ${mistake}` },
        { name: 'wrong_pbtxt', version: '1', state: 'UNAVAILABLE', reason: `model 'wrong_pbtxt' config.pbtxt: ${mistake}` },
      ]);
    } finally {
      await t.stop();
    }
  });
});
