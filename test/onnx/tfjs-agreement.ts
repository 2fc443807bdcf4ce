import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { exportLayersModel, type ExportedModel } from '../../onnx/tfjs-export/export-layers-model';
import { openSession, Tensor, type OnnxFeeds } from '../../onnx/session';

/** A float tensor of uniform values in [-scale, scale). */
export function randomTensor(random: () => number, shape: number[], scale = 2): tf.Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: size }, () => (random() * 2 - 1) * scale), shape);
}

/** Every weight of the model drawn again from `random`: moving variances in [0.5, 1.5) (they must be positive), the rest in [-0.5, 0.5). */
export function randomizeWeights(model: tf.LayersModel, random: () => number): void {
  for (const layer of model.layers) {
    const weights = layer.getWeights();
    if (weights.length === 0) continue;
    layer.setWeights(
      weights.map((w, i) => {
        const positive = layer.weights[i]!.originalName.endsWith('moving_variance');
        return tf.tensor(Float32Array.from({ length: w.size }, () => (positive ? 0.5 + random() : random() - 0.5)), w.shape);
      }),
    );
  }
}

/** The tfjs tensor as onnxruntime takes it for an input of the exported dtype (int32 ids as INT64). */
function onnxTensor(t: tf.Tensor, dtype: ExportedModel['inputs'][number]['dtype']): Tensor {
  const data = t.dataSync();
  return dtype === 'int64' ? new Tensor('int64', BigInt64Array.from(data, (v) => BigInt(v)), t.shape) : new Tensor('float32', Float32Array.from(data), t.shape);
}

/** |a - b| <= 1e-5 + 1e-5 |b| element-wise, b being tfjs's value; the message names the first element out of it. */
export function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, label: string): void {
  assert.equal(got.length, want.length, `${label}: ${got.length} values, expected ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    const [a, b] = [got[i]!, want[i]!];
    if (!(Math.abs(a - b) <= 1e-5 + 1e-5 * Math.abs(b))) assert.fail(`${label}[${i}]: onnxruntime ${a}, tfjs ${b} (|a - b| = ${Math.abs(a - b)})`);
  }
}

/** onnxruntime's outputs of the exported model for `inputs` (in model.inputs order), by output name. */
export async function runExported(exported: ExportedModel, inputs: tf.Tensor[]): Promise<Record<string, Tensor>> {
  const session = await openSession(exported.bytes, { intraOpNumThreads: 1 });
  try {
    const feeds: OnnxFeeds = Object.fromEntries(exported.inputs.map((spec, i) => [spec.name, onnxTensor(inputs[i]!, spec.dtype)]));
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** Exports the model, runs it in onnxruntime and checks every output against tfjs's predict on the same inputs. */
export async function assertAgreement(model: tf.LayersModel, inputs: tf.Tensor[]): Promise<ExportedModel> {
  const exported = exportLayersModel(model);
  const result = await runExported(exported, inputs);
  const predicted = model.predict(inputs.length === 1 ? inputs[0]! : inputs);
  const expected = Array.isArray(predicted) ? predicted : [predicted];
  exported.outputs.forEach((spec, i) => {
    const got = result[spec.name];
    assert.ok(got !== undefined, `onnxruntime gave no output '${spec.name}'`);
    assert.deepEqual(got.dims.map(Number), expected[i]!.shape, `${spec.name}: shape`);
    assertClose(got.data as Float32Array, expected[i]!.dataSync(), spec.name);
  });
  return exported;
}
