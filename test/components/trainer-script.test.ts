import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { ExampleGen } from '../../components/example-gen/spec';
import { SCHEMA_FILE_NAME } from '../../components/schema-gen/payload';
import { SchemaGen } from '../../components/schema-gen/spec';
import { StatisticsGen } from '../../components/statistics-gen/spec';
import { MODEL_FILE } from '../../components/trainer/payload';
import { CHECKPOINT_SAVED_LINE, HYPERPARAMETERS_FILE, runTrainingScript, type TrainingScriptOptions, type TrainingScriptProgress } from '../../components/trainer/run-script';
import { SIGNATURE_FILE, TransformSignatureSchema, type TransformSignature } from '../../components/transform/signature';
import { Transform } from '../../components/transform/spec';
import { penguinsTransform } from '../../examples/penguins/transform';
import { openSession, Tensor } from '../../onnx/session';
import { runExecutorForTest } from '../support/executor-harness';
import { REPO_ROOT } from '../support/repo-root';
import { sklearnPython } from '../support/test-tools';
import { tempDir } from '../support/tmp';
import { rejects } from '../support/user-input-errors';
import { readParquet } from './parquet-rows';
import { vegaFile } from './vega-data';

const SKLEARN_SCRIPT = path.join(REPO_ROOT, 'test', 'fixtures', 'trainer-scripts', 'train_penguins_sklearn.py');

interface Calls {
  progress: TrainingScriptProgress[];
  checkpoints: Array<{ epoch?: number }>;
}

/** Options with fresh output, checkpoint and scratch directories; the data paths matter only to programs that read them. */
async function scriptOptions(command: string[], overrides: Partial<TrainingScriptOptions> = {}): Promise<{ options: TrainingScriptOptions; calls: Calls }> {
  const dir = await tempDir('trainer-script');
  const calls: Calls = { progress: [], checkpoints: [] };
  const options: TrainingScriptOptions = {
    command,
    trainDir: path.join(dir, 'no-train'),
    evalDir: path.join(dir, 'no-eval'),
    schemaFile: path.join(dir, 'no-schema.json'),
    transformSignatureFile: path.join(dir, 'no-signature.json'),
    hyperparameters: {},
    epochs: 3,
    batchSize: 32,
    seed: 0,
    label: 'species',
    outputDir: path.join(dir, 'output'),
    checkpointDir: path.join(dir, 'checkpoint'),
    tmpDir: dir,
    logFile: path.join(dir, 'executor.log'),
    signal: new AbortController().signal,
    onProgress: (p) => calls.progress.push(p),
    onCheckpointReady: async (at) => {
      calls.checkpoints.push(at);
    },
    ...overrides,
  };
  return { options, calls };
}

const sh = (script: string) => ['sh', '-c', script];

/** Running, by /proc: a zombie waiting for its parent to reap it has ended. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The model's feature matrix as the contract defines it, built here from the rows: serving outputs in order, one-hots expanded. */
function featureMatrix(rows: Record<string, unknown>[], signature: TransformSignature): { data: Float32Array; width: number } {
  const outputs = signature.serving.outputs;
  const width = outputs.reduce((w, o) => w + (o.shape.length === 2 ? o.shape[1]! : 1), 0);
  const data = new Float32Array(rows.length * width);
  rows.forEach((row, r) => {
    const values = outputs.flatMap((o) => (o.shape.length === 2 ? (row[o.name] as number[]) : [row[o.name] as number | bigint]));
    assert.equal(values.length, width);
    values.forEach((v, c) => (data[r * width + c] = Number(v)));
  });
  return { data, width };
}

describe("Trainer: the user's own training script (run-script.ts), scikit-learn on penguins", function () {
  let python: string;
  let data: Pick<TrainingScriptOptions, 'trainDir' | 'evalDir' | 'schemaFile' | 'transformSignatureFile' | 'label'>;
  let signature: TransformSignature;
  let uninterrupted: { modelFile: string; progress: TrainingScriptProgress[] } | undefined;
  const EPOCHS = 6;

  before(async function () {
    python = sklearnPython(this);
    const examples = (await runExecutorForTest(ExampleGen, { parameters: { input: vegaFile('penguins.json') } })).artifact('examples');
    const statistics = (await runExecutorForTest(StatisticsGen, { inputs: { examples: [examples] } })).artifact('statistics');
    const schema = (await runExecutorForTest(SchemaGen, { parameters: { label: 'Species' }, inputs: { statistics: [statistics] } })).artifact('schema');
    const transformed = await runExecutorForTest(Transform, { parameters: { transform: penguinsTransform }, inputs: { examples: [examples], schema: [schema] } });
    const signatureFile = path.join(transformed.outputDirs.transformGraph!, SIGNATURE_FILE);
    signature = TransformSignatureSchema.parse(JSON.parse(await readFile(signatureFile, 'utf8')));
    const examplesDir = transformed.outputDirs.transformedExamples!;
    data = {
      trainDir: path.join(examplesDir, 'Split-train'),
      evalDir: path.join(examplesDir, 'Split-eval'),
      schemaFile: path.join(schema.localDir, SCHEMA_FILE_NAME),
      transformSignatureFile: signatureFile,
      label: 'species',
    };
  });

  /** The eval split's accuracy of model.onnx in onnxruntime, against the label column, and its probabilities. */
  async function evaluate(modelFile: string): Promise<{ accuracy: number; rows: number; probabilities: Float32Array }> {
    const files = (await readdir(data.evalDir)).filter((f) => f.endsWith('.parquet')).sort();
    const rows = (await Promise.all(files.map((f) => readParquet(path.join(data.evalDir, f))))).flat();
    const { data: features, width } = featureMatrix(rows, signature);
    const session = await openSession(modelFile);
    try {
      const out = await session.run({ [session.inputNames[0]!]: new Tensor('float32', features, [rows.length, width]) });
      const predicted = out.label!.data as BigInt64Array;
      const probabilities = out.probabilities!;
      assert.deepEqual(probabilities.dims, [rows.length, signature.labels[0]!.classes.length]);
      const correct = rows.filter((row, i) => predicted[i] === BigInt(row.species as bigint)).length;
      return { accuracy: correct / rows.length, rows: rows.length, probabilities: probabilities.data as Float32Array };
    } finally {
      await session.release();
    }
  }

  it('trains: model.onnx classifies the eval split at 0.95 or better in onnxruntime, progress per epoch, a checkpoint after each, stdout and stderr in the log', async () => {
    const { options, calls } = await scriptOptions([python, SKLEARN_SCRIPT], {
      ...data,
      epochs: EPOCHS,
      batchSize: 16,
      seed: 7,
      hyperparameters: { alpha: 1e-3 },
      onCheckpointReady: async (at) => {
        // Saved only when the program says its directory is consistent: the file is whole by then.
        assert.ok(existsSync(path.join(options.checkpointDir, 'model.pkl')), 'model.pkl in the checkpoint directory');
        calls.checkpoints.push(at);
      },
    });
    const result = await runTrainingScript(options);
    assert.equal(result.modelFile, path.join(options.outputDir, MODEL_FILE));

    const epochs = Array.from({ length: EPOCHS }, (_, i) => i + 1);
    assert.deepEqual(calls.progress.map((p) => p.epoch), epochs);
    for (const p of calls.progress) assert.deepEqual(Object.keys(p.metrics).sort(), ['accuracy', 'loss', 'val_accuracy']);
    assert.deepEqual(result.progress, calls.progress);
    assert.deepEqual(calls.checkpoints, epochs.map((epoch) => ({ epoch })));
    assert.equal(result.checkpointsSaved, EPOCHS);

    const { accuracy, rows } = await evaluate(result.modelFile);
    assert.ok(accuracy >= 0.95, `eval accuracy ${accuracy} over ${rows} rows`);
    // The exported graph is the model scikit-learn scored: float32 may move a borderline row, not more.
    assert.ok(Math.abs(accuracy - calls.progress.at(-1)!.metrics.val_accuracy!) <= 1 / rows, `onnxruntime ${accuracy}, scikit-learn ${calls.progress.at(-1)!.metrics.val_accuracy}`);

    const log = await readFile(options.logFile, 'utf8');
    assert.match(log, /^mlpipe: \$ .*train_penguins_sklearn\.py/);
    assert.match(log, /^read \d+ train and \d+ eval rows, 9 features$/m); // stderr
    assert.match(log, /^\{"epoch": 6, "loss": /m); // stdout
    assert.match(log, /^wrote model\.onnx$/m);
    assert.match(log, /^mlpipe: the training command exited with code 0 after /m);
    uninterrupted = { modelFile: result.modelFile, progress: result.progress };
  });

  it('resumes from what the checkpoint directory holds: only the epochs after it run, and the model equals an uninterrupted run', async () => {
    assert.ok(uninterrupted, 'needs the uninterrupted run of the test before');
    const common = { ...data, batchSize: 16, seed: 7, hyperparameters: { alpha: 1e-3 } };
    const first = await scriptOptions([python, SKLEARN_SCRIPT], { ...common, epochs: 2 });
    await runTrainingScript(first.options);
    // The retry's attempt: the checkpoint directory comes back with the saved files, the rest is fresh.
    const retry = await scriptOptions([python, SKLEARN_SCRIPT], { ...common, epochs: EPOCHS, checkpointDir: first.options.checkpointDir });
    const result = await runTrainingScript(retry.options);
    assert.deepEqual(retry.calls.progress.map((p) => p.epoch), [3, 4, 5, 6]);
    assert.match(await readFile(retry.options.logFile, 'utf8'), /^resuming after epoch 2$/m);
    assert.deepEqual(result.progress, uninterrupted.progress.slice(2));
    assert.deepEqual((await evaluate(result.modelFile)).probabilities, (await evaluate(uninterrupted.modelFile)).probabilities);
  });
});

describe('Trainer: the training-script contract (run-script.ts)', function () {
  it('gives the program its environment (no MLPIPE_ settings of the worker), relays progress, answers a checkpoint on stdin', async () => {
    const { options, calls } = await scriptOptions(
      sh(
        [
          'env | grep "^MLPIPE_" | sort',
          'cat "$MLPIPE_HYPERPARAMETERS_FILE"; echo',
          'echo "inherited=$KEEP_ME"',
          `echo '{"epoch": 1, "loss": NaN, "accuracy": 0.5, "phase": "warm-up"}'`,
          `echo 'not {"epoch": 9} progress'`,
          `echo '{"checkpoint": true}'`,
          'read answer; echo "answer=$answer" >&2',
          `echo '{"epoch": 2, "loss": -Infinity}'`,
          `echo '{"step": 40, "loss": 0.25}'`,
          'printf onnx > "$MLPIPE_OUTPUT_DIR/model.onnx"',
        ].join('\n'),
      ),
      { hyperparameters: { depth: 3, name: 'x y' }, epochs: 4, batchSize: 8, seed: 11, env: { PATH: process.env.PATH, KEEP_ME: 'yes', MLPIPE_S3_SECRET_KEY: 'leak' } },
    );
    const result = await runTrainingScript(options);
    const log = await readFile(options.logFile, 'utf8');
    const vars = Object.fromEntries([...log.matchAll(/^(MLPIPE_\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
    assert.deepEqual(vars, {
      MLPIPE_BATCH_SIZE: '8',
      MLPIPE_CHECKPOINT_DIR: options.checkpointDir,
      MLPIPE_EPOCHS: '4',
      MLPIPE_EVAL_DIR: options.evalDir,
      MLPIPE_HYPERPARAMETERS: '{"depth":3,"name":"x y"}',
      MLPIPE_HYPERPARAMETERS_FILE: path.join(options.tmpDir, HYPERPARAMETERS_FILE),
      MLPIPE_LABEL: 'species',
      MLPIPE_OUTPUT_DIR: options.outputDir,
      MLPIPE_SCHEMA: options.schemaFile,
      MLPIPE_SEED: '11',
      MLPIPE_TRAIN_DIR: options.trainDir,
      MLPIPE_TRANSFORM_SIGNATURE: options.transformSignatureFile,
    });
    assert.match(log, /^\{\n {2}"depth": 3,\n {2}"name": "x y"\n\}$/m);
    assert.match(log, /^inherited=yes$/m);
    assert.match(log, new RegExp(`^answer=${CHECKPOINT_SAVED_LINE.replace(/[{}]/g, '\\$&')}$`, 'm'));
    assert.deepEqual(calls.progress, [
      { epoch: 1, metrics: { accuracy: 0.5 } },
      { epoch: 2, metrics: {} },
      { metrics: { step: 40, loss: 0.25 } },
    ]);
    // The checkpoint line names no epoch: the latest progress' is the one saved.
    assert.deepEqual(calls.checkpoints, [{ epoch: 1 }]);
    assert.equal(result.checkpointsSaved, 1);
  });

  it('a non-zero exit fails with the code and the last 20 lines of output; the log keeps all of it', async () => {
    const { options } = await scriptOptions(sh('for i in $(seq 1 30); do echo "out $i"; done; sleep 0.2; echo "err: boom" >&2; exit 3'));
    await rejects(runTrainingScript(options), /^the training command sh -c .* exited with code 3; the last lines of its output \(all of it in .*executor\.log\):\nout 12\n(out \d+\n){18}err: boom$/);
    const log = await readFile(options.logFile, 'utf8');
    for (let i = 1; i <= 30; i++) assert.match(log, new RegExp(`^out ${i}$`, 'm'));
    assert.match(log, /^err: boom$/m);
    assert.match(log, /^mlpipe: the training command exited with code 3 after /m);
  });

  it('a program killed by a signal fails naming the signal', async () => {
    const { options } = await scriptOptions(sh('echo going; kill -SEGV $$'));
    await rejects(runTrainingScript(options), /was killed by SIGSEGV; the last lines of its output .*:\ngoing$/);
  });

  it('exit 0 without model.onnx, or with an empty one, fails naming the path expected', async () => {
    const none = await scriptOptions(sh('echo trained'));
    await rejects(runTrainingScript(none.options), new RegExp(`exited with code 0 but wrote no model: expected ${none.options.outputDir}/model\\.onnx \\(MLPIPE_OUTPUT_DIR/model\\.onnx\\)$`));
    const empty = await scriptOptions(sh(': > "$MLPIPE_OUTPUT_DIR/model.onnx"'));
    await rejects(runTrainingScript(empty.options), new RegExp(`but wrote an empty model: expected ${empty.options.outputDir}/model\\.onnx`));
  });

  it('cancellation kills the program and what it started: SIGTERM, then SIGKILL when it is ignored', async function () {
    if (process.platform !== 'linux') this.skip();
    const controller = new AbortController();
    const { options } = await scriptOptions(sh('trap "" TERM; sleep 300 & echo "child $!"; echo "shell $$"; wait'), { signal: controller.signal });
    const run = runTrainingScript(options);
    const pids = await waitFor('the program to start', async () => {
      const log = await readFile(options.logFile, 'utf8').catch(() => '');
      const child = /^child (\d+)$/m.exec(log)?.[1];
      const shell = /^shell (\d+)$/m.exec(log)?.[1];
      return child && shell ? [Number(child), Number(shell)] : undefined;
    });
    assert.ok(pids.every(alive));
    const abortedAt = Date.now();
    controller.abort();
    await assert.rejects(run, (err: Error) => err.name === 'AbortError');
    const took = Date.now() - abortedAt;
    assert.ok(took >= 1400 && took < 5000, `stopped ${took} ms after the abort (SIGTERM is ignored: SIGKILL after 1.5 s)`);
    await waitFor('both processes to end', async () => (pids.some(alive) ? undefined : true), 2000);
    assert.match(await readFile(options.logFile, 'utf8'), /^mlpipe: the training command was killed by SIGKILL after /m);
  });

  it('what the program leaves running is killed when it exits; one out of its group does not hold the run', async function () {
    if (process.platform !== 'linux') this.skip();
    const { options } = await scriptOptions(sh('sleep 300 & echo "grouped $!"; setsid sleep 30 & echo "escaped $!"; printf onnx > "$MLPIPE_OUTPUT_DIR/model.onnx"'));
    const startedAt = Date.now();
    await runTrainingScript(options);
    const log = await readFile(options.logFile, 'utf8');
    const grouped = Number(/^grouped (\d+)$/m.exec(log)![1]);
    const escaped = Number(/^escaped (\d+)$/m.exec(log)![1]);
    try {
      assert.ok(Date.now() - startedAt < 4000, 'finished although a process still holds its stdout');
      await waitFor('the grouped process to end', async () => (alive(grouped) ? undefined : true), 2000);
    } finally {
      process.kill(escaped, 'SIGKILL');
    }
  });

  it('a program that does not exist, or a working directory that does not, is named', async () => {
    const missing = await scriptOptions(['no-such-trainer-7f3a', 'train.py']);
    await rejects(runTrainingScript(missing.options), /^cannot start the training command no-such-trainer-7f3a train\.py: program "no-such-trainer-7f3a" not found on PATH/);
    const relative = await scriptOptions(['./bin/train'], { cwd: REPO_ROOT });
    await rejects(runTrainingScript(relative.options), new RegExp(`program "\\./bin/train" not found ${REPO_ROOT}/bin/train$`));
    const noCwd = await scriptOptions(sh('true'), { cwd: '/no/such/dir' });
    await rejects(runTrainingScript(noCwd.options), /^the training command's working directory \/no\/such\/dir is not a directory$/);
  });

  it('a JSON line breaking the contract stops the program with an error naming the line', async () => {
    const epoch = await scriptOptions(sh(`echo hello; echo '{"epoch": "3", "loss": 1}'; sleep 30`));
    await rejects(runTrainingScript(epoch.options), /^the training command's stdout line 2 \(\{"epoch": "3", "loss": 1\}\): "epoch" .*, got "3"$/);
    const checkpoint = await scriptOptions(sh(`echo '{"checkpoint": "yes"}'; read answer; sleep 30`));
    await rejects(runTrainingScript(checkpoint.options), /^the training command's stdout line 1 .*: "checkpoint" must be true \(the checkpoint directory is ready to save\), got "yes"$/);
  });

  it('a checkpoint that cannot be saved stops the program and fails with why', async () => {
    const { options } = await scriptOptions(sh(`echo '{"epoch": 1}'; echo '{"checkpoint": true}'; read answer; sleep 30`), {
      onCheckpointReady: () => Promise.reject(new Error('store unreachable')),
    });
    const startedAt = Date.now();
    await assert.rejects(runTrainingScript(options), /^Error: store unreachable$/);
    assert.ok(Date.now() - startedAt < 5000);
  });
});
