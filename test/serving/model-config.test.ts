import assert from 'node:assert/strict';
import { ModelConfigError, parseModelConfig } from '../../serving/model-config';
import { resolveModel } from '../../serving/model-signature';
import { selectVersions } from '../../serving/version-policy';

const defaults = { defaultMaxBatchSize: 4, modelFilename: 'model.onnx' };
const mlpSession = {
  inputs: [{ name: 'input', type: 'float32', isTensor: true, dims: [-1, 4] }],
  outputs: [{ name: 'probabilities', type: 'float32', isTensor: true, dims: [-1, 3] }],
};

function rejects(text: string, pattern: RegExp): void {
  assert.throws(() => parseModelConfig('iris', text), (err: unknown) => {
    assert.ok(err instanceof ModelConfigError);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('serving: config.json (Triton field names)', () => {
  it('accepts Triton configuration words, with 64-bit integers as numbers or strings', () => {
    const config = parseModelConfig(
      'iris',
      JSON.stringify({
        name: 'iris',
        platform: 'onnxruntime_onnx',
        max_batch_size: 32,
        dynamic_batching: {
          preferred_batch_size: [8, 16],
          max_queue_delay_microseconds: '500',
          default_queue_policy: { max_queue_size: 100, default_timeout_microseconds: '2000', timeout_action: 'REJECT' },
        },
        instance_group: [{ kind: 'KIND_CPU', count: 2 }],
        version_policy: { latest: { num_versions: 2 } },
        version_labels: { stable: 1, canary: 2 },
      }),
    );
    assert.equal(config.dynamic_batching?.max_queue_delay_microseconds, 500);
    assert.equal(config.dynamic_batching?.default_queue_policy?.default_timeout_microseconds, 2000);
    const resolved = resolveModel('iris', config, 'config.json', mlpSession, defaults);
    assert.deepEqual(resolved.scheduling.preferredBatchSizes, [8, 16]);
    assert.equal(resolved.instanceCount, 2);
    assert.equal(resolved.tritonConfig.input[0]!.data_type, 'TYPE_FP32');
    assert.deepEqual(resolved.tritonConfig.input[0]!.dims, [4]);
  });

  it('names the model, the file and the field of every mistake', () => {
    rejects('{"max_batch_size": 8,', /model 'iris' config\.json: not valid JSON/);
    rejects('{"max_batch_sise": 8}', /model 'iris' config\.json: Unrecognized key: "max_batch_sise"/);
    rejects('{"dynamic_batching": {"max_queue_delay_microseconds": -5}}', /field dynamic_batching\.max_queue_delay_microseconds/);
    rejects('{"instance_group": [{"kind": "KIND_GPU"}]}', /field instance_group\[0\]\.kind: expected KIND_AUTO or KIND_CPU/);
    rejects('{"version_policy": {"latest": {"num_versions": 0}}}', /field version_policy/);
    rejects('{"name": "other"}', /field name: "other" differs from the model directory name "iris"/);
    rejects('{"max_batch_size": 4, "dynamic_batching": {"preferred_batch_size": [8]}}', /preferred_batch_size: 8 exceeds max_batch_size 4/);
    rejects('{"max_batch_size": 0, "dynamic_batching": {}}', /field dynamic_batching: needs max_batch_size > 0/);
    rejects('{"version_labels": {"9bad": 1}}', /field version_labels/);
  });

  it('checks config inputs and outputs against the ONNX model', () => {
    const resolve = (text: string) => () => resolveModel('iris', parseModelConfig('iris', text), 'config.json', mlpSession, defaults);
    assert.throws(resolve('{"input": [{"name": "features"}]}'), /model 'iris' config\.json: field input\[0\]\.name: the ONNX model has no input 'features' \(it has 'input'\)/);
    assert.throws(resolve('{"input": [{"name": "input", "data_type": "TYPE_INT32"}]}'), /field input\[0\]\.data_type: TYPE_INT32 but the ONNX model has TYPE_FP32/);
    assert.throws(resolve('{"input": [{"name": "input", "dims": [5]}]}'), /field input\[0\]\.dims\[0\]: 5 but the ONNX model fixes it at 4/);
    assert.throws(
      resolve('{"parameters": {"intra_op_thread_count": {"string_value": "two"}}}'),
      /field parameters\.intra_op_thread_count\.string_value: expected a whole number/,
    );
    assert.throws(
      resolve('{"parameters": {"session_thread": {"string_value": "gpu"}}}'),
      /field parameters\.session_thread\.string_value: expected auto, worker, event_loop, got "gpu"/,
    );
    const fixedBatch = { inputs: [{ name: 'x', type: 'float32', isTensor: true, dims: [1, 4] }], outputs: mlpSession.outputs };
    assert.throws(
      () => resolveModel('iris', parseModelConfig('iris', '{"max_batch_size": 8}'), 'config.json', fixedBatch, defaults),
      /max_batch_size: 8 needs a variable first dimension on every input and output, but 'x' has shape \[1, 4\]/,
    );
  });

  it('auto-completes like Triton: batchable models batch up to the default size, fixed ones do not', () => {
    const batched = resolveModel('iris', undefined, 'config.json', mlpSession, defaults);
    assert.equal(batched.signature.maxBatchSize, 4);
    assert.equal(batched.scheduling.dynamicBatching, true);
    const fixed = { inputs: [{ name: 'x', type: 'float32', isTensor: true, dims: [2, 2] }], outputs: [{ name: 'y', type: 'float32', isTensor: true, dims: [2, 2] }] };
    const unbatched = resolveModel('m', undefined, 'config.json', fixed, defaults);
    assert.equal(unbatched.signature.maxBatchSize, 0);
    assert.equal(unbatched.tritonConfig.dynamic_batching, undefined);
  });

  it('selects versions by policy: latest N, all, specific', () => {
    assert.deepEqual(selectVersions({ latest: { num_versions: 1 } }, [1, 3, 2]), [3]);
    assert.deepEqual(selectVersions({ latest: { num_versions: 2 } }, [1, 3, 2]), [3, 2]);
    assert.deepEqual(selectVersions({ all: {} }, [1, 3, 2]), [3, 2, 1]);
    assert.deepEqual(selectVersions({ specific: { versions: [1, 3, 7] } }, [1, 2, 3]), [3, 1]);
  });
});
