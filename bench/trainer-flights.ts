import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { SCHEMA_FILE_NAME } from '../components/schema-gen/payload';
import { parseSchemaJson } from '../components/schema-gen/schema-file';
import { CachedSplit, dataLayout, DatasetControl, trainDataset } from '../components/trainer/datasets';
import { TrainerParametersSchema } from '../components/trainer/spec';
import { runTypeScriptTrainer } from '../components/trainer/train-runtime';
import { SIGNATURE_FILE, TransformSignatureSchema } from '../components/transform/signature';
import createPipeline from '../examples/flights/pipeline';
import { runPipelineNodes } from '../test/support/run-pipeline-nodes';
import { tempDir } from '../test/support/tmp';

/**
 * Training examples/s of the flights model (examples/flights/trainer.ts: hour, day of week, month, the
 * log distance's z-score and two 62-wide airport one-hots into Dense(32) relu, Dense(16) relu, softmax;
 * Adam; batch 256) on the wasm and cpu backends, in the same run, on flights-3m.parquet's train split
 * (2/3 of the 3 million flights, or of `--sample`'s fraction); and what share of a Trainer run on each
 * backend the input pipeline takes (`datasets.ts`, Parquet to tensors), against the 10% target:
 * - the read: the train split's Parquet into float32 column files, once per run, timed alone (the
 *   Trainer's own read is the same call; the eval split's read overlaps its first epoch);
 * - the batches: column files into tensors, every epoch, iterated alone for the timed epochs on each
 *   backend right after its training (so both see about the same load);
 * - the share: (read + epochs × batches per epoch) / the whole Trainer run (`--epochs` epochs, from
 *   the call to its return: the read, loading the module, starting the backend, every epoch).
 * The first epoch on each backend warms it (wasm compiles its module, tfjs its kernels) and is not
 * timed for examples/s; no eval pass (`validate: false`). The nodes before the Trainer run once,
 * through the executor harness; their time is printed too. `--backends wasm` leaves out cpu (a full
 * cpu epoch takes minutes).
 *
 *   node dist/bench/trainer-flights.js [--sample 0.1] [--epochs 5] [--backends wasm,cpu]
 */
function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

async function main(): Promise<void> {
  const sample = flag('sample', '1');
  const epochs = Number(flag('epochs', '2'));
  if (!(epochs >= 2)) throw new Error('--epochs must be 2 or more: the first one warms the backend');
  const backends = flag('backends', 'wasm,cpu').split(',');
  const unknown = backends.filter((b) => b !== 'wasm' && b !== 'cpu');
  if (unknown.length > 0 || backends.length === 0) throw new Error(`--backends takes wasm and cpu, comma-separated, not ${unknown.join(', ')}`);
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

  const train = async (backend: 'wasm' | 'cpu') => {
    const params = TrainerParametersSchema.parse({
      ...trainerParameters,
      backend,
      hyperparameters: { ...trainerParameters.hyperparameters, validate: false },
    });
    const start = performance.now();
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
        if (p.message === `epoch 2/${epochs} on ${backend}`) timedEpochs = performance.now();
      },
      signal,
      log: () => undefined,
    });
    const end = performance.now();
    result.model.dispose();
    return { timed: (end - timedEpochs) / 1000, total: (end - start) / 1000, loss: result.metrics.at(-1)!.loss, backend: result.backend };
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
  const results: Array<{ backend: 'wasm' | 'cpu'; trained: Awaited<ReturnType<typeof train>>; batches: Awaited<ReturnType<typeof iterate>> }> = [];
  for (const backend of backends as Array<'wasm' | 'cpu'>) {
    const trained = await train(backend);
    results.push({ backend, trained, batches: await iterate() });
  }
  await split.close();

  const TARGET = 0.1;
  const timed = epochs - 1;
  const perSecond = (s: number) => Math.round((rows * timed) / s);
  console.log(`flights model (examples/flights), sample ${sample}: ${rows} train rows, batch ${trainerParameters.batchSize}, ${epochs} epochs (1 warm-up, ${timed} timed), no eval pass; load average before: ${load}`);
  console.log(`ExampleGen to Transform (the nodes before the Trainer): ${nodes.toFixed(1)} s`);
  console.log(`input pipeline, the read: train split, Parquet to float32 column files (once per run, timed alone): ${read.toFixed(2)} s`);
  for (const { backend, trained, batches } of results) {
    const batchesPerEpoch = batches.seconds / timed;
    const input = read + epochs * batchesPerEpoch;
    const share = input / trained.total;
    console.log(`${backend} (${trained.backend}): ${perSecond(trained.timed)} examples/s, final loss ${trained.loss.toFixed(4)}`);
    console.log(`  training: ${(trained.timed / timed).toFixed(2)} s per timed epoch; the whole Trainer run (${epochs} epochs): ${trained.total.toFixed(1)} s`);
    console.log(`  input pipeline, the batches: column files to ${batches.backend} tensors, ${batchesPerEpoch.toFixed(2)} s per epoch (${((100 * batches.seconds) / trained.timed).toFixed(1)}% of a timed epoch)`);
    console.log(
      `  input share of the run: (read + ${epochs} × batches) / whole run = (${read.toFixed(2)} + ${(epochs * batchesPerEpoch).toFixed(2)}) / ${trained.total.toFixed(1)} s = ` +
        `${(100 * share).toFixed(1)}%; ${(share / TARGET).toFixed(2)}× the ${100 * TARGET}% target`,
    );
  }
  const wasm = results.find((r) => r.backend === 'wasm');
  const cpu = results.find((r) => r.backend === 'cpu');
  if (wasm && cpu) console.log(`wasm / cpu, training speed: ${(cpu.trained.timed / wasm.trained.timed).toFixed(2)}x`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
