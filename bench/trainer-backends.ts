import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ExampleGen } from '../components/example-gen/spec';
import { SchemaGen } from '../components/schema-gen/spec';
import { SCHEMA_FILE_NAME } from '../components/schema-gen/payload';
import { parseSchemaJson } from '../components/schema-gen/schema-file';
import { StatisticsGen } from '../components/statistics-gen/spec';
import { fillMissing, labelIds, scaleToZScore, transform, vocabulary } from '../components/transform/dsl';
import { SIGNATURE_FILE, TransformSignatureSchema } from '../components/transform/signature';
import { Transform } from '../components/transform/spec';
import { saveCheckpoint } from '../components/trainer/checkpoint-files';
import { CachedSplit, dataLayout, DatasetControl, trainDataset } from '../components/trainer/datasets';
import { TrainerParametersSchema } from '../components/trainer/spec';
import { runTypeScriptTrainer } from '../components/trainer/train-runtime';
import { runExecutorForTest } from '../test/support/executor-harness';
import { REPO_ROOT } from '../test/support/repo-root';
import { tempDir } from '../test/support/tmp';
import { vegaFile } from '../test/components/vega-data';

/**
 * Training examples/s of the penguins classifier (test/fixtures/trainer-modules/penguins.ts: 4 scaled
 * numbers, a 3-wide one-hot and an id into Dense(16) relu, Dropout, Dense(3) softmax, Adam) on the
 * wasm and cpu backends, in the same run; and, for wasm, what share of the time the input pipeline
 * (column files to batches of tensors, iterated alone) takes. No eval pass; every epoch checkpoints, as
 * in a pipeline (the engine's upload of them left out), and the share those files take.
 *
 *   node dist/bench/trainer-backends.js
 */
const EPOCHS = 60;
const BATCH = 32;
const BEAK = 'Beak Length (mm)';

async function main(): Promise<void> {
  const examples = (await runExecutorForTest(ExampleGen, { parameters: { input: vegaFile('penguins.json') } })).artifact('examples');
  const statistics = (await runExecutorForTest(StatisticsGen, { inputs: { examples: [examples] } })).artifact('statistics');
  const schemaArtifact = (await runExecutorForTest(SchemaGen, { parameters: { label: 'Species' }, inputs: { statistics: [statistics] } })).artifact('schema');
  const ir = transform(({ f }) => ({
    beak: scaleToZScore(fillMissing(f[BEAK], 'mean')),
    depth: scaleToZScore(fillMissing(f['Beak Depth (mm)'], 'mean')),
    flipper: scaleToZScore(fillMissing(f['Flipper Length (mm)'], 'mean')),
    mass: scaleToZScore(fillMissing(f['Body Mass (g)'], 'mean')),
    island: vocabulary(f.Island).oneHot(),
    sex: vocabulary(fillMissing(f.Sex, { constant: 'unknown' })).ids(),
    species: labelIds(f.Species),
  }));
  const run = await runExecutorForTest(Transform, { parameters: { transform: ir }, inputs: { examples: [examples], schema: [schemaArtifact] } });
  const signature = TransformSignatureSchema.parse(JSON.parse(await readFile(path.join(run.outputDirs.transformGraph!, SIGNATURE_FILE), 'utf8')));
  const schemaFile = path.join(schemaArtifact.localDir, SCHEMA_FILE_NAME);
  const schema = parseSchemaJson(await readFile(schemaFile, 'utf8'), schemaFile);
  const trainDir = path.join(run.outputDirs.transformedExamples!, 'Split-train');
  const modulePath = path.join(REPO_ROOT, 'test', 'fixtures', 'trainer-modules', 'penguins.ts');
  const signal = new AbortController().signal;

  const layout = dataLayout(signature, 'species');
  const split = await CachedSplit.read({ split: { name: 'train', dir: trainDir }, layout, dir: await tempDir('bench-columns'), signal });
  const rows = split.rows;

  const train = async (backend: 'wasm' | 'cpu') => {
    let first = 0;
    const result = await runTypeScriptTrainer({
      modulePath,
      params: TrainerParametersSchema.parse({ module: modulePath, label: 'species', epochs: EPOCHS, batchSize: BATCH, backend, hyperparameters: { validate: false } }),
      trainDir,
      evalDir: path.join(run.outputDirs.transformedExamples!, 'Split-eval'),
      schema,
      signature,
      checkpointDir: await tempDir('bench-checkpoint'),
      resumeState: undefined,
      checkpoint: async () => undefined,
      tmpDir: await tempDir('bench-tmp'),
      progress: (p) => {
        if (p.message === `epoch 1/${EPOCHS} on ${backend}`) first = performance.now();
      },
      signal,
      log: () => undefined,
    });
    return { seconds: (performance.now() - first) / 1000, accuracy: result.metrics.at(-1)!.acc, model: result.model, metrics: result.metrics };
  };

  // Warm both backends (wasm's module compiles on first use), then time each.
  await train('wasm');
  await train('cpu');
  const wasm = await train('wasm');
  const cpu = await train('cpu');

  const inputStart = performance.now();
  const dataset = trainDataset(split, new DatasetControl(0), { seed: 0, batchSize: BATCH, signal });
  for (let e = 0; e < EPOCHS; e++) await dataset.epoch(e).forEachAsync((batch) => tf.dispose(batch));
  const input = (performance.now() - inputStart) / 1000;
  await split.close();

  const checkpointDir = await tempDir('bench-checkpoint-save');
  const saveStart = performance.now();
  for (let e = 0; e < EPOCHS; e++) await saveCheckpoint(checkpointDir, cpu.model, cpu.metrics);
  const save = (performance.now() - saveStart) / 1000;

  const perSecond = (s: number) => Math.round((rows * EPOCHS) / s);
  console.log(`penguins classifier, ${rows} train rows, ${EPOCHS} epochs, batch ${BATCH}, a checkpoint per epoch`);
  console.log(`wasm: ${perSecond(wasm.seconds)} examples/s (${wasm.seconds.toFixed(2)} s, final train accuracy ${wasm.accuracy?.toFixed(3)})`);
  console.log(`cpu:  ${perSecond(cpu.seconds)} examples/s (${cpu.seconds.toFixed(2)} s, final train accuracy ${cpu.accuracy?.toFixed(3)})`);
  console.log(`wasm / cpu: ${(cpu.seconds / wasm.seconds).toFixed(2)}x`);
  console.log(`checkpoint files (weights, optimizer state, metrics): ${((1000 * save) / EPOCHS).toFixed(1)} ms each, ${((100 * save) / cpu.seconds).toFixed(1)}% of cpu training time`);
  console.log(`input pipeline alone: ${input.toFixed(3)} s, ${((100 * input) / wasm.seconds).toFixed(1)}% of wasm training time`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
