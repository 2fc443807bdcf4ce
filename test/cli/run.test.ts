import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { startTestStack, type TestStack } from '../pipeline/harness';
import { REPO_ROOT } from '../support/repo-root';
import { tempDir } from '../support/tmp';
import { vegaFile } from '../components/vega-data';
import { describeResult, parseJsonStdout, runCli, runCliOnTty, type CliResult } from './cli-process';

const CHAIN_PIPELINE = path.join(__dirname, 'fixtures', 'chain-pipeline.js');
const FAILING_PIPELINE = path.join(__dirname, '..', 'fixtures', 'failing-pipeline.js');
const FLAKY_PIPELINE = path.join(__dirname, 'fixtures', 'flaky-pipeline.js');
const GATED_PIPELINE = path.join(__dirname, 'fixtures', 'gated-pipeline.js');
const PENGUINS_SOURCE = path.join(REPO_ROOT, 'examples', 'penguins', 'pipeline.ts');
const PENGUINS_BUILT = path.join(REPO_ROOT, 'dist', 'examples', 'penguins', 'pipeline.js');
const RUN_TIMEOUT_MS = 60_000;

/** The object `mlpipe run --json` promises (issue 2, part 11); strict, so an extra key fails the test. */
const NodeSummarySchema = z.strictObject({
  status: z.enum(['pending', 'running', 'cached', 'succeeded', 'blocked', 'failed', 'skipped']),
  attempts: z.number().int().nonnegative(),
  durationMs: z.number().nonnegative().nullable(),
  outputs: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
  summary: z.record(z.string(), z.unknown()).nullable(),
  error: z.string().optional(),
  failureKind: z.enum(['bad-input', 'component-error', 'gave-up', 'timed-out']).optional(),
});
const RunSummarySchema = z.strictObject({
  workflowId: z.string().min(1),
  runId: z.string().min(1),
  status: z.enum(['succeeded', 'failed', 'cancelled']),
  error: z.string().optional(),
  nodes: z.record(z.string(), NodeSummarySchema),
});
type RunSummary = z.infer<typeof RunSummarySchema>;

describe('mlpipe run, runs, lineage (CLI against a Temporal server with workers)', function () {
  let stack: TestStack;
  let cwd: string;
  let env: Record<string, string>;

  before(async () => {
    stack = await startTestStack({ queues: ['control', 'cpu'] });
    cwd = await tempDir('cli-run');
    env = stack.env();
  });
  after(async () => stack?.stop());

  /** When a command hangs, what Temporal still has open tells whether the workers or the CLI got stuck. */
  async function openWorkflows(): Promise<string> {
    const lines: string[] = [];
    for await (const w of stack.client.workflow.list({ query: 'ExecutionStatus = "Running"' })) {
      const d = await stack.client.workflow.getHandle(w.workflowId, w.runId).describe();
      const pending = d.raw.pendingActivities?.map((a) => `${a.activityType?.name} attempt ${a.attempt} state ${a.state}`) ?? [];
      lines.push(`  ${w.workflowId} (${w.runId}) started ${w.startTime.toISOString()}; pending activities: ${pending.join('; ') || 'none'}`);
    }
    return lines.length ? `open workflows:\n${lines.join('\n')}` : 'no open workflows';
  }

  const cli = (args: string[]) =>
    runCli(args, { cwd, env, timeoutMs: RUN_TIMEOUT_MS }).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await openWorkflows().catch((e: Error) => `(listing open workflows failed: ${e.message})`)}`);
    });

  async function runJson(args: string[], expectedCode: number): Promise<{ summary: RunSummary; result: CliResult }> {
    const full = ['run', ...args, '--json'];
    const result = await cli(full);
    assert.equal(result.code, expectedCode, describeResult(full, result));
    assert.equal(result.stdout.trim().split('\n').length, 1, `--json prints exactly one line on stdout\n${describeResult(full, result)}`);
    const parsed = RunSummarySchema.safeParse(parseJsonStdout(full, result));
    assert.ok(parsed.success, `the --json object has the documented shape: ${parsed.error?.message}\n${describeResult(full, result)}`);
    return { summary: parsed.data, result };
  }

  const outputUri = (summary: RunSummary, node: string, key = 'out'): string => {
    const uri = summary.nodes[node]?.outputs[key];
    assert.equal(typeof uri, 'string', `node ${node} output ${key} in ${JSON.stringify(summary)}`);
    return uri as string;
  };

  describe('mlpipe run', function () {
    it('--json prints one object with the run id, status and each node with its outputs, and exits 0', async () => {
      const { summary } = await runJson([CHAIN_PIPELINE, '--param', 'name=cli-json', '--param', 'label=json'], 0);
      assert.equal(summary.status, 'succeeded');
      assert.equal(summary.error, undefined);
      assert.match(summary.workflowId, /^cli-json-/);
      assert.deepEqual(Object.keys(summary.nodes).sort(), ['step1', 'step2']);
      for (const [id, node] of Object.entries(summary.nodes)) {
        assert.equal(node.status, 'succeeded', `node ${id}`);
        assert.equal(node.attempts, 1, `node ${id}`);
        // The executor's summary, as the human output shows it: its label and what it read.
        assert.deepEqual(node.summary, { label: `json-${id.slice(-1)}`, upstream: id === 'step1' ? [] : ['json-1'] }, `node ${id} summary`);
        assert.equal(typeof node.durationMs, 'number', `node ${id} durationMs`);
        const uri = outputUri(summary, id);
        assert.ok(uri.startsWith(`${stack.config.artifactRoot}/`), `${uri} lies under the configured artifact root ${stack.config.artifactRoot}`);
        assert.ok(await stack.store.readManifest(uri), `${uri} is a committed artifact`);
      }
      const described = await stack.client.workflow.getHandle(summary.workflowId).describe();
      assert.equal(described.runId, summary.runId);
      assert.equal(described.status.name, 'COMPLETED');
      assert.equal(described.type, 'runPipeline');
    });

    it('--param k=v reaches the pipeline function', async () => {
      const { summary } = await runJson([CHAIN_PIPELINE, '--param', 'name=cli-params', '--param', 'steps=3', '--param', 'label=params'], 0);
      assert.match(summary.workflowId, /^cli-params-/);
      assert.deepEqual(Object.keys(summary.nodes).sort(), ['step1', 'step2', 'step3']);
    });

    it('a repeated run is served from the cache; --no-cache runs every node again', async () => {
      const args = [CHAIN_PIPELINE, '--param', 'name=cli-cache', '--param', 'label=cache'];
      const first = (await runJson(args, 0)).summary;
      assert.deepEqual(Object.values(first.nodes).map((n) => n.status), ['succeeded', 'succeeded']);
      const cached = (await runJson(args, 0)).summary;
      assert.deepEqual(Object.values(cached.nodes).map((n) => n.status), ['cached', 'cached'], JSON.stringify(cached));
      const fresh = (await runJson([...args, '--no-cache'], 0)).summary;
      assert.deepEqual(Object.values(fresh.nodes).map((n) => n.status), ['succeeded', 'succeeded'], JSON.stringify(fresh));
      assert.notEqual(outputUri(fresh, 'step1'), outputUri(first, 'step1'), '--no-cache wrote a new artifact');
    });

    it('a failing node: exit 1, status failed, the node names its error, downstream skipped', async () => {
      const { summary } = await runJson([FAILING_PIPELINE, '--param', 'label=json-fail'], 1);
      assert.equal(summary.status, 'failed');
      assert.match(summary.error ?? '', /node 'train' failed: .*training data has no rows with a label/);
      assert.equal(summary.nodes.prepare?.status, 'succeeded');
      assert.equal(summary.nodes.train?.status, 'failed');
      assert.equal(summary.nodes.train?.error, 'training data has no rows with a label');
      assert.equal(summary.nodes.train?.failureKind, 'bad-input');
      assert.equal(summary.nodes.push?.status, 'skipped');
    });

    it('without --json it tells a person how each node went and where to look; a failure exits 1 naming the node', async () => {
      const ok = await cli(['run', CHAIN_PIPELINE, '--param', 'name=cli-text', '--param', 'label=text']);
      assert.equal(ok.code, 0, describeResult(['run'], ok));
      const said = ok.stdout + ok.stderr;
      assert.match(said, /step1/);
      assert.match(said, /step2/);
      assert.match(said, /cli-text: succeeded/);
      assert.match(said, /Temporal UI: http:\/\/\S+\/namespaces\/default\/workflows\/cli-text-/);
      const ui = await runCli(['run', CHAIN_PIPELINE, '--param', 'name=cli-ui', '--param', 'label=ui'], {
        cwd,
        env: { ...env, MLPIPE_TEMPORAL_UI_URL: 'http://temporal-ui.example:8080/' },
        timeoutMs: RUN_TIMEOUT_MS,
      });
      assert.match(ui.stdout, /^Temporal UI: http:\/\/temporal-ui\.example:8080\/namespaces\/default\/workflows\/cli-ui-\S+$/m, 'the configured UI');
      assert.ok(said.includes(stack.config.artifactRoot), `names the artifact location\n${said}`);

      const bad = await cli(['run', FAILING_PIPELINE, '--param', 'label=text-fail']);
      assert.equal(bad.code, 1, describeResult(['run', FAILING_PIPELINE], bad));
      const told = bad.stdout + bad.stderr;
      assert.match(bad.stdout, /^failing-pipeline: failed at node 'train'$/m, describeResult(['run'], bad));
      assert.match(bad.stdout, /^ {2}train: training data has no rows with a label$/m);
      assert.match(bad.stdout, /^ {4}what to do: its parameters or input data are wrong, so it was not retried: fix them and run again$/m);
      assert.match(bad.stdout, /^– push\s+skipped\s+upstream 'train' did not succeed$/m);
      assert.equal(told.split('training data has no rows with a label').length - 1, 1, `the cause is said once\n${told}`);
      assert.doesNotMatch(told, /node 'train' failed|pipeline 'failing-pipeline' failed/, `no chain of wrapped messages\n${told}`);
      assert.doesNotMatch(told, /^\s+at /m, `a failed run is reported, not a crash\n${told}`);
    });

    it('shows a retried node: which attempt of how many, and what the last one failed with', async () => {
      const markerDir = await tempDir('flaky');
      const args = ['run', FLAKY_PIPELINE, '--param', `markerDir=${markerDir}`, '--param', 'label=retry-text'];
      const r = await cli(args);
      assert.equal(r.code, 0, describeResult(args, r));
      assert.match(r.stderr, /^flaky: attempt 2 of 3(, starts in [\d.]+ m?s)?; attempt 1 failed: TestStep executor failed: the feature store timed out$/m, describeResult(args, r));
      assert.match(r.stdout, /^✔ flaky\s+succeeded/m);

      const ttyArgs = ['run', FLAKY_PIPELINE, '--param', `markerDir=${markerDir}`, '--param', 'label=retry-tty'];
      const tty = await runCliOnTty(ttyArgs, { cwd, env, timeoutMs: RUN_TIMEOUT_MS });
      assert.equal(tty.code, 0, describeResult(ttyArgs, tty));
      assert.match(tty.stdout, /▶ flaky\s+running\s.*attempt 2 of 3.*; attempt 1 failed: TestStep executor failed: the feature store/, describeResult(ttyArgs, tty));

      const { summary } = await runJson([FLAKY_PIPELINE, '--param', `markerDir=${markerDir}`, '--param', 'label=retry-json'], 0);
      assert.equal(summary.nodes.flaky?.attempts, 2);
    });
    it("runs the repository's example from its TypeScript sources and from the build as one component: the second is served from the first's cache; --serve answers the printed curl's row with its species", async () => {
      // Penguins written out anew, so that no other test's run of the same bytes is in the cache.
      const input = path.join(cwd, 'penguins-respaced.json');
      const rows = JSON.parse(readFileSync(vegaFile('penguins.json'), 'utf8')) as Array<Record<string, unknown>>;
      writeFileSync(input, JSON.stringify(rows, null, 3));
      const repository = pathToFileURL(path.join(cwd, 'models')).href;
      const params = ['--param', `input=${input}`, '--param', `repository=${repository}`];
      const fromSources = await runJson([PENGUINS_SOURCE, ...params], 0);
      assert.deepEqual(Object.values(fromSources.summary.nodes).map((n) => n.status), Array(9).fill('succeeded'), describeResult(['run', PENGUINS_SOURCE], fromSources.result));
      assert.equal(fromSources.summary.nodes.pusher?.summary?.version, 1);
      const args = ['run', PENGUINS_BUILT, ...params, '--serve', '0'];
      const fromBuild = await cli(args);
      assert.equal(fromBuild.code, 0, describeResult(args, fromBuild));
      assert.equal((fromBuild.stdout.match(/^. \S+\s+cached\s/gm) ?? []).length, 9, `every node a cache hit\n${describeResult(args, fromBuild)}`);
      assert.match(fromBuild.stdout, /^mlpipe serve: \S+: penguins version 1 on http:\/\/127\.0\.0\.1:\d+ /m, describeResult(args, fromBuild));

      const reports = [...fromBuild.stdout.matchAll(/^ {2}(\w+)\.\w+: (\/\S+\.html)$/gm)].map((m) => [m[1], path.basename(m[2]!)]);
      assert.deepEqual(reports, [['statistics_gen', 'statistics.html'], ['example_validator', 'anomalies.html'], ['evaluator', 'evaluation.html']], `the reports' paths\n${fromBuild.stdout}`);
      for (const m of fromBuild.stdout.matchAll(/^ {2}\w+\.\w+: (\/\S+\.html)$/gm)) assert.match(readFileSync(m[1]!, 'utf8'), /^<!doctype html>/i, m[1]);

      // The printed curl is one line whose body is a raw row of the data; the model's answer names that row's species.
      const curl = /^ {2}curl -s (http:\/\/127\.0\.0\.1:\d+)\/v1\/models\/penguins:predict -d '(.+)'$/m.exec(fromBuild.stdout);
      assert.ok(curl, `a one-line curl\n${describeResult(args, fromBuild)}`);
      const sent = (JSON.parse(curl[2]!) as { instances: Array<Record<string, unknown>> }).instances[0]!;
      const row = rows.find((r) => Object.entries(sent).every(([k, v]) => r[k] === v));
      assert.ok(row, `the request is a row of penguins.json: ${JSON.stringify(sent)}`);
      const answer = /^its answer: (.+)$/m.exec(fromBuild.stdout);
      assert.ok(answer, describeResult(args, fromBuild));
      const prediction = (JSON.parse(answer[1]!) as { predictions: Array<{ classes: string }> }).predictions[0]!;
      assert.equal(prediction.classes, row.Species, `the served model names the row's species: ${answer[1]}`);
    });

    it('a gate that blocks: exit 1, the gate, its reason once and what to do; the nodes after it skipped', async () => {
      const args = ['run', GATED_PIPELINE, '--param', 'label=cli-gate', '--param', 'reason=3 anomalies in split eval'];
      const r = await cli(args);
      assert.equal(r.code, 1, describeResult(args, r));
      assert.match(r.stdout, /^⊘ validate\s+blocked\s+\S+ m?s\s+outputs published; the nodes after it did not run$/m, describeResult(args, r));
      assert.match(r.stdout, /^– train\s+skipped\s+blocked by 'validate'$/m);
      assert.match(r.stdout, /^gated: blocked at node 'validate'$/m);
      assert.match(r.stdout, /^ {2}validate: 3 anomalies in split eval$/m);
      assert.match(r.stdout, /^ {4}what to do: a gate stopped the nodes after it; its outputs \(file:\/\/\S+\/validate\/verdict\) say why/m);
      assert.equal((r.stdout + r.stderr).split('3 anomalies in split eval').length - 1, 1, 'the reason is said once');
      const json = await runJson([GATED_PIPELINE, '--param', 'label=cli-gate', '--param', 'reason=3 anomalies in split eval'], 1);
      assert.equal(json.summary.nodes.validate?.status, 'blocked');
      assert.equal(json.summary.nodes.validate?.error, '3 anomalies in split eval');
    });

    it('on a terminal it redraws a live table: each node running with a progress bar, then its final state', async () => {
      const args = ['run', CHAIN_PIPELINE, '--param', 'name=cli-tty', '--param', 'label=tty', '--param', 'ms=1500'];
      const r = await runCliOnTty(args, { cwd, env, timeoutMs: RUN_TIMEOUT_MS });
      assert.equal(r.code, 0, describeResult(args, r));
      assert.match(r.stdout, /\x1b\[2K/, `the table is redrawn in place\n${describeResult(args, r)}`);
      assert.match(r.stdout, /▶ step1\s+running\s+\[[█░]+\]\s+\d+%/, `step1 shown running with a progress bar\n${describeResult(args, r)}`);
      assert.match(r.stdout, /✔ step1\s+succeeded/);
      assert.match(r.stdout, /✔ step2\s+succeeded/);
      assert.match(r.stdout, /cli-tty: succeeded/);
    });
  });

  describe('mlpipe run with a bad pipeline module exits 2 naming the problem', function () {
    const expectUsageError = async (args: string[], ...messages: RegExp[]) => {
      const full = ['run', ...args, '--json'];
      const r = await cli(full);
      assert.equal(r.code, 2, describeResult(full, r));
      assert.equal(r.stdout, '', `no JSON on stdout when nothing ran\n${describeResult(full, r)}`);
      for (const m of messages) assert.match(r.stderr, m, describeResult(full, r));
      assert.doesNotMatch(r.stderr, /^\s+at /m, `no stack trace for a user's mistake\n${describeResult(full, r)}`);
    };

    it('a missing file', async () => {
      const missing = path.join(cwd, 'no-such-pipeline.js');
      await expectUsageError([missing], new RegExp(`${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*file not found`));
    });

    it('a bad parameter value: names the node and the field', async () => {
      await expectUsageError([CHAIN_PIPELINE, '--param', 'ms=soon'], /node 'step1'/, /\bms\b/, /number/);
    });

    it('a --param without =', async () => {
      await expectUsageError([CHAIN_PIPELINE, '--param', 'steps'], /--param steps: expected key=value/);
    });

    it('a module that exports no pipeline', async () => {
      await expectUsageError([path.join(__dirname, 'cli-process.js')], /expected a default export/);
    });

    it('a JSON spec that is not a PipelineSpec: names the field', async () => {
      const file = path.join(cwd, 'broken-spec.json');
      writeFileSync(file, JSON.stringify({ name: 'broken', nodes: 'none' }));
      await expectUsageError([file], /nodes/);
    });
  });

  describe('mlpipe runs and mlpipe lineage', function () {
    let good: RunSummary;
    let failed: RunSummary;

    before(async () => {
      good = (await runJson([CHAIN_PIPELINE, '--param', 'name=cli-history', '--param', 'label=history'], 0)).summary;
      failed = (await runJson([FAILING_PIPELINE, '--param', 'name=cli-history-failing', '--param', 'label=history-fail'], 1)).summary;
    });

    it('runs list shows both runs with pipeline and state, newest first; --pipeline filters; --json gives the records', async () => {
      const text = await cli(['runs', 'list']);
      assert.equal(text.code, 0, describeResult(['runs', 'list'], text));
      const lines = text.stdout.split('\n');
      assert.match(lines[0]!, /^WORKFLOW ID\s+RUN ID\s+PIPELINE\s+STATE/);
      // The id `mlpipe run` prints first (the workflow id) leads each row, beside Temporal's run id.
      const goodLine = lines.findIndex((l) => l.startsWith(`${good.workflowId} `) && l.includes(good.runId));
      const failedLine = lines.findIndex((l) => l.startsWith(`${failed.workflowId} `) && l.includes(failed.runId));
      assert.ok(goodLine > 0 && failedLine > 0, `both runs listed\n${text.stdout}`);
      assert.ok(failedLine < goodLine, `newest first\n${text.stdout}`);
      assert.match(lines[goodLine]!, /cli-history\s+succeeded/);
      assert.match(lines[failedLine]!, /cli-history-failing\s+failed/);

      const json = await cli(['runs', 'list', '--pipeline', 'cli-history', '--json']);
      assert.equal(json.code, 0, describeResult(['runs', 'list', '--json'], json));
      const list = z.array(z.object({ runId: z.string(), pipeline: z.string().nullable(), state: z.string() })).parse(parseJsonStdout(['runs', 'list'], json));
      assert.ok(list.length >= 1);
      assert.ok(list.every((r) => r.pipeline === 'cli-history'), JSON.stringify(list));
      assert.ok(list.some((r) => r.runId === good.runId && r.state === 'succeeded'));
    });

    it('runs show accepts the workflow id or the run id and shows each node, its state and outputs', async () => {
      for (const id of [good.workflowId, good.runId]) {
        const r = await cli(['runs', 'show', id]);
        assert.equal(r.code, 0, describeResult(['runs', 'show', id], r));
        assert.match(r.stdout, new RegExp(`^Run ${good.runId}`, 'm'));
        assert.match(r.stdout, /pipeline\s+cli-history\b/);
        assert.match(r.stdout, /state\s+succeeded/);
        assert.match(r.stdout, /^step1\s+TestStep\s+succeeded/m);
        assert.match(r.stdout, /^step2\s+TestStep\s+succeeded/m);
        assert.ok(r.stdout.includes(outputUri(good, 'step2')), `shows step2's output URI\n${r.stdout}`);
      }
      const json = await cli(['runs', 'show', good.workflowId, '--json']);
      assert.equal(json.code, 0, describeResult(['runs', 'show', '--json'], json));
      const detail = z
        .object({ run: z.object({ runId: z.string(), state: z.string() }), executions: z.array(z.object({ nodeId: z.string(), state: z.string() })) })
        .parse(parseJsonStdout(['runs', 'show'], json));
      assert.equal(detail.run.runId, good.runId);
      assert.deepEqual(detail.executions.map((e) => `${e.nodeId}:${e.state}`).sort(), ['step1:succeeded', 'step2:succeeded']);
    });

    it('runs show of a failed run prints the failing node and its error', async () => {
      const r = await cli(['runs', 'show', failed.workflowId]);
      assert.equal(r.code, 0, describeResult(['runs', 'show', failed.workflowId], r));
      assert.match(r.stdout, /state\s+failed/);
      assert.match(r.stdout, /^train\s+TestStep\s+failed/m);
      assert.match(r.stdout, /Errors:\n\s+train .*training data has no rows with a label/);
    });

    it('runs show of an unknown id exits 2 and says how to find one', async () => {
      const r = await cli(['runs', 'show', 'no-such-run']);
      assert.equal(r.code, 2, describeResult(['runs', 'show', 'no-such-run'], r));
      assert.match(r.stderr, /no run 'no-such-run'.*mlpipe runs list/);
    });

    it('lineage <output uri> shows the node that produced it and the node it fed', async () => {
      const uri = outputUri(good, 'step1');
      const r = await cli(['lineage', uri]);
      assert.equal(r.code, 0, describeResult(['lineage', uri], r));
      const [upstream, downstream] = r.stdout.split(/^Downstream/m);
      assert.ok(r.stdout.startsWith('Examples #'), `starts with the artifact\n${r.stdout}`);
      assert.ok(r.stdout.split('\n')[0]!.includes(uri));
      assert.match(upstream!, /Upstream: what produced it\n└─ execution #\d+ TestStep · node step1 · run \S+ · succeeded/);
      assert.ok(downstream, `has a downstream section\n${r.stdout}`);
      assert.match(downstream!, /as upstream → execution #\d+ TestStep · node step2 · run \S+ · succeeded/);
      assert.ok(downstream!.includes(outputUri(good, 'step2')), `shows what step2 produced\n${r.stdout}`);

      const json = await cli(['lineage', uri, '--json']);
      assert.equal(json.code, 0, describeResult(['lineage', uri, '--json'], json));
      const graph = z
        .object({
          artifacts: z.array(z.object({ id: z.number(), uri: z.string() })),
          executions: z.array(z.object({ id: z.number(), nodeId: z.string() })),
          events: z.array(z.object({ executionId: z.number(), artifactId: z.number(), kind: z.enum(['input', 'output']) })),
        })
        .parse(parseJsonStdout(['lineage', uri], json));
      const focus = graph.artifacts.find((a) => a.uri === uri)!;
      assert.ok(focus, `the graph holds ${uri}`);
      const nodeOf = (executionId: number) => graph.executions.find((e) => e.id === executionId)?.nodeId;
      const producers = graph.events.filter((e) => e.kind === 'output' && e.artifactId === focus.id).map((e) => nodeOf(e.executionId));
      const consumers = graph.events.filter((e) => e.kind === 'input' && e.artifactId === focus.id).map((e) => nodeOf(e.executionId));
      assert.deepEqual(producers, ['step1']);
      assert.deepEqual(consumers, ['step2']);
    });

    it('lineage --direction up stops at the producer; an unknown artifact exits 2', async () => {
      const up = await cli(['lineage', outputUri(good, 'step2'), '--direction', 'up']);
      assert.equal(up.code, 0, describeResult(['lineage', '--direction', 'up'], up));
      assert.match(up.stdout, /node step2/);
      assert.match(up.stdout, /node step1/);
      assert.doesNotMatch(up.stdout, /Downstream/);

      const missing = await cli(['lineage', 'file:///nowhere/artifact']);
      assert.equal(missing.code, 2, describeResult(['lineage', 'file:///nowhere/artifact'], missing));
      assert.match(missing.stderr, /no artifact 'file:\/\/\/nowhere\/artifact'/);
    });
  });
});
