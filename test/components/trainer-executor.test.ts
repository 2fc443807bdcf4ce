import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ExampleGen } from '../../components/example-gen/spec';
import { SchemaGen } from '../../components/schema-gen/spec';
import { StatisticsGen } from '../../components/statistics-gen/spec';
import { SCRIPT_LOG_FILE } from '../../components/trainer/executor';
import { METRICS_FILE, MODEL_FILE, SERVING_CONFIG_FILE, SERVING_MODEL_FILE, SERVING_SIGNATURE_FILE, TRAINING_FILE } from '../../components/trainer/payload';
import { ServingSignatureSchema } from '../../components/trainer/serving-graph';
import { Trainer } from '../../components/trainer/spec';
import { Transform } from '../../components/transform/spec';
import { openSession } from '../../onnx/session';
import { penguinsTransform } from '../../examples/penguins/transform';
import { runExecutorForTest, type TestArtifact } from '../support/executor-harness';
import { REPO_ROOT } from '../support/repo-root';
import { sklearnPython } from '../support/test-tools';
import { rejects } from '../support/user-input-errors';
import { readParquet } from './parquet-rows';
import { rawFeeds } from './serving-feeds';
import { vegaFile } from './vega-data';

type Row = Record<string, unknown>;

/** The share of raw rows whose species the serving graph names right. */
async function servingAccuracy(servingDir: string, rows: Row[]): Promise<number> {
  const signature = ServingSignatureSchema.parse(JSON.parse(await readFile(path.join(servingDir, SERVING_SIGNATURE_FILE), 'utf8')));
  assert.ok(!signature.inputs.some((i) => i.name === 'Species'), 'serving takes no label');
  const session = await openSession(path.join(servingDir, SERVING_MODEL_FILE));
  try {
    const out = await session.run(rawFeeds(signature.inputs, rows));
    const classes = out.classes!.data as string[];
    return rows.filter((r, i) => classes[i] === r.Species).length / rows.length;
  } finally {
    await session.release();
  }
}

describe('Trainer component (executor on transformed penguins)', function () {
  let inputs: { examples: TestArtifact[]; transformGraph: TestArtifact[]; schema: TestArtifact[] };
  let evalRows: Row[];

  before(async () => {
    const examples = (await runExecutorForTest(ExampleGen, { parameters: { input: vegaFile('penguins.json') } })).artifact('examples');
    const statistics = (await runExecutorForTest(StatisticsGen, { inputs: { examples: [examples] } })).artifact('statistics');
    const schema = (await runExecutorForTest(SchemaGen, { parameters: { label: 'Species' }, inputs: { statistics: [statistics] } })).artifact('schema');
    const transform = await runExecutorForTest(Transform, { parameters: { transform: penguinsTransform }, inputs: { examples: [examples], schema: [schema] } });
    inputs = { examples: [transform.artifact('transformedExamples')], transformGraph: [transform.artifact('transformGraph')], schema: [schema] };
    const evalDir = path.join(examples.localDir, 'Split-eval');
    evalRows = (await Promise.all((await readdir(evalDir)).sort().map((f) => readParquet(path.join(evalDir, f))))).flat();
  });

  it('trains the TypeScript module, exports model.onnx and composes a serving graph that names the species from raw rows', async () => {
    const run = await runExecutorForTest(Trainer, {
      parameters: { module: path.join(REPO_ROOT, 'examples', 'penguins', 'trainer.ts'), label: 'species', epochs: 40, hyperparameters: { hidden: 16 } },
      inputs,
    });
    const modelDir = run.outputDirs.model!;
    for (const file of [MODEL_FILE, METRICS_FILE, TRAINING_FILE]) assert.ok((await readdir(modelDir)).includes(file), `Model artifact has ${file}`);
    const metrics = JSON.parse(await readFile(path.join(modelDir, METRICS_FILE), 'utf8')) as Array<{ epoch: number; loss: number; val_acc?: number }>;
    assert.deepEqual(metrics.map((m) => m.epoch), Array.from({ length: 40 }, (_, i) => i));
    assert.ok(metrics.at(-1)!.loss < metrics[0]!.loss, 'the loss went down');
    const training = JSON.parse(await readFile(path.join(modelDir, TRAINING_FILE), 'utf8')) as { backend: string; backendReason: string };
    assert.equal(training.backend, 'wasm');
    assert.match(training.backendReason, /\S/);
    const servingDir = run.outputDirs.servingModel!;
    const config = JSON.parse(await readFile(path.join(servingDir, SERVING_CONFIG_FILE), 'utf8')) as { max_batch_size: number };
    assert.ok(config.max_batch_size > 0);
    const accuracy = await servingAccuracy(servingDir, evalRows);
    assert.ok(accuracy >= 0.95, `eval accuracy of serving.onnx on raw rows: ${accuracy}`);
    assert.equal(run.result.properties?.servingModel?.task, 'classification');
  });

  it("runs the user's own scikit-learn script and composes its model the same way", async function () {
    const python = sklearnPython(this);
    const script = path.join(REPO_ROOT, 'test', 'fixtures', 'trainer-scripts', 'train_penguins_sklearn.py');
    const run = await runExecutorForTest(Trainer, {
      parameters: { command: [python, script], scriptFiles: [script], label: 'species', epochs: 3, scoresOutput: 'probabilities' },
      inputs,
    });
    const log = await readFile(path.join(run.outputDirs.model!, SCRIPT_LOG_FILE), 'utf8');
    assert.match(log, /train_penguins_sklearn\.py/);
    const metrics = JSON.parse(await readFile(path.join(run.outputDirs.model!, METRICS_FILE), 'utf8')) as Array<{ epoch: number }>;
    assert.deepEqual(metrics.map((m) => m.epoch), [1, 2, 3]);
    const accuracy = await servingAccuracy(run.outputDirs.servingModel!, evalRows);
    assert.ok(accuracy >= 0.95, `eval accuracy of the composed scikit-learn model on raw rows: ${accuracy}`);
  });

  it('refuses a label that is no transform output, and a module and a command together', async () => {
    await rejects(
      runExecutorForTest(Trainer, { parameters: { module: path.join(REPO_ROOT, 'examples', 'penguins', 'trainer.ts'), label: 'Species' }, inputs }),
      /label "Species" is no output of the transform \(it has beakLength, .*species\)/,
    );
    await rejects(
      runExecutorForTest(Trainer, { parameters: { module: 'a.ts', command: ['python3'], label: 'species' }, inputs }),
      /give exactly one of module \(a TypeScript train\(args\)\) and command/,
    );
  });
});
