import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { BLESSED_PROPERTY, MODEL_CONTENT_PROPERTY, MODEL_URI_PROPERTY } from '../../components/evaluator/baseline';
import { EVALUATION_FILE, EVALUATION_REPORT_FILE, EvaluationSchema, type Evaluation } from '../../components/evaluator/payload';
import { Evaluator, EvaluatorParametersSchema } from '../../components/evaluator/spec';
import { ExampleGen } from '../../components/example-gen/spec';
import { esc } from '../../components/reports/format';
import { SchemaGen } from '../../components/schema-gen/spec';
import { StatisticsGen } from '../../components/statistics-gen/spec';
import { SERVING_MODEL_FILE, SERVING_SIGNATURE_FILE } from '../../components/trainer/payload';
import { ServingSignatureSchema } from '../../components/trainer/serving-graph';
import { Trainer, TrainerParametersSchema } from '../../components/trainer/spec';
import { Transform } from '../../components/transform/spec';
import { pipeline, type PipelineDefinition } from '../../dsl/compile';
import createPenguinsPipeline from '../../examples/penguins/pipeline';
import { penguinsTransform } from '../../examples/penguins/transform';
import { openSession } from '../../onnx/session';
import type { PipelineStatus } from '../../workflows/pipeline-types';
import { readParquet } from '../components/parquet-rows';
import { rawFeeds } from '../components/serving-feeds';
import { vegaFile } from '../components/vega-data';
import { AfterBlessing } from '../fixtures/after-blessing';
import { REPO_ROOT } from '../support/repo-root';
import { startTestStack, type TestStack } from './harness';

const PIPELINE = 'penguins-evaluated';
const PENGUINS_TRAINER = path.join(REPO_ROOT, 'examples', 'penguins', 'trainer.ts');
const SHUFFLED_LABELS_TRAINER = path.join(REPO_ROOT, 'test', 'fixtures', 'trainer-modules', 'shuffled-labels.ts');
const EPOCHS = 30;

type Row = Record<string, unknown>;
const states = (s: PipelineStatus) => Object.fromEntries(Object.entries(s.nodes).map(([k, v]) => [k, v.state]));
const output = (s: PipelineStatus, node: string, name: string) => s.nodes[node]!.outputs![name]![0]!;
/** As thresholds.ts writes numbers into a check's reason. */
const num = (v: number) => String(Number(v.toPrecision(6)));

/** A node's parameters as the penguins example sets them (defaults filled in). */
function exampleParameters(node: string): unknown {
  return createPenguinsPipeline().nodes.find((n) => n.id === node)!.options.parameters;
}

/**
 * The penguins example's ExampleGen → StatisticsGen → SchemaGen → Transform → Trainer → Evaluator (its
 * thresholds: accuracy ≥ 0.9, no more than 2 points below the baseline), with the trainer module and seed
 * given and fewer epochs, and a node after the Evaluator standing for the Pusher.
 */
function penguinsEvaluated(trainer: { module: string; seed: number }): PipelineDefinition {
  const examples = ExampleGen('example_gen', { parameters: { input: vegaFile('penguins.json') } });
  const statistics = StatisticsGen('statistics_gen', { inputs: { examples: examples.outputs.examples } });
  const schema = SchemaGen('schema_gen', { parameters: { label: 'Species' }, inputs: { statistics: statistics.outputs.statistics } });
  const transformed = Transform('transform', {
    parameters: { transform: penguinsTransform },
    inputs: { examples: examples.outputs.examples, schema: schema.outputs.schema },
  });
  const trained = Trainer('trainer', {
    parameters: { ...TrainerParametersSchema.parse(exampleParameters('trainer')), ...trainer, epochs: EPOCHS },
    inputs: { examples: transformed.outputs.transformedExamples, transformGraph: transformed.outputs.transformGraph, schema: schema.outputs.schema },
  });
  const evaluator = Evaluator('evaluator', {
    parameters: EvaluatorParametersSchema.parse(exampleParameters('evaluator')),
    inputs: { examples: examples.outputs.examples, model: trained.outputs.servingModel },
  });
  const pusher = AfterBlessing('pusher', { inputs: { blessing: evaluator.outputs.blessing } });
  return pipeline({ name: PIPELINE, nodes: [examples, statistics, schema, transformed, trained, evaluator, pusher] });
}

describe('Evaluator on a real stack: the baseline is the last blessed model, and a degraded model stops the pipeline', function () {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack();
    stack.registry.register(AfterBlessing.spec);
    await stack.addWorkers(['control', 'cpu']);
  });
  after(async () => stack?.stop());

  async function evaluationOf(status: PipelineStatus): Promise<Evaluation> {
    const dir = await stack.store.materialize(output(status, 'evaluator', 'evaluation'));
    return EvaluationSchema.parse(JSON.parse(await readFile(path.join(dir, EVALUATION_FILE), 'utf8')));
  }

  async function evalRows(status: PipelineStatus): Promise<Row[]> {
    const dir = path.join(await stack.store.materialize(output(status, 'example_gen', 'examples')), 'Split-eval');
    return (await Promise.all((await readdir(dir)).sort().map((f) => readParquet(path.join(dir, f))))).flat();
  }

  /** The share of eval rows whose species the ServingModel's own graph names, computed apart from the Evaluator. */
  async function servedAccuracy(servingModelUri: string, rows: Row[]): Promise<number> {
    const dir = await stack.store.materialize(servingModelUri);
    const signature = ServingSignatureSchema.parse(JSON.parse(await readFile(path.join(dir, SERVING_SIGNATURE_FILE), 'utf8')));
    const session = await openSession(path.join(dir, SERVING_MODEL_FILE));
    try {
      const predicted = (await session.run(rawFeeds(signature.inputs, rows))).classes!.data as string[];
      return rows.filter((r, i) => predicted[i] === r.Species).length / rows.length;
    } finally {
      await session.release();
    }
  }

  async function blessingProperties(status: PipelineStatus) {
    const blessing = await stack.metadata.getArtifact(output(status, 'evaluator', 'blessing'));
    const markers = (await readdir(await stack.store.materialize(blessing!.uri))).filter((f) => f.endsWith('BLESSED'));
    return { blessed: blessing!.properties[BLESSED_PROPERTY], model: blessing!.properties[MODEL_URI_PROPERTY], content: blessing!.properties[MODEL_CONTENT_PROPERTY], markers };
  }

  const overallAccuracy = (e: Evaluation, whose: 'candidate' | 'baseline') => e[whose]!.slices[0]!.metrics.accuracy!.value!;
  const check = (e: Evaluation, kind: 'value' | 'change') => e.checks.find((c) => c.metric === 'accuracy' && c.kind === kind && Object.keys(c.slice).length === 0)!;

  it('first model blessed by value thresholds; an identical run cached; shuffled labels blocked before the push; another seed compared with the first model', async () => {
    // Run 1: no blessed model yet, so no baseline; judged by accuracy ≥ 0.9 alone.
    const first = await stack.run(penguinsEvaluated({ module: PENGUINS_TRAINER, seed: 0 }));
    assert.equal(first.status.state, 'succeeded', first.error);
    assert.deepEqual(Object.values(states(first.status)), Array(7).fill('succeeded'));
    const rows = await evalRows(first.status);
    const firstModel = output(first.status, 'trainer', 'servingModel');
    const firstModelRecord = (await stack.metadata.getArtifact(firstModel))!;
    const e1 = await evaluationOf(first.status);
    const accuracy1 = await servedAccuracy(firstModel, rows);
    assert.equal(e1.baseline, null, 'a first model has no baseline');
    assert.deepEqual(e1.differences, []);
    assert.equal(e1.candidate.uri, firstModel);
    assert.equal(e1.candidate.slices[0]!.examples, rows.length);
    assert.equal(overallAccuracy(e1, 'candidate'), accuracy1, "accuracy is the share of eval rows serving.onnx gets right");
    assert.ok(accuracy1 >= 0.9, `the first model clears 0.9 (${accuracy1})`);
    assert.equal(check(e1, 'value').passed, true);
    assert.equal(check(e1, 'change').skipped, true, 'the change threshold is skipped without a baseline');
    assert.equal(e1.blessed, true);
    assert.equal(e1.verdict, 'blessed');
    assert.deepEqual(await blessingProperties(first.status), { blessed: true, model: firstModel, content: firstModelRecord.contentHash, markers: ['BLESSED'] });
    assert.equal(first.status.nodes.evaluator!.summary?.baseline, 'none (a first model: value thresholds only)');

    // Run 2, identical: the resolver passes over run 1's blessing (its model is the candidate), so the key is unchanged.
    const second = await stack.run(penguinsEvaluated({ module: PENGUINS_TRAINER, seed: 0 }));
    assert.equal(second.status.state, 'succeeded', second.error);
    assert.deepEqual(states(second.status), Object.fromEntries(Object.keys(first.status.nodes).map((n) => [n, 'cached'])));
    assert.equal(output(second.status, 'evaluator', 'evaluation'), output(first.status, 'evaluator', 'evaluation'));

    // Run 3: labels shuffled within each training batch; the baseline is run 1's model.
    const third = await stack.run(penguinsEvaluated({ module: SHUFFLED_LABELS_TRAINER, seed: 0 }));
    assert.equal(third.status.state, 'failed');
    assert.deepEqual(states(third.status), {
      example_gen: 'cached',
      statistics_gen: 'cached',
      schema_gen: 'cached',
      transform: 'cached',
      trainer: 'succeeded',
      evaluator: 'blocked',
      pusher: 'skipped',
    });
    assert.equal(third.status.nodes.pusher!.error, "blocked by 'evaluator'");
    const degradedModel = output(third.status, 'trainer', 'servingModel');
    const e3 = await evaluationOf(third.status);
    const accuracy3 = await servedAccuracy(degradedModel, rows);
    assert.equal(e3.candidate.uri, degradedModel);
    assert.equal(e3.baseline?.uri, firstModel, "the baseline is run 1's model");
    assert.equal(e3.baseline?.contentHash, firstModelRecord.contentHash);
    assert.equal(overallAccuracy(e3, 'baseline'), accuracy1, "the baseline's accuracy is run 1's candidate accuracy");
    assert.equal(overallAccuracy(e3, 'candidate'), accuracy3);
    assert.ok(accuracy3 < 0.6, `shuffled labels leave the model little better than the class shares (${accuracy3})`);
    assert.equal(e3.differences[0]!.metrics.accuracy!.value, accuracy3 - accuracy1);
    const value3 = check(e3, 'value');
    const change3 = check(e3, 'change');
    assert.equal(value3.passed, false);
    assert.equal(value3.reason, `accuracy on overall = ${num(accuracy3)} < lower bound 0.9`);
    assert.equal(change3.passed, false);
    assert.equal(change3.baselineValue, accuracy1);
    assert.equal(change3.reason, `accuracy on overall: ${num(accuracy3)} vs baseline ${num(accuracy1)}, change ${num(accuracy3 - accuracy1)} < absolute slack -0.02 (higher is better)`);
    assert.equal(e3.blessed, false);
    assert.equal(e3.verdict, `not blessed: ${value3.reason}; ${change3.reason}`);
    assert.equal(third.status.nodes.evaluator!.error, `the model is ${e3.verdict} (see ${EVALUATION_REPORT_FILE})`);
    assert.match(third.error ?? '', /node 'evaluator' blocked: the model is not blessed: /);
    const html = await readFile(path.join(await stack.store.materialize(output(third.status, 'evaluator', 'evaluation')), EVALUATION_REPORT_FILE), 'utf8');
    assert.match(html, /data-verdict="not-blessed"/);
    for (const reason of [value3.reason, change3.reason]) assert.ok(html.includes(esc(reason)), `the report names the failed check: ${reason}`);
    assert.deepEqual(await blessingProperties(third.status), { blessed: false, model: degradedModel, content: (await stack.metadata.getArtifact(degradedModel))!.contentHash, markers: ['NOT_BLESSED'] });
    const run3 = await stack.metadata.getRun((await third.handle.describe()).runId);
    assert.equal(run3!.executions.find((e) => e.nodeId === 'pusher'), undefined, 'the push never ran');

    // Run 4: another seed, a good model of other content: compared with run 1's model (run 3's was not blessed).
    const fourth = await stack.run(penguinsEvaluated({ module: PENGUINS_TRAINER, seed: 1 }));
    assert.equal(fourth.status.state, 'succeeded', fourth.error);
    assert.equal(fourth.status.nodes.evaluator!.state, 'succeeded');
    assert.equal(fourth.status.nodes.pusher!.state, 'succeeded');
    const secondModel = output(fourth.status, 'trainer', 'servingModel');
    assert.notEqual((await stack.metadata.getArtifact(secondModel))!.contentHash, firstModelRecord.contentHash);
    const e4 = await evaluationOf(fourth.status);
    const accuracy4 = await servedAccuracy(secondModel, rows);
    assert.equal(e4.baseline?.uri, firstModel, "the newest blessed model of other content is run 1's");
    assert.equal(overallAccuracy(e4, 'baseline'), accuracy1);
    assert.equal(overallAccuracy(e4, 'candidate'), accuracy4);
    const change4 = check(e4, 'change');
    assert.equal(change4.passed, true, change4.reason);
    assert.equal(change4.value! - change4.baselineValue!, accuracy4 - accuracy1);
    assert.ok(accuracy4 - accuracy1 >= -0.02);
    assert.equal(e4.verdict, 'blessed');
    assert.equal(fourth.status.nodes.evaluator!.summary?.baseline, firstModel);
    assert.deepEqual(await blessingProperties(fourth.status), { blessed: true, model: secondModel, content: (await stack.metadata.getArtifact(secondModel))!.contentHash, markers: ['BLESSED'] });
    console.log(`      accuracy: run 1 ${num(accuracy1)}, shuffled labels ${num(accuracy3)}, seed 1 ${num(accuracy4)}; runs took ${[first, second, third, fourth].map((r) => `${(r.wallMs / 1000).toFixed(1)} s`).join(', ')}`);
  });
});
