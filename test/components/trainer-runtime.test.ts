import assert from 'node:assert/strict';
import { cp, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Progress } from '../../dsl/executor';
import { ExampleGen } from '../../components/example-gen/spec';
import { SchemaGen } from '../../components/schema-gen/spec';
import { SCHEMA_FILE_NAME } from '../../components/schema-gen/payload';
import { parseSchemaJson } from '../../components/schema-gen/schema-file';
import { StatisticsGen } from '../../components/statistics-gen/spec';
import { splitParquetFiles } from '../../components/data/examples-layout';
import { sqlString } from '../../components/data/sql';
import { fillMissing, labelIds, scaleToZScore, transform, vocabulary } from '../../components/transform/dsl';
import { SIGNATURE_FILE, TransformSignatureSchema, type TransformSignature } from '../../components/transform/signature';
import { Transform } from '../../components/transform/spec';
import type { TrainerCheckpointState } from '../../components/trainer/checkpoint-files';
import { CachedSplit, dataLayout, DatasetControl, trainDataset, type ShuffleShape } from '../../components/trainer/datasets';
import { TrainerParametersSchema } from '../../components/trainer/spec';
import { runTypeScriptTrainer, type TypeScriptTrainerOptions } from '../../components/trainer/train-runtime';
import type { SchemaPayload } from '../../components/schema-gen/payload';
import { runExecutorForTest } from '../support/executor-harness';
import { REPO_ROOT } from '../support/repo-root';
import { tempDir } from '../support/tmp';
import { rejects } from '../support/user-input-errors';
import { duckQuery, readParquet } from './parquet-rows';
import { vegaFile } from './vega-data';

const BEAK = 'Beak Length (mm)';
const DEPTH = 'Beak Depth (mm)';
const FLIPPER = 'Flipper Length (mm)';
const MASS = 'Body Mass (g)';
const MODULES = path.join(REPO_ROOT, 'test', 'fixtures', 'trainer-modules');
const PENGUINS_MODULE = path.join(MODULES, 'penguins.ts');

const penguinsTransform = () =>
  transform(({ f }) => ({
    beak: scaleToZScore(fillMissing(f[BEAK], 'mean')),
    depth: scaleToZScore(fillMissing(f[DEPTH], 'mean')),
    flipper: scaleToZScore(fillMissing(f[FLIPPER], 'mean')),
    mass: scaleToZScore(fillMissing(f[MASS], 'mean')),
    island: vocabulary(f.Island).oneHot(),
    sex: vocabulary(fillMissing(f.Sex, { constant: 'unknown' })).ids(),
    species: labelIds(f.Species),
  }));

/** |a - b| <= 1e-5 + 1e-5 |b| for every weight of every variable. */
function assertWeightsClose(actual: tf.LayersModel, expected: tf.LayersModel): void {
  const a = actual.getWeights();
  const b = expected.getWeights();
  assert.equal(a.length, b.length);
  a.forEach((w, i) => {
    const x = w.dataSync();
    const y = b[i]!.dataSync();
    assert.equal(x.length, y.length);
    for (let j = 0; j < x.length; j++) {
      assert.ok(Math.abs(x[j]! - y[j]!) <= 1e-5 + 1e-5 * Math.abs(y[j]!), `weight ${i}[${j}]: ${x[j]} vs ${y[j]}`);
    }
  });
}

describe('TypeScript trainer runtime (penguins through ExampleGen, StatisticsGen, SchemaGen, Transform)', function () {
  let transformedDir: string;
  let signature: TransformSignature;
  let schema: SchemaPayload;
  let rawEval: Record<string, unknown>[];

  before(async () => {
    const examples = (await runExecutorForTest(ExampleGen, { parameters: { input: vegaFile('penguins.json') } })).artifact('examples');
    const statistics = (await runExecutorForTest(StatisticsGen, { inputs: { examples: [examples] } })).artifact('statistics');
    const schemaArtifact = (await runExecutorForTest(SchemaGen, { parameters: { label: 'Species' }, inputs: { statistics: [statistics] } })).artifact('schema');
    const run = await runExecutorForTest(Transform, { parameters: { transform: penguinsTransform() }, inputs: { examples: [examples], schema: [schemaArtifact] } });
    transformedDir = run.outputDirs.transformedExamples!;
    signature = TransformSignatureSchema.parse(JSON.parse(await readFile(path.join(run.outputDirs.transformGraph!, SIGNATURE_FILE), 'utf8')));
    const schemaFile = path.join(schemaArtifact.localDir, SCHEMA_FILE_NAME);
    schema = parseSchemaJson(await readFile(schemaFile, 'utf8'), schemaFile);
    const evalFiles = await splitParquetFiles({ name: 'eval', dir: path.join(examples.localDir, 'Split-eval') });
    rawEval = (await Promise.all(evalFiles.map((f) => readParquet(f)))).flat();
  });

  interface Recorded {
    states: TrainerCheckpointState[];
    progress: Progress[];
    logs: string[];
  }

  async function trainWith(parameters: Record<string, unknown>, overrides: Partial<TypeScriptTrainerOptions> = {}, dirs: { trainDir?: string; evalDir?: string } = {}) {
    const recorded: Recorded = { states: [], progress: [], logs: [] };
    const modulePath = (parameters.module as string | undefined) ?? PENGUINS_MODULE;
    const params = TrainerParametersSchema.parse({ module: modulePath, label: 'species', batchSize: 16, seed: 7, backend: 'wasm', ...parameters });
    const result = await runTypeScriptTrainer({
      modulePath,
      params,
      trainDir: dirs.trainDir ?? path.join(transformedDir, 'Split-train'),
      evalDir: dirs.evalDir ?? path.join(transformedDir, 'Split-eval'),
      schema,
      signature,
      checkpointDir: await tempDir('trainer-checkpoint'),
      resumeState: undefined,
      checkpoint: async (state) => {
        recorded.states.push(state);
      },
      tmpDir: await tempDir('trainer-tmp'),
      progress: (p) => recorded.progress.push(p),
      signal: new AbortController().signal,
      log: (line) => recorded.logs.push(line),
      ...overrides,
    });
    return { result, ...recorded };
  }

  it('trains the user\'s module to eval accuracy >= 0.95, checkpointing and reporting every epoch', async () => {
    const { result, states, progress } = await trainWith({ epochs: 30 });
    assert.equal(result.backend, 'wasm');
    assert.deepEqual(result.epochsRun, [...Array(30).keys()]);
    assert.deepEqual(states.map((s) => s.epoch), [...Array(30).keys()]);
    assert.deepEqual(result.metrics.map((m) => m.epoch), [...Array(30).keys()]);
    for (const key of ['loss', 'acc', 'val_loss', 'val_acc']) assert.ok(Number.isFinite(result.metrics[29]![key]), `metrics have ${key}: ${JSON.stringify(result.metrics[29])}`);
    assert.ok(progress.some((p) => p.message?.startsWith('epoch 30/30: loss')), `the last epoch's metrics are reported as progress: ${JSON.stringify(progress.at(-1))}`);

    // Accuracy on the eval split, computed here: the transformed eval rows read by DuckDB, the model's
    // argmax as a class name, against the raw Species of the same rows.
    const evalFiles = await splitParquetFiles({ name: 'eval', dir: path.join(transformedDir, 'Split-eval') });
    const rows = (await Promise.all(evalFiles.map((f) => readParquet(f)))).flat();
    assert.equal(rows.length, rawEval.length);
    const classes = signature.labels[0]!.classes;
    const inputs = result.model.inputNames.map((name) => {
      const values = rows.map((r) => (Array.isArray(r[name]) ? (r[name] as unknown[]).map(Number) : [Number(r[name])]));
      return tf.tensor2d(values);
    });
    const predicted = (result.model.predict(inputs) as tf.Tensor).argMax(-1).arraySync() as number[];
    const correct = predicted.filter((p, i) => classes[p] === rawEval[i]!.Species).length;
    assert.ok(correct / rows.length >= 0.95, `eval accuracy ${correct}/${rows.length}`);
  });

  it('shuffles each epoch as (seed, epoch) alone decides, every row once', async () => {
    const layout = dataLayout(signature, 'species');
    const dir = await tempDir('trainer-columns');
    const split = await CachedSplit.read({ split: { name: 'train', dir: path.join(transformedDir, 'Split-train') }, layout, dir, signal: new AbortController().signal });
    try {
      const rowsOf = async (seed: number, epoch: number, shape?: ShuffleShape) => {
        const dataset = trainDataset(split, new DatasetControl(0), { seed, batchSize: 16, shape, signal: new AbortController().signal });
        const batches = await dataset.epoch(epoch).toArray();
        const sizes = batches.map((b) => b.ys.shape[0]);
        const rows = batches.flatMap((b) => {
          const columns = layout.features.map((f) => b.xs[f.name]!.arraySync());
          const labels = b.ys.arraySync();
          return labels.map((y, r) => JSON.stringify([...columns.map((c) => c[r]), y.indexOf(1)]));
        });
        batches.forEach((b) => tf.dispose(b));
        return { rows, sizes };
      };
      // The split as DuckDB reads it, in the same encoding.
      const files = await splitParquetFiles({ name: 'train', dir: path.join(transformedDir, 'Split-train') });
      const stored = (await Promise.all(files.map((f) => readParquet(f)))).flat().map((r) =>
        JSON.stringify([...layout.features.map((f) => (Array.isArray(r[f.name]) ? (r[f.name] as unknown[]).map(Number) : [Math.fround(Number(r[f.name]))])), Number(r.species)]),
      );
      const e0 = await rowsOf(7, 0);
      assert.deepEqual([...e0.rows].sort(), [...stored].sort(), 'an epoch is every row once');
      assert.deepEqual(e0.sizes.slice(0, -1), e0.sizes.slice(0, -1).map(() => 16));
      assert.equal(e0.sizes.at(-1), stored.length - 16 * (e0.sizes.length - 1));
      assert.notDeepEqual(e0.rows, stored, 'shuffled');
      assert.deepEqual((await rowsOf(7, 0)).rows, e0.rows, 'the same (seed, epoch), the same order');
      const e1 = await rowsOf(7, 1);
      assert.notDeepEqual(e1.rows, e0.rows, 'another epoch, another order');
      assert.notDeepEqual((await rowsOf(8, 0)).rows, e0.rows, 'another seed, another order');

      // A split larger than a window: 15 blocks of 16 rows, windows of 3 blocks (9 float32 values a row).
      const small: ShuffleShape = { blockRows: 16, windowBytes: 16 * 9 * 4 * 3 };
      const w0 = await rowsOf(7, 0, small);
      assert.deepEqual([...w0.rows].sort(), [...stored].sort(), 'every row once, window after window');
      assert.deepEqual(w0.sizes.slice(0, -1), w0.sizes.slice(0, -1).map(() => 16), 'batches run across windows');
      assert.deepEqual((await rowsOf(7, 0, small)).rows, w0.rows);
      assert.notDeepEqual((await rowsOf(7, 1, small)).rows, w0.rows);
    } finally {
      await split.close();
    }
  });

  it('resumes after a crash following epoch k\'s checkpoint: epochs k+1..n only, the same weights as an uninterrupted run', async () => {
    const epochs = 6;
    const uninterrupted = await trainWith({ epochs });

    const saved = await tempDir('trainer-saved-checkpoint');
    let savedState: TrainerCheckpointState | undefined;
    const crashDir = await tempDir('trainer-crash-checkpoint');
    await assert.rejects(
      trainWith(
        { epochs },
        {
          checkpointDir: crashDir,
          checkpoint: async (state) => {
            // What the engine commits: the directory's files and the state, then the worker dies.
            await cp(crashDir, saved, { recursive: true });
            savedState = state;
            if (state.epoch === 2) throw new Error('worker killed after the checkpoint of epoch 2');
          },
        },
      ),
      /worker killed after the checkpoint of epoch 2/,
    );
    assert.deepEqual(savedState, { trainer: 1, epoch: 2 });

    const resumed = await trainWith({ epochs }, { checkpointDir: saved, resumeState: savedState });
    assert.deepEqual(resumed.result.epochsRun, [3, 4, 5]);
    assert.deepEqual(resumed.states.map((s) => s.epoch), [3, 4, 5]);
    assert.ok(resumed.logs.some((l) => l === 'resuming at epoch 3 from the checkpoint of epoch 2'), resumed.logs.join('\n'));
    assert.deepEqual(resumed.result.metrics.map((m) => m.epoch), [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(resumed.result.metrics.slice(0, 3), uninterrupted.result.metrics.slice(0, 3));
    assertWeightsClose(resumed.result.model, uninterrupted.result.model);
  });

  it('stops within a batch when the run is cancelled, checkpointing nothing after', async () => {
    const controller = new AbortController();
    const started = Date.now();
    await assert.rejects(
      trainWith(
        { epochs: 30 },
        {
          signal: controller.signal,
          progress: (p) => {
            if (p.message === 'epoch 3/30 on wasm') controller.abort();
          },
          checkpoint: async (state) => assert.ok(state.epoch < 2, `no checkpoint after the cancellation (epoch ${state.epoch})`),
        },
      ),
      (err: Error) => err.name === 'AbortError',
    );
    assert.ok(Date.now() - started < 10_000);
  });

  it('falls back to cpu when the model needs a kernel wasm lacks (Embedding\'s gradient), and says why', async () => {
    const { result, logs } = await trainWith({ module: path.join(MODULES, 'embedding.ts'), epochs: 2 });
    assert.equal(result.backend, 'cpu');
    assert.match(result.reason, /^wasm lacks the kernel UnsortedSegmentSum that this model's training needs/);
    assert.deepEqual(result.epochsRun, [0, 1]);
    assert.ok(logs.some((l) => l.startsWith('backend cpu: wasm lacks the kernel UnsortedSegmentSum')), logs.join('\n'));
  });

  it('auto picks wasm here, where tfjs-node is not installed, and says so', async () => {
    const { result } = await trainWith({ epochs: 1, backend: 'auto' });
    assert.equal(result.backend, 'wasm');
    assert.equal(result.reason, 'auto: neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed, so wasm');
  });

  it('refuses a NaN feature and a label that is no class, naming file, row and output; a module without train; a label that is no output', async () => {
    const [source] = await splitParquetFiles({ name: 'train', dir: path.join(transformedDir, 'Split-train') });
    const planted = async (replace: string) => {
      const dir = path.join(await tempDir('trainer-bad-split'), 'Split-train');
      await mkdir(dir);
      await duckQuery(
        `COPY (SELECT * EXCLUDE (file_row_number) REPLACE (${replace}) FROM read_parquet(${sqlString(source!)}, file_row_number = true) ORDER BY file_row_number) TO ${sqlString(path.join(dir, 'data-00000.parquet'))} (FORMAT parquet)`,
      );
      return dir;
    };
    await rejects(
      trainWith({ epochs: 1 }, {}, { trainDir: await planted(`CASE WHEN file_row_number = 5 THEN 'NaN'::FLOAT ELSE beak END AS beak`) }),
      /data-00000\.parquet row 5: transformed feature "beak" is NaN, and a model trains on numbers only: fill missing values in the transform \(fillMissing\)/,
    );
    await rejects(
      trainWith({ epochs: 1 }, {}, { trainDir: await planted(`CASE WHEN file_row_number = 7 THEN -1 ELSE species END AS species`) }),
      /data-00000\.parquet row 7: label "species" is -1, not a class id 0\.\.2 \(-1 is a missing or unseen class\)/,
    );
    await rejects(trainWith({ epochs: 1, module: path.join(MODULES, 'no-train.ts') }), /no-train\.ts exports no train\(args\) function \(its exports: build\)/);
    await rejects(trainWith({ epochs: 1, label: 'nope' }), /Trainer label "nope" is not an output of the transform \(its outputs: beak, depth, flipper, mass, island, sex, species\)/);
  });

  it('refuses an eval split with a label that is no class (read while the first epoch trains), whether the module validates on it or not', async () => {
    const [source] = await splitParquetFiles({ name: 'eval', dir: path.join(transformedDir, 'Split-eval') });
    const dir = path.join(await tempDir('trainer-bad-eval'), 'Split-eval');
    await mkdir(dir);
    await duckQuery(
      `COPY (SELECT * EXCLUDE (file_row_number) REPLACE (CASE WHEN file_row_number = 3 THEN 9 ELSE species END AS species) FROM read_parquet(${sqlString(source!)}, file_row_number = true) ORDER BY file_row_number) TO ${sqlString(path.join(dir, 'data-00000.parquet'))} (FORMAT parquet)`,
    );
    const message = /Split-eval\/data-00000\.parquet row 3: label "species" is 9, not a class id 0\.\.2/;
    await rejects(trainWith({ epochs: 2 }, {}, { evalDir: dir }), message);
    await rejects(trainWith({ epochs: 2, hyperparameters: { validate: false } }, {}, { evalDir: dir }), message);
  });
});
