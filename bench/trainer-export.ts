import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { SCHEMA_FILE_NAME } from '../components/schema-gen/payload';
import { parseSchemaJson } from '../components/schema-gen/schema-file';
import { CachedSplit, dataLayout, DatasetControl, evalDataset } from '../components/trainer/datasets';
import { TrainerParametersSchema } from '../components/trainer/spec';
import { runTypeScriptTrainer } from '../components/trainer/train-runtime';
import { SIGNATURE_FILE, TransformSignatureSchema } from '../components/transform/signature';
import type { PipelineDefinition } from '../dsl';
import createFlights from '../examples/flights/pipeline';
import createPenguins from '../examples/penguins/pipeline';
import { openSession, Tensor } from '../onnx/session';
import { exportLayersModel } from '../onnx/tfjs-export/export-layers-model';
import { runPipelineNodes } from '../test/support/run-pipeline-nodes';
import { tempDir } from '../test/support/tmp';
import { medianTime, rowsPerSecond } from './stats';

/**
 * The Trainer's export and what it buys at inference, for the two example models as their trainer.ts
 * modules build them (multi-input functional models: one input per transformed feature): the time
 * exportLayersModel takes to write model.onnx (median of 5), and rows/s of the same model in
 * onnxruntime-node (one intra-op thread, as a serving replica per core) against tfjs on wasm (the
 * Trainer's backend) at batch 1 and 256, in the same run, on real transformed eval rows (repeated to fill
 * a batch where the split is smaller). Each model is trained one epoch first, by the pipeline's own
 * nodes run through the executor harness (flights: a 1% hash-split sample).
 *
 *   node dist/bench/trainer-export.js
 */
const SECONDS_PER_FIGURE = 2;
const BATCHES = [1, 256];

/** A model trained one epoch by the pipeline's Trainer module, and a 256-row batch of its eval split, by input name. */
async function trainedModel(definition: PipelineDefinition): Promise<{ model: tf.LayersModel; rows: Map<string, { data: Float32Array; width: number }> }> {
  const runs = await runPipelineNodes(definition, { stopBefore: 'trainer' });
  const trainerNode = definition.nodes.find((n) => n.id === 'trainer')!;
  const params = TrainerParametersSchema.parse({ ...(trainerNode.options.parameters as object), epochs: 1, backend: 'wasm' });
  const transformed = runs.get('transform')!;
  const schemaFile = path.join(runs.get('schema_gen')!.outputDirs.schema!, SCHEMA_FILE_NAME);
  const signature = TransformSignatureSchema.parse(JSON.parse(await readFile(path.join(transformed.outputDirs.transformGraph!, SIGNATURE_FILE), 'utf8')));
  const evalDir = path.join(transformed.outputDirs.transformedExamples!, 'Split-eval');
  const signal = new AbortController().signal;
  const { model } = await runTypeScriptTrainer({
    modulePath: params.module!,
    params,
    trainDir: path.join(transformed.outputDirs.transformedExamples!, 'Split-train'),
    evalDir,
    schema: parseSchemaJson(await readFile(schemaFile, 'utf8'), schemaFile),
    signature,
    checkpointDir: await tempDir('bench-export-checkpoint'),
    resumeState: undefined,
    checkpoint: async () => undefined,
    tmpDir: await tempDir('bench-export-tmp'),
    progress: () => undefined,
    signal,
    log: () => undefined,
  });
  const split = await CachedSplit.read({ split: { name: 'eval', dir: evalDir }, layout: dataLayout(signature, params.label), dir: await tempDir('bench-export-eval'), signal });
  const rows = new Map<string, { data: Float32Array; width: number }>();
  await evalDataset(split, new DatasetControl(0), { batchSize: 256, signal })
    .take(1)
    .forEachAsync((batch) => {
      for (const [name, x] of Object.entries(batch.xs)) {
        const [n, width] = x.shape;
        const data = new Float32Array(256 * width);
        const values = x.dataSync();
        for (let r = 0; r < 256; r++) data.set(values.subarray((r % n) * width, ((r % n) + 1) * width), r * width);
        rows.set(name, { data, width });
      }
      tf.dispose(batch);
    });
  await split.close();
  return { model, rows };
}

async function measure(label: string, definition: PipelineDefinition): Promise<void> {
  const { model, rows } = await trainedModel(definition);
  const exported = medianTime(5, () => exportLayersModel(model).bytes);
  const bytes = exported.result;
  const weights = model.countParams();
  console.log(`${label}: ${model.inputNames.length} inputs, ${weights} weights; export ${exported.ms.toFixed(1)} ms (median of 5), model.onnx ${(bytes.length / 1024).toFixed(0)} KiB`);
  const session = await openSession(bytes, { intraOpNumThreads: 1 });
  await tf.setBackend('wasm');
  const inputs = model.inputNames.map((name) => ({ name, ...rows.get(name)! }));
  for (const batch of BATCHES) {
    const slice = inputs.map((i) => ({ ...i, data: i.data.subarray(0, batch * i.width) }));
    const onnx = await rowsPerSecond(
      batch,
      async () => {
        await session.run(Object.fromEntries(slice.map((i) => [i.name, new Tensor('float32', i.data, [batch, i.width])])));
      },
      SECONDS_PER_FIGURE,
    );
    const wasm = await rowsPerSecond(
      batch,
      async () => {
        const xs = slice.map((i) => tf.tensor2d(i.data, [batch, i.width]));
        const y = model.predict(xs) as tf.Tensor;
        await y.data();
        tf.dispose([...xs, y]);
      },
      SECONDS_PER_FIGURE,
    );
    console.log(`  batch ${batch}: onnxruntime ${onnx.toFixed(0)} rows/s, tfjs wasm ${wasm.toFixed(0)} rows/s: onnxruntime ${(onnx / wasm).toFixed(1)}x`);
  }
  await session.release();
  model.dispose();
}

async function main(): Promise<void> {
  const load = (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
  console.log(`load average before: ${load}`);
  await measure('penguins (examples/penguins/trainer.ts)', createPenguins());
  await measure('flights (examples/flights/trainer.ts)', createFlights({ sample: '0.01' }));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
