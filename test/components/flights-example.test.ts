import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { NO_S3_SOURCES } from '../../artifacts/s3-sources';
import { INFRA_BLESSING_FILE } from '../../components/infra-validator/payload';
import { PUSH_FILE, PushRecordSchema } from '../../components/pusher/payload';
import { startModelServer } from '../../serving/server';
import { sqlString } from '../../components/data/sql';
import { METRICS_FILE, MODEL_FILE, SERVING_MODEL_FILE, SERVING_SIGNATURE_FILE, TRAINING_FILE } from '../../components/trainer/payload';
import { ServingSignatureSchema } from '../../components/trainer/serving-graph';
import { EVALUATION_FILE, EvaluationSchema } from '../../components/evaluator/payload';
import createPipeline, { sampleSplits } from '../../examples/flights/pipeline';
import { openSession } from '../../onnx/session';
import { runPipelineNodes } from '../support/run-pipeline-nodes';
import { tempDir } from '../support/tmp';
import { throwsUserInputError } from '../support/user-input-errors';
import { duckQuery, readParquet } from './parquet-rows';
import { rawFeeds } from './serving-feeds';
import { vegaFile } from './vega-data';

type Row = Record<string, unknown>;

/** Area under the ROC curve: the chance that a delayed flight scores above an on-time one (ties count half). */
function auc(scores: number[], positive: boolean[]): number {
  const order = scores.map((s, i) => ({ s, p: positive[i]! })).sort((a, b) => a.s - b.s);
  let negativesBelow = 0;
  let wins = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    let pos = 0;
    let neg = 0;
    for (; j < order.length && order[j]!.s === order[i]!.s; j++) order[j]!.p ? pos++ : neg++;
    wins += pos * (negativesBelow + neg / 2);
    negativesBelow += neg;
    i = j;
  }
  const positives = positive.filter(Boolean).length;
  return wins / (positives * (positive.length - positives));
}

describe('examples/flights: the pipeline module, node by node (ExampleGen to Pusher), on 50 000 flights', function () {
  this.timeout(180_000);
  let runs: Awaited<ReturnType<typeof runPipelineNodes>>;
  let evalRows: Row[];
  let repositoryDir: string;

  before(async () => {
    const dir = await tempDir('flights-example');
    const sample = path.join(dir, 'flights-50k.parquet');
    // Every 60th flight of the six months, so the sample covers every month, day and hour as the whole does.
    await duckQuery(
      `COPY (SELECT * EXCLUDE (file_row_number) FROM read_parquet(${sqlString(vegaFile('flights-3m.parquet'))}, file_row_number = true) ` +
        `WHERE file_row_number % 60 = 0 ORDER BY file_row_number) TO ${sqlString(sample)} (FORMAT parquet)`,
    );
    repositoryDir = path.join(dir, 'models');
    runs = await runPipelineNodes(createPipeline({ input: sample, epochs: '5', repository: pathToFileURL(repositoryDir).href }), {
      modelRegistry: { metadataUrl: `sqlite://${path.join(dir, 'metadata.db')}`, s3Sources: NO_S3_SOURCES },
    });
    const evalDir = path.join(runs.get('example_gen')!.outputDirs.examples!, 'Split-eval');
    evalRows = (await Promise.all((await readdir(evalDir)).sort().map((f) => readParquet(path.join(evalDir, f))))).flat();
  });

  it('trains on wasm, records per-epoch eval metrics, and its serving graph ranks raw flights better than the majority class', async () => {
    const modelDir = runs.get('trainer')!.outputDirs.model!;
    assert.ok((await readdir(modelDir)).includes(MODEL_FILE));
    const training = JSON.parse(await readFile(path.join(modelDir, TRAINING_FILE), 'utf8')) as { backend: string };
    assert.equal(training.backend, 'wasm', 'one-hot airports keep every gradient on wasm');
    const metrics = JSON.parse(await readFile(path.join(modelDir, METRICS_FILE), 'utf8')) as Array<Record<string, number>>;
    assert.deepEqual(metrics.map((m) => m.epoch), [0, 1, 2, 3, 4]);
    for (const m of metrics) assert.ok(Number.isFinite(m.val_loss) && Number.isFinite(m.val_acc), `eval metrics of epoch ${m.epoch}: ${JSON.stringify(m)}`);

    const servingDir = runs.get('trainer')!.outputDirs.servingModel!;
    const signature = ServingSignatureSchema.parse(JSON.parse(await readFile(path.join(servingDir, SERVING_SIGNATURE_FILE), 'utf8')));
    assert.deepEqual(signature.inputs.map((i) => i.name).sort(), ['date', 'destination', 'distance', 'origin'], 'serving reads no delay');
    assert.deepEqual(signature.classes, ['on time', 'delayed']);
    const session = await openSession(path.join(servingDir, SERVING_MODEL_FILE));
    const out = await session.run(rawFeeds(signature.inputs, evalRows)).finally(() => session.release());
    const delayed = evalRows.map((r) => Number(r.delay) >= 15);
    const probabilities = out.probabilities!.data as Float32Array;
    const classes = out.classes!.data as string[];
    const accuracy = evalRows.filter((_, i) => (classes[i] === 'delayed') === delayed[i]).length / evalRows.length;
    const delayedShare = delayed.filter(Boolean).length / delayed.length;
    const majorityAccuracy = Math.max(delayedShare, 1 - delayedShare);
    const rocAuc = auc(evalRows.map((_, i) => probabilities[2 * i + 1]!), delayed);
    // A constant guess (the majority class) ranks no flight above another: AUC 0.5.
    assert.ok(rocAuc >= 0.62, `eval AUC ${rocAuc.toFixed(3)} against 0.5 for the majority class`);
    assert.ok(accuracy >= majorityAccuracy - 0.005, `eval accuracy ${accuracy.toFixed(4)} against the majority class's ${majorityAccuracy.toFixed(4)}`);
  });

  it("the Evaluator blesses it by the example's thresholds (ROC AUC at least 0.6; no baseline yet), its overall AUC the same as the serving graph's own scores give", async () => {
    const evaluation = EvaluationSchema.parse(JSON.parse(await readFile(path.join(runs.get('evaluator')!.outputDirs.evaluation!, EVALUATION_FILE), 'utf8')));
    assert.equal(evaluation.verdict, 'blessed');
    const overall = evaluation.candidate.slices.find((s) => Object.keys(s.slice).length === 0)!;
    assert.equal(overall.examples, evalRows.length, 'every eval flight has a label');
    const servingDir = runs.get('trainer')!.outputDirs.servingModel!;
    const signature = ServingSignatureSchema.parse(JSON.parse(await readFile(path.join(servingDir, SERVING_SIGNATURE_FILE), 'utf8')));
    const session = await openSession(path.join(servingDir, SERVING_MODEL_FILE));
    const out = await session.run(rawFeeds(signature.inputs, evalRows)).finally(() => session.release());
    const probabilities = out.probabilities!.data as Float32Array;
    const expected = auc(evalRows.map((_, i) => probabilities[2 * i + 1]!), evalRows.map((r) => Number(r.delay) >= 15));
    assert.ok(Math.abs(overall.metrics.roc_auc!.value! - expected) < 1e-9, `Evaluator ROC AUC ${overall.metrics.roc_auc!.value} vs ${expected} from the scores`);
    assert.ok(evaluation.candidate.slices.some((s) => s.slice.origin === 'ATL'), 'sliced by origin airport');
  });

  it('the InfraValidator serves it and blesses it; the Pusher publishes version 1, which a model server loads and answers the pushed example flight with', async () => {
    const infra = JSON.parse(await readFile(path.join(runs.get('infra_validator')!.outputDirs.infraBlessing!, INFRA_BLESSING_FILE), 'utf8')) as { infraBlessed: boolean; reason: string };
    assert.equal(infra.infraBlessed, true, infra.reason);
    assert.equal(runs.get('pusher')!.result.summary?.version, 1);
    const record = PushRecordSchema.parse(JSON.parse(await readFile(path.join(repositoryDir, 'flights', '1', PUSH_FILE), 'utf8')));
    const row = record.exampleRequest!.instances[0]!;
    assert.deepEqual(Object.keys(row).sort(), ['date', 'destination', 'distance', 'origin']);
    const server = await startModelServer({ repository: pathToFileURL(repositoryDir).href, httpPort: 0, grpcPort: 0, pollIntervalMs: 0 }, () => undefined);
    try {
      assert.deepEqual(server.repository.servingVersions('flights'), [1]);
      const reply = await fetch(`http://127.0.0.1:${server.httpPort}/v1/models/flights:predict`, { method: 'POST', body: JSON.stringify(record.exampleRequest) });
      const body = (await reply.json()) as { predictions: Array<{ classes: string; probabilities: number[] }> };
      const [prediction] = body.predictions;
      assert.ok(prediction && ['on time', 'delayed'].includes(prediction.classes), JSON.stringify(body));
      assert.ok(Math.abs(prediction.probabilities[0]! + prediction.probabilities[1]! - 1) < 1e-5);
      assert.equal(prediction.classes, prediction.probabilities[1]! > prediction.probabilities[0]! ? 'delayed' : 'on time');
    } finally {
      await server.stop();
    }
  });

  it('labels a flight delayed at 15 minutes late or more, row for row with the raw delay', async () => {
    const transformed = runs.get('transform')!.outputDirs.transformedExamples!;
    const dir = path.join(transformed, 'Split-eval');
    const labels = (await Promise.all((await readdir(dir)).sort().map((f) => readParquet(path.join(dir, f), 'delayed')))).flat();
    assert.equal(labels.length, evalRows.length);
    assert.deepEqual(labels.map((r) => Number(r.delayed)), evalRows.map((r) => (Number(r.delay) >= 15 ? 1 : 0)));
  });

  it('samples by hash buckets: train:eval = 2:1 of the fraction, the rest in a split nothing reads', () => {
    assert.deepEqual(sampleSplits(0.01), [
      { name: 'train', hashBuckets: 2 },
      { name: 'eval', hashBuckets: 1 },
      { name: 'unused', hashBuckets: 297 },
    ]);
    assert.deepEqual(sampleSplits(1).map((s) => s.name), ['train', 'eval']);
    const nodes = new Map(createPipeline({ sample: '0.01' }).nodes.map((n) => [n.id, n.options.parameters as Record<string, unknown>]));
    assert.deepEqual(nodes.get('statistics_gen')!.excludeSplits, ['unused']);
    assert.deepEqual(nodes.get('transform')!.excludeSplits, ['unused']);
    throwsUserInputError(() => createPipeline({ sample: '0' }), /--param sample must be a fraction in \(0, 1\].*got 0/);
    throwsUserInputError(() => createPipeline({ sample: 'half' }), /--param sample must be a fraction in \(0, 1\].*got NaN/);
  });
});
