import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { SCHEMA_FILE_NAME } from '../components/schema-gen/payload';
import { parseSchemaJson } from '../components/schema-gen/schema-file';
import { CachedSplit, dataLayout, DatasetControl, trainDataset } from '../components/trainer/datasets';
import { TrainerParametersSchema, type TrainerParameters } from '../components/trainer/spec';
import { runTypeScriptTrainer } from '../components/trainer/train-runtime';
import { SIGNATURE_FILE, TransformSignatureSchema } from '../components/transform/signature';
import createPipeline from '../examples/flights/pipeline';
import { runPipelineNodes } from '../test/support/run-pipeline-nodes';
import { tempDir } from '../test/support/tmp';

/**
 * Training examples/s of the flights model (examples/flights/trainer.ts: hour, day of week, month, the
 * log distance's z-score and two 62-wide airport one-hots into Dense(32) relu, Dense(16) relu, softmax;
 * Adam; batch 256) on the wasm and cpu backends, in the same run, on flights-3m.parquet's train split
 * (2/3 of the 3 million flights, or of `--sample`'s fraction); and what share of the time the input
 * pipeline takes: reading the transformed Parquet into column files (Parquet → float32 columns, once
 * per run) and batching them into tensors every epoch (`datasets.ts`, iterated alone for as many epochs
 * as timed, on each backend right after its training, so both see about the same load). The first
 * epoch on each backend warms it (wasm compiles its module, tfjs its kernels) and is not timed; no eval
 * pass (`validate: false`). The nodes before the Trainer run once, through the executor harness; their
 * time is printed too.
 *
 *   node dist/bench/trainer-flights.js [--sample 0.1] [--epochs 3]
 */
function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

async function main(): Promise<void> {
  const sample = flag('sample', '1');
  const epochs = Number(flag('epochs', '2'));
  if (!(epochs >= 2)) throw new Error('--epochs must be 2 or more: the first one warms the backend');
  const definition = createPipeline({ sample, epochs: String(epochs) });
  const trainerNode = definition.nodes.find((n) => n.id === 'trainer')!;
  const trainerParameters = TrainerParametersSchema.parse(trainerNode.options.parameters);

  const nodesStart = performance.now();
  const runs = await runPipelineNodes(definition, { stopBefore: 'trainer' });
  const nodes = (performance.now() - nodesStart) / 1000;
  const transformed = runs.get('transform')!;
  const schemaDir = runs.get('schema_gen')!.outputDirs.schema!;
  const schemaFile = path.join(schemaDir, SCHEMA_FILE_NAME);
  const schema = parseSchemaJson(await readFile(schemaFile, 'utf8'), schemaFile);
  const signature = TransformSignatureSchema.parse(JSON.parse(await readFile(path.join(transformed.outputDirs.transformGraph!, SIGNATURE_FILE), 'utf8')));
  const trainDir = path.join(transformed.outputDirs.transformedExamples!, 'Split-train');
  const evalDir = path.join(transformed.outputDirs.transformedExamples!, 'Split-eval');
  const signal = new AbortController().signal;

  const train = async (backend: TrainerParameters['backend']) => {
    const params = TrainerParametersSchema.parse({
      ...trainerParameters,
      backend,
      hyperparameters: { ...trainerParameters.hyperparameters, validate: false },
    });
    const start = performance.now();
    let firstEpoch = 0;
    let timedEpochs = 0;
    const result = await runTypeScriptTrainer({
      modulePath: params.module!,
      params,
      trainDir,
      evalDir,
      schema,
      signature,
      checkpointDir: await tempDir('bench-flights-checkpoint'),
      resumeState: undefined,
      checkpoint: async () => undefined,
      tmpDir: await tempDir('bench-flights-tmp'),
      progress: (p) => {
        if (p.message === `epoch 1/${epochs} on ${backend}`) firstEpoch = performance.now();
        if (p.message === `epoch 2/${epochs} on ${backend}`) timedEpochs = performance.now();
      },
      signal,
      log: () => undefined,
    });
    const end = performance.now();
    result.model.dispose();
    return { read: (firstEpoch - start) / 1000, timed: (end - timedEpochs) / 1000, total: (end - start) / 1000, loss: result.metrics.at(-1)!.loss, backend: result.backend };
  };

  const layout = dataLayout(signature, trainerParameters.label);
  const readStart = performance.now();
  const split = await CachedSplit.read({ split: { name: 'train', dir: trainDir }, layout, dir: await tempDir('bench-flights-columns'), signal });
  const read = (performance.now() - readStart) / 1000;
  const rows = split.rows;
  /** The timed epochs' batches alone, on the backend the training just used (it makes the tensors), right after it. */
  const iterate = async () => {
    const dataset = trainDataset(split, new DatasetControl(0), { seed: trainerParameters.seed, batchSize: trainerParameters.batchSize, signal });
    const start = performance.now();
    for (let e = 1; e < epochs; e++) await dataset.epoch(e).forEachAsync((batch) => tf.dispose(batch));
    return { seconds: (performance.now() - start) / 1000, backend: tf.getBackend() };
  };

  const load = (await readFile('/proc/loadavg', 'utf8').catch(() => 'n/a')).split(' ').slice(0, 3).join(' ');
  const wasm = await train('wasm');
  const wasmInput = await iterate();
  const cpu = await train('cpu');
  const cpuInput = await iterate();
  await split.close();

  const perSecond = (s: number) => Math.round((rows * (epochs - 1)) / s);
  const share = (input: { seconds: number; backend: string }, trained: { timed: number }) =>
    `${input.seconds.toFixed(2)} s on ${input.backend}, ${((100 * input.seconds) / trained.timed).toFixed(1)}% of its training time`;
  console.log(`flights model (examples/flights), sample ${sample}: ${rows} train rows, batch ${trainerParameters.batchSize}, ${epochs - 1} timed epoch(s) after 1 warm-up, no eval pass; load average before: ${load}`);
  console.log(`ExampleGen to Transform (the nodes before the Trainer): ${nodes.toFixed(1)} s`);
  console.log(`wasm (${wasm.backend}): ${perSecond(wasm.timed)} examples/s (${wasm.timed.toFixed(1)} s, final loss ${wasm.loss.toFixed(4)})`);
  console.log(`cpu  (${cpu.backend}): ${perSecond(cpu.timed)} examples/s (${cpu.timed.toFixed(1)} s, final loss ${cpu.loss.toFixed(4)})`);
  console.log(`wasm / cpu: ${(cpu.timed / wasm.timed).toFixed(2)}x`);
  console.log(`input pipeline, the timed epochs' batches alone: wasm ${share(wasmInput, wasm)}; cpu ${share(cpuInput, cpu)}`);
  console.log(
    `input pipeline, Parquet to column files (train split, once per run): ${read.toFixed(2)} s; reading both splits was ` +
      `${((100 * wasm.read) / wasm.total).toFixed(1)}% of the whole wasm Trainer run (${wasm.total.toFixed(1)} s for ${epochs} epochs)`,
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
