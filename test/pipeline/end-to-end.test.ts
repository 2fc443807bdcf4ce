import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { WorkflowHandle } from '@temporalio/client';
import { z } from 'zod';
import { ModelVersionRecordSchema } from '../../artifacts/metadata/model-versions';
import { waitForRun } from '../../client/pipeline-client';
import { EVALUATION_FILE, EVALUATION_REPORT_FILE, EvaluationSchema, type Evaluation } from '../../components/evaluator/payload';
import { ANOMALIES_FILE_NAME, ExampleAnomaliesSchema } from '../../components/example-validator/payload';
import { PushRecordSchema } from '../../components/pusher/payload';
import { esc } from '../../components/reports/format';
import { SCHEMA_FILE_NAME } from '../../components/schema-gen/payload';
import createPenguinsPipeline from '../../examples/penguins/pipeline';
import { mulberry32 } from '../../bench/serving/models';
import { PipelineStatusSchema, type PipelineStatus } from '../../workflows/pipeline-types';
import { CliProcess, describeResult, parseJsonStdout, runCli } from '../cli/cli-process';
import { vegaFile } from '../components/vega-data';
import { postJson, request, waitFor } from '../serving/serving-fixture';
import { tempDir } from '../support/tmp';
import { startTestStack, type TestStack } from './harness';

/** Fewer than the example's 40: every model here still clears its accuracy ≥ 0.9 threshold. */
const EPOCHS = '20';
const MODEL = 'penguins';
const SERVE_DEADLINE_MS = 30_000;
const RUN_DEADLINE_MS = 90_000;

type Row = Record<string, string | number | null>;
type Prediction = { classes: string } & Record<string, unknown>;

const states = (s: PipelineStatus) => Object.fromEntries(Object.entries(s.nodes).map(([k, v]) => [k, v.state]));
const output = (s: PipelineStatus, node: string, name: string) => s.nodes[node]!.outputs![name]![0]!;
const overallCheck = (e: Evaluation, kind: 'value' | 'change') => e.checks.find((c) => c.metric === 'accuracy' && c.kind === kind && Object.keys(c.slice).length === 0)!;
const overallAccuracy = (e: Evaluation, whose: 'candidate' | 'baseline') => e[whose]!.slices.find((s) => Object.keys(s.slice).length === 0)!.metrics.accuracy!.value!;
/** As thresholds.ts writes numbers into a check's reason. */
const num = (v: number) => String(Number(v.toPrecision(6)));

/** The same rows, their Species dealt out again in a seeded random order: features no longer tell the label. */
function withShuffledSpecies(rows: readonly Row[], seed: number): Row[] {
  const species = rows.map((r) => r.Species);
  const random = mulberry32(seed);
  for (let i = species.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [species[i], species[j]] = [species[j]!, species[i]!];
  }
  return rows.map((r, i) => ({ ...r, Species: species[i]! }));
}

/** Two rows in three: span 1 is a third smaller than the whole data, span 2. */
const spanOneRows = (rows: readonly Row[]) => rows.filter((_, i) => i % 3 !== 0);

describe('penguins end to end on the real stack: degraded data, anomalies, a scheduled retraining on a new span served at once, and a rollback', function () {
  let stack: TestStack;
  let cwd: string;
  let dataDir: string;
  let repository: string;
  let server: CliProcess | undefined;
  let scheduledRun: WorkflowHandle | undefined;
  let http = '';
  const scheduleId = `penguins-retrain-${process.pid}`;
  const rows = JSON.parse(readFileSync(vegaFile('penguins.json'), 'utf8')) as Row[];
  /** Rows a client asks the server about: complete ones, of every species and island. */
  const asked = rows.filter((r) => Object.values(r).every((v) => v !== null)).filter((_, i) => i % 23 === 0);
  const spanPattern = () => path.join(dataDir, 'span-{SPAN}', 'penguins.json');
  const penguins = (params: Record<string, string>) => createPenguinsPipeline({ repository, epochs: EPOCHS, ...params });

  // What the tests pass along: the first run (span 1, version 1) and version 1's answers.
  let first: PipelineStatus;
  let firstAnswers: Prediction[];
  let versionOne: Awaited<ReturnType<typeof modelVersions>>[number];

  before(async () => {
    stack = await startTestStack({ queues: ['control', 'cpu'] });
    cwd = await tempDir('end-to-end');
    dataDir = path.join(cwd, 'data');
    repository = pathToFileURL(path.join(cwd, 'models')).href;
    await writeRows(path.join(dataDir, 'span-1', 'penguins.json'), spanOneRows(rows));
  });

  after(async () => {
    server?.kill();
    if (!stack) return;
    await stack.client.schedule.getHandle(scheduleId).delete().catch(() => undefined);
    // A scheduled run is not the stack's to terminate, and must not outlive this file's workers.
    if ((await scheduledRun?.describe().catch(() => null))?.status.name === 'RUNNING') await scheduledRun!.terminate('end-to-end test finished').catch(() => undefined);
    await stack.stop();
  });

  const cli = async (args: string[]) => {
    const r = await runCli(args, { cwd, env: stack.env() });
    assert.equal(r.code, 0, describeResult(args, r));
    return r;
  };
  const cliJson = async (args: string[]) => parseJsonStdout(args, await cli(args));
  const modelVersions = async () =>
    z.array(ModelVersionRecordSchema.passthrough()).parse(await cliJson(['models', 'list', '--json'])).map((v) => ({ version: v.version, state: v.state, kind: v.details.kind, content: v.servedContentHash }));
  const pushRecord = async (version: number) =>
    PushRecordSchema.parse(z.object({ push: z.unknown() }).parse(await cliJson(['models', 'show', MODEL, '--version', String(version), '--json'])).push);
  async function evaluationOf(status: PipelineStatus): Promise<{ evaluation: Evaluation; html: string }> {
    const dir = await stack.store.materialize(output(status, 'evaluator', 'evaluation'));
    return {
      evaluation: EvaluationSchema.parse(JSON.parse(await readFile(path.join(dir, EVALUATION_FILE), 'utf8'))),
      html: await readFile(path.join(dir, EVALUATION_REPORT_FILE), 'utf8'),
    };
  }
  const examplesSpan = async (status: PipelineStatus) => (await stack.metadata.getArtifact(output(status, 'example_gen', 'examples')))!.properties.span;

  /** The version the server answers with when a client names none (TF Serving's model metadata). */
  const servedVersion = async () => {
    const reply = await request(`${http}/v1/models/${MODEL}/metadata`);
    return reply.status === 200 ? Number((reply.json as { model_spec: { version: string } }).model_spec.version) : 0;
  };
  const waitForServedVersion = async (version: number) => {
    let last = 0;
    await waitFor(async () => (last = await servedVersion()) === version, SERVE_DEADLINE_MS, `version ${version} served`).catch((err: Error) => {
      throw new Error(`${err.message}; the server answered version ${last}; it said:\n${server!.stderr.slice(-3000)}`);
    });
  };
  /** What a client gets for raw penguin rows over TF Serving REST. */
  async function predict(instances: readonly Row[]): Promise<Prediction[]> {
    const body = { instances: instances.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'Species'))) };
    const reply = await postJson(`${http}/v1/models/${MODEL}:predict`, body);
    assert.equal(reply.status, 200, reply.body.toString());
    return (reply.json as { predictions: Prediction[] }).predictions;
  }
  const correct = (answers: readonly Prediction[]) => answers.filter((p, i) => p.classes === asked[i]!.Species).length;

  it('a run on span 1 pushes version 1, and `mlpipe serve` on the repository answers raw rows with their species', async () => {
    const run = await stack.run(penguins({ input: spanPattern() }));
    assert.equal(run.status.state, 'succeeded', run.error);
    first = run.status;
    assert.deepEqual(Object.values(states(first)), Array(9).fill('succeeded'));
    assert.equal(await examplesSpan(first), 1);
    assert.equal(first.nodes.example_gen!.summary?.rows, spanOneRows(rows).length);
    assert.equal(first.nodes.pusher!.summary?.version, 1);
    const registry = await modelVersions();
    assert.deepEqual(registry.map(({ content, ...v }) => v), [{ version: 1, state: 'published', kind: 'push' }]);
    versionOne = registry[0]!;

    server = new CliProcess(['serve', '--repository', repository, '--http-port', '0', '--grpc-port', '0', '--poll-interval-ms', '200'], { cwd });
    const port = await server.waitForStdout(/HTTP\s+http:\/\/127\.0\.0\.1:(\d+)/, SERVE_DEADLINE_MS, 'mlpipe serve prints its ports');
    http = `http://127.0.0.1:${port[1]}`;
    await waitForServedVersion(1);
    firstAnswers = await predict(asked);
    assert.ok(correct(firstAnswers) >= 0.9 * asked.length, `version 1 names the species of most rows: ${JSON.stringify(firstAnswers.map((p) => p.classes))}`);
    console.log(`      span 1 run: ${(run.wallMs / 1000).toFixed(1)} s; version 1 right on ${correct(firstAnswers)} of ${asked.length} rows`);
  });

  it('a second run on data that degrades the model is not blessed and not pushed; the report says which threshold failed', async () => {
    const degraded = path.join(cwd, 'shuffled', 'penguins.json');
    await writeRows(degraded, withShuffledSpecies(rows, 17));
    const run = await stack.run(penguins({ input: degraded }));
    assert.equal(run.status.state, 'failed');
    assert.deepEqual(states(run.status), {
      example_gen: 'succeeded',
      statistics_gen: 'succeeded',
      schema_gen: 'succeeded',
      example_validator: 'succeeded',
      transform: 'succeeded',
      trainer: 'succeeded',
      evaluator: 'blocked',
      infra_validator: 'skipped',
      pusher: 'skipped',
    });
    const { evaluation, html } = await evaluationOf(run.status);
    const value = overallCheck(evaluation, 'value');
    assert.equal(value.passed, false);
    const accuracy = overallAccuracy(evaluation, 'candidate');
    assert.ok(accuracy < 0.6, `labels dealt at random leave the model little better than the class shares (${accuracy})`);
    assert.equal(value.reason, `accuracy on overall = ${num(accuracy)} < lower bound 0.9`);
    assert.equal(evaluation.baseline?.uri, output(first, 'trainer', 'servingModel'), 'the baseline is the model serving as version 1');
    assert.equal(evaluation.blessed, false);
    assert.ok(run.status.nodes.evaluator!.error?.includes(value.reason), `the Evaluator's reason names the failed threshold: ${run.status.nodes.evaluator!.error}`);
    assert.match(html, /data-verdict="not-blessed"/);
    assert.ok(html.includes(esc(value.reason)), `evaluation.html names the failed threshold: ${value.reason}`);
    assert.equal(run.status.nodes.infra_validator!.error, "blocked by 'evaluator'");
    assert.match(run.status.nodes.pusher!.error ?? '', /^blocked by 'evaluator'/);

    assert.deepEqual(await modelVersions(), [versionOne], 'the registry holds version 1 alone');
    const executions = (await stack.metadata.getRun((await run.handle.describe()).runId))!.executions.map((e) => e.nodeId);
    assert.ok(!executions.includes('pusher') && !executions.includes('infra_validator'), `neither ran: ${executions.join(', ')}`);
    assert.equal(await servedVersion(), 1);
  });

  it('a run on data with ERROR anomalies against the curated schema stops at the ExampleValidator, before Transform', async () => {
    const schemaFile = path.join(cwd, 'curated', SCHEMA_FILE_NAME);
    await mkdir(path.dirname(schemaFile), { recursive: true });
    await copyFile(path.join(await stack.store.materialize(output(first, 'schema_gen', 'schema')), SCHEMA_FILE_NAME), schemaFile);
    // An island the schema's Island domain does not hold, on every fourth row.
    const anomalous = spanOneRows(rows).map((r, i) => (i % 4 === 0 ? { ...r, Island: 'Anvers' } : r));
    const injected = anomalous.filter((r) => r.Island === 'Anvers').length;
    const input = path.join(cwd, 'anomalous', 'penguins.json');
    await writeRows(input, anomalous);

    const run = await stack.run(penguins({ input, schema: schemaFile }));
    assert.equal(run.status.state, 'failed');
    assert.deepEqual(states(run.status), {
      example_gen: 'succeeded',
      statistics_gen: 'succeeded',
      import_schema_gen: 'succeeded',
      example_validator: 'blocked',
      transform: 'skipped',
      trainer: 'skipped',
      evaluator: 'skipped',
      infra_validator: 'skipped',
      pusher: 'skipped',
    });
    const anomalies = ExampleAnomaliesSchema.parse(JSON.parse(await readFile(path.join(await stack.store.materialize(output(run.status, 'example_validator', 'anomalies')), ANOMALIES_FILE_NAME), 'utf8')));
    const found = anomalies.splits.flatMap((s) => s.anomalies);
    assert.deepEqual([...new Set(found.map((a) => `${a.severity} ${a.kind} ${a.feature}`))], ['ERROR ENUM_TYPE_UNEXPECTED_STRING_VALUES Island']);
    // Each split's anomaly counts its rows on the unknown island: together, every row given one.
    const counted = found.map((a) => Number(/\((\d+) of \d+\)/.exec(a.description)?.[1]));
    assert.equal(counted.reduce((a, b) => a + b, 0), injected, found.map((a) => a.description).join('\n'));
    assert.ok(found.every((a) => a.description.includes("'Anvers'")), `anomalies.json names the unknown island: ${found.map((a) => a.description).join('\n')}`);
    assert.equal(
      run.status.nodes.example_validator!.error,
      `${found.length} ERROR anomalies: ${found.map((a) => `Island in ${a.split}: ENUM_TYPE_UNEXPECTED_STRING_VALUES`).join('; ')}`,
    );
    assert.equal(run.status.nodes.transform!.error, "blocked by 'example_validator'");
    assert.deepEqual(await modelVersions(), [versionOne]);
  });

  it('a Temporal Schedule retrains on a new span, blessed against version 1 as baseline, pushes version 2, and the running server serves it', async () => {
    await cli(['schedule', 'create', scheduleId, path.join(__dirname, '..', '..', 'examples', 'penguins', 'pipeline.js'),
      '--cron', '0 3 * * *', '--paused', '--note', 'nightly retraining on the newest span; paused, so that only the trigger runs it',
      '--param', `input=${spanPattern()}`, '--param', `repository=${repository}`, '--param', `epochs=${EPOCHS}`]);
    await writeRows(path.join(dataDir, 'span-2', 'penguins.json'), rows);
    await cli(['schedule', 'trigger', scheduleId]);

    const schedule = stack.client.schedule.getHandle(scheduleId);
    let workflowId = '';
    await waitFor(async () => ((workflowId = (await schedule.describe()).info.recentActions.at(-1)?.action.workflow.workflowId ?? '') !== ''), 20_000, 'the triggered run started');
    assert.match(workflowId, new RegExp(`^${MODEL}-${scheduleId}-`), 'a run of the penguins pipeline, named after the schedule');
    scheduledRun = stack.client.workflow.getHandle(workflowId);
    const started = Date.now();
    const outcome = await Promise.race([
      waitForRun(scheduledRun),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`scheduled run ${workflowId} did not finish within ${RUN_DEADLINE_MS} ms`)), RUN_DEADLINE_MS).unref()),
    ]);
    const status = PipelineStatusSchema.parse(outcome.status);
    assert.equal(status.state, 'succeeded', outcome.error);
    assert.equal(await examplesSpan(status), 2, "the scheduled run's ExampleGen read span 2");
    assert.equal(status.nodes.example_gen!.summary?.rows, rows.length);
    assert.equal(status.nodes.trainer!.state, 'succeeded', 'the trainer retrained');
    assert.equal(status.nodes.pusher!.summary?.version, 2);

    const { evaluation } = await evaluationOf(status);
    const pushedOne = await pushRecord(1);
    assert.equal(evaluation.baseline?.uri, pushedOne.lineage.servingModel.uri, 'the baseline is the model pushed as version 1');
    assert.equal(evaluation.baseline?.contentHash, pushedOne.lineage.servingModel.contentHash);
    assert.equal(evaluation.candidate.uri, output(status, 'trainer', 'servingModel'));
    assert.equal(status.nodes.evaluator!.summary?.baseline, pushedOne.lineage.servingModel.uri, 'the run says which baseline it was compared with');
    const change = overallCheck(evaluation, 'change');
    assert.notEqual(change.skipped, true, 'the change threshold is judged against the baseline');
    assert.equal(change.baselineValue, overallAccuracy(evaluation, 'baseline'));
    assert.equal(change.value, overallAccuracy(evaluation, 'candidate'));
    assert.equal(change.passed, overallAccuracy(evaluation, 'candidate') - overallAccuracy(evaluation, 'baseline') >= -0.02, change.reason);
    assert.equal(evaluation.verdict, 'blessed');
    const registry = await modelVersions();
    assert.deepEqual(registry.map(({ content, ...v }) => v), [
      { version: 2, state: 'published', kind: 'push' },
      { version: 1, state: 'published', kind: 'push' },
    ]);
    assert.deepEqual(registry[1], versionOne);
    assert.notEqual(registry[0]!.content, versionOne.content, 'version 2 is another model');

    await waitForServedVersion(2);
    const answers = await predict(asked);
    assert.ok(correct(answers) >= 0.9 * asked.length, `version 2 names the species of most rows: ${JSON.stringify(answers.map((p) => p.classes))}`);
    assert.notDeepEqual(answers, firstAnswers, "version 2 is another model: its scores differ from version 1's");
    console.log(`      scheduled run: ${((Date.now() - started) / 1000).toFixed(1)} s; accuracy on span 2's eval split: baseline ${overallAccuracy(evaluation, 'baseline').toFixed(3)}, candidate ${overallAccuracy(evaluation, 'candidate').toFixed(3)}`);
  });

  it('`mlpipe models rollback --to 1` publishes version 1 again as version 3, and the running server answers as version 1 did', async () => {
    const r = await cli(['models', 'rollback', MODEL, '--to', '1']);
    assert.equal(r.stdout, `rolled back ${MODEL} in ${repository}: version 3 now serves version 1's model\n`);
    const registry = await modelVersions();
    assert.deepEqual(registry.map(({ content, ...v }) => v), [
      { version: 3, state: 'published', kind: 'rollback' },
      { version: 2, state: 'published', kind: 'push' },
      { version: 1, state: 'published', kind: 'push' },
    ]);
    assert.equal(registry[0]!.content, versionOne.content, "version 3 holds version 1's model and configuration");
    await waitForServedVersion(3);
    assert.deepEqual(await predict(asked), firstAnswers, "version 3 answers every row exactly as version 1 did");
  });
});

async function writeRows(file: string, rows: readonly Row[]): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(rows));
}
