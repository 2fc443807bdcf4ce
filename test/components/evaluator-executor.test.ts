import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { BLESSING_FILE, EVALUATION_FILE, EVALUATION_REPORT_FILE, EvaluationSchema, type Evaluation } from '../../components/evaluator/payload';
import { Evaluator } from '../../components/evaluator/spec';
import { SERVING_MODEL_FILE, SERVING_SIGNATURE_FILE } from '../../components/trainer/payload';
import { ServingSignatureSchema } from '../../components/trainer/serving-graph';
import { openSession } from '../../onnx/session';
import { runExecutorForTest, type TestArtifact } from '../support/executor-harness';
import { rejects } from '../support/user-input-errors';
import { readParquet } from './parquet-rows';
import { penguinsServingModel } from './penguins-serving-model';
import { rawFeeds } from './serving-feeds';

type Row = Record<string, unknown>;

describe('Evaluator component (executor on the penguins model)', function () {
  let examples: TestArtifact;
  let servingModel: TestArtifact;
  let transformGraph: TestArtifact;
  let evalRows: Row[];
  /** Class predicted for each eval row by serving.onnx itself, computed apart from the Evaluator. */
  let predicted: string[];

  before(async () => {
    ({ examples, transformGraph, servingModel } = await penguinsServingModel(30));
    const evalDir = path.join(examples.localDir, 'Split-eval');
    evalRows = (await Promise.all((await readdir(evalDir)).sort().map((f) => readParquet(path.join(evalDir, f))))).flat();
    const signature = ServingSignatureSchema.parse(JSON.parse(await readFile(path.join(servingModel.localDir, SERVING_SIGNATURE_FILE), 'utf8')));
    const session = await openSession(path.join(servingModel.localDir, SERVING_MODEL_FILE));
    predicted = (await session.run(rawFeeds(signature.inputs, evalRows))).classes!.data as string[];
    await session.release();
  });

  const evaluate = (parameters: Record<string, unknown>) => runExecutorForTest(Evaluator, { parameters: { label: 'Species', ...parameters }, inputs: { examples: [examples], model: [servingModel] } });
  const read = async (dir: string): Promise<Evaluation> => EvaluationSchema.parse(JSON.parse(await readFile(path.join(dir, EVALUATION_FILE), 'utf8')));

  it('computes the metrics overall and per island from the serving graph, with bootstrap intervals, and blesses a model that clears its thresholds', async () => {
    const run = await evaluate({ slices: ['Island'], minSliceSize: 20, thresholds: [{ metric: 'accuracy', value: { lower: 0.9 } }], bootstrap: { resamples: 50, seed: 3 } });
    const evaluation = await read(run.outputDirs.evaluation!);
    const accuracy = evalRows.filter((r, i) => predicted[i] === r.Species).length / evalRows.length;
    const overall = evaluation.candidate.slices[0]!;
    assert.deepEqual(overall.slice, {});
    assert.equal(overall.examples, evalRows.length);
    assert.equal(overall.metrics.accuracy!.value, accuracy, 'accuracy equals the share of raw eval rows whose species serving.onnx names');
    assert.ok(overall.metrics.accuracy!.lower! <= accuracy && accuracy <= overall.metrics.accuracy!.upper!, 'the interval holds the point estimate');
    assert.ok(overall.metrics.accuracy!.lower! < overall.metrics.accuracy!.upper! || accuracy === 1);
    const islands = [...new Set(evalRows.map((r) => r.Island as string))].sort();
    assert.deepEqual(evaluation.candidate.slices.slice(1).map((s) => s.slice.Island), islands);
    for (const slice of evaluation.candidate.slices.slice(1)) {
      const rows = evalRows.map((r, i) => ({ r, p: predicted[i] })).filter(({ r }) => r.Island === slice.slice.Island);
      assert.equal(slice.examples, rows.length);
      assert.equal(slice.tooSmall, rows.length < 20);
      if (!slice.tooSmall) assert.equal(slice.metrics.accuracy!.value, rows.filter(({ r, p }) => p === r.Species).length / rows.length);
      else assert.deepEqual(slice.metrics, {});
    }
    const confusion = overall.confusionMatrix!;
    assert.equal(confusion.flat().reduce((a, b) => a + b, 0), evalRows.length);
    assert.equal(evaluation.classes!.length, 3);
    assert.equal(evaluation.blessed, true);
    assert.equal(evaluation.verdict, 'blessed');
    assert.equal(evaluation.baseline, null);
    assert.ok(evaluation.featureImportance.length > 0 && evaluation.featureImportance.every((f) => f.repeats === 3));
    assert.equal(run.result.block, undefined);
    assert.equal(run.result.properties?.blessing?.blessed, true);
    assert.ok((await readdir(run.outputDirs.blessing!)).includes('BLESSED'));
    const blessing = JSON.parse(await readFile(path.join(run.outputDirs.blessing!, BLESSING_FILE), 'utf8')) as { blessed: boolean };
    assert.equal(blessing.blessed, true);
    const html = await readFile(path.join(run.outputDirs.evaluation!, EVALUATION_REPORT_FILE), 'utf8');
    assert.match(html, /Blessed/);
  });

  it('does not bless a model below a value threshold or with no thresholds configured, and stops the pipeline through the gate', async () => {
    const strict = await evaluate({ thresholds: [{ metric: 'accuracy', value: { lower: 1.01 } }], bootstrap: false, featureImportance: false });
    const evaluation = await read(strict.outputDirs.evaluation!);
    assert.equal(evaluation.blessed, false);
    assert.match(evaluation.verdict, /^not blessed: .*accuracy/);
    assert.equal(evaluation.checks[0]!.passed, false);
    assert.match(strict.result.block!.reason, /not blessed/);
    assert.ok((await readdir(strict.outputDirs.blessing!)).includes('NOT_BLESSED'));

    const none = await evaluate({ bootstrap: false, featureImportance: false });
    const nothing = await read(none.outputDirs.evaluation!);
    assert.equal(nothing.verdict, 'not blessed: no thresholds configured');
    assert.deepEqual(nothing.checks, []);
    assert.match(none.result.block!.reason, /no thresholds configured/);
  });

  it('reads a label the transform derives (its labelIds output) through the transform graph: the same evaluation as the raw label', async () => {
    const parameters = { slices: ['Island'], bootstrap: { resamples: 20, seed: 1 }, featureImportance: { repeats: 2, maxRows: 100, seed: 0 } };
    const raw = await read((await evaluate(parameters)).outputDirs.evaluation!);
    const derivedRun = await runExecutorForTest(Evaluator, { parameters: { label: 'species', ...parameters }, inputs: { examples: [examples], model: [servingModel], transformGraph: [transformGraph] } });
    const derived = await read(derivedRun.outputDirs.evaluation!);
    assert.deepEqual(derived.candidate.slices, raw.candidate.slices);
    assert.deepEqual(derived.featureImportance, raw.featureImportance);
    assert.equal(derived.label, 'species');
  });

  it('refuses a label or a slicing feature the split lacks, naming it', async () => {
    await rejects(evaluate({ label: 'Wingspan' }), /split "eval" has no column "Wingspan"/);
    await rejects(evaluate({ slices: ['Beak Colour'] }), /split "eval" has no column "Beak Colour"/);
  });
});
