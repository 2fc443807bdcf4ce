import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { openSession, Tensor } from '../onnx/session';
import { exportLayersModel } from '../onnx/tfjs-export/export-layers-model';
import { HEAVY_MLP, mulberry32, SMALL_MLP, type MlpSpec } from './serving/models';
import { medianTime, rowsPerSecond } from './stats';

/**
 * Export time of a tfjs model to ONNX, and inference rows/s of the same model in tfjs (wasm, the Trainer's
 * default backend, and cpu) and in onnxruntime-node (one intra-op thread, as a serving replica per core)
 * at batch 1 and 256, in the same run. Models: the penguins-sized MLP (4-16-16-3) and the heavy one
 * (512-2048-2048-10, about 5.3M weights) of bench/serving/models.ts, relu then softmax.
 *
 *   node dist/bench/tfjs-export.js
 */
const SECONDS_PER_FIGURE = 1.5;

function buildModel(spec: MlpSpec): tf.LayersModel {
  const input = tf.input({ shape: [spec.inputDim], name: 'input' });
  let x = input;
  for (const units of spec.hiddenDims) x = tf.layers.dense({ units, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: spec.seed }) }).apply(x) as tf.SymbolicTensor;
  const output = tf.layers.dense({ units: spec.outputDim, activation: 'softmax', name: 'probabilities' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output });
}

async function main(): Promise<void> {
  await tf.setBackend('wasm');
  for (const [label, spec] of [['small 4-16-16-3', SMALL_MLP], ['heavy 512-2048-2048-10', HEAVY_MLP]] as const) {
    const model = buildModel(spec);
    const exported = medianTime(5, () => exportLayersModel(model).bytes);
    const bytes = exported.result;
    console.log(`${label}: export ${exported.ms.toFixed(1)} ms (median of 5), model.onnx ${(bytes.length / 1024).toFixed(0)} KiB`);
    const session = await openSession(bytes, { intraOpNumThreads: 1 });
    const random = mulberry32(spec.seed);
    for (const batch of [1, 256]) {
      const rows = Float32Array.from({ length: batch * spec.inputDim }, () => random() * 2 - 1);
      const onnx = await rowsPerSecond(batch, async () => {
        await session.run({ input: new Tensor('float32', rows, [batch, spec.inputDim]) });
      }, SECONDS_PER_FIGURE);
      const tfjs: Record<string, number> = {};
      for (const backend of ['wasm', 'cpu']) {
        await tf.setBackend(backend);
        tfjs[backend] = await rowsPerSecond(batch, async () => {
          const x = tf.tensor2d(rows, [batch, spec.inputDim]);
          const y = model.predict(x) as tf.Tensor;
          await y.data();
          tf.dispose([x, y]);
        }, SECONDS_PER_FIGURE);
      }
      await tf.setBackend('wasm');
      console.log(
        `  batch ${batch}: onnxruntime ${onnx.toFixed(0)} rows/s; tfjs wasm ${tfjs.wasm!.toFixed(0)} rows/s (onnxruntime ${(onnx / tfjs.wasm!).toFixed(1)}x), ` +
          `tfjs cpu ${tfjs.cpu!.toFixed(0)} rows/s (onnxruntime ${(onnx / tfjs.cpu!).toFixed(1)}x)`,
      );
    }
    await session.release();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
