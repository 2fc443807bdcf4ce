import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { PIPELINE_SEARCH_ATTRIBUTE } from '../../stack/temporal-dev-server';
import { PipelineStatusSchema } from '../../workflows/pipeline-types';
import { startTestStack, type TestStack } from '../pipeline/harness';
import { tempDir } from '../support/tmp';
import { describeResult, parseJsonStdout, runCli } from '../cli/cli-process';

const CHAIN_PIPELINE = path.join(__dirname, '..', 'cli', 'fixtures', 'chain-pipeline.js');
const VISIBILITY_DEADLINE_MS = 20_000;
const RUN_DEADLINE_MS = 60_000;

describe('mlpipe schedule (Temporal Schedules through the CLI)', function () {
  let stack: TestStack;
  let cwd: string;
  let env: Record<string, string>;
  const suffix = randomBytes(3).toString('hex');
  const scheduleId = `nightly-retrain-${suffix}`;
  const pipelineName = `scheduled-chain-${suffix}`;

  before(async () => {
    stack = await startTestStack({ queues: ['control', 'cpu'] });
    cwd = await tempDir('cli-schedules');
    env = stack.env();
  });

  after(async () => {
    if (!stack) return;
    await stack.client.schedule.getHandle(scheduleId).delete().catch(() => undefined);
    // A run the schedule started must not outlive this file: the next file's workers share the queues.
    for await (const w of stack.client.workflow.list({ query: `${PIPELINE_SEARCH_ATTRIBUTE} = '${pipelineName}' AND ExecutionStatus = 'Running'` })) {
      await stack.client.workflow.getHandle(w.workflowId, w.runId).terminate('schedule test finished').catch(() => undefined);
    }
    await stack.stop();
  });

  const cli = async (args: string[], expectedCode = 0) => {
    const r = await runCli(['schedule', ...args], { cwd, env, timeoutMs: 30_000 });
    assert.equal(r.code, expectedCode, describeResult(['schedule', ...args], r));
    return r;
  };
  const describeText = async () => (await cli(['describe', scheduleId])).stdout;

  /** Workflow runs of this test's pipeline, found the way the UI and a user find them: by the search attribute. */
  async function runsOfPipeline(): Promise<Array<{ workflowId: string; runId: string }>> {
    const found: Array<{ workflowId: string; runId: string }> = [];
    for await (const w of stack.client.workflow.list({ query: `${PIPELINE_SEARCH_ATTRIBUTE} = '${pipelineName}'` })) {
      found.push({ workflowId: w.workflowId, runId: w.runId });
    }
    return found;
  }

  it('create: an interval schedule with overlap, catch-up window and pause-on-failure, shown back to the user', async () => {
    const r = await cli([
      'create', scheduleId, CHAIN_PIPELINE,
      '--every', '1h',
      '--overlap', 'buffer_one',
      '--catchup-window', '10m',
      '--pause-on-failure',
      '--note', 'retrain every hour',
      '--param', `name=${pipelineName}`,
      '--param', `label=${suffix}`,
    ]);
    assert.match(r.stdout, new RegExp(`schedule ${scheduleId}`));
    assert.match(r.stdout, new RegExp(`pipeline:\\s+${pipelineName}`));
  });

  it('list shows it, active, starting the pipeline workflow', async () => {
    const text = await cli(['list']);
    assert.match(text.stdout, new RegExp(`^${scheduleId}\\s+active\\s+next \\d{4}-`, 'm'));
    const json = await cli(['list', '--json']);
    const list = z.array(z.object({ scheduleId: z.string(), paused: z.boolean(), workflowType: z.string().nullable(), nextActionTimes: z.array(z.string()) })).parse(parseJsonStdout(['schedule', 'list', '--json'], json));
    const mine = list.find((s) => s.scheduleId === scheduleId);
    assert.ok(mine, `schedule list --json holds ${scheduleId}: ${json.stdout}`);
    assert.equal(mine.paused, false);
    assert.equal(mine.workflowType, 'runPipeline');
    assert.ok(mine.nextActionTimes.length > 0, 'an active interval schedule has a next run');
  });

  it('describe shows the interval and every policy as created', async () => {
    const text = await describeText();
    assert.match(text, /workflow:\s+runPipeline on mlpipe-control/);
    assert.match(text, /every:\s+(1h|3600000\s?ms)/);
    assert.match(text, /overlap:\s+(BUFFER_ONE|buffer_one|buffer one)/i);
    assert.match(text, /catch-up window:\s+(10m|600000\s?ms)/);
    assert.match(text, /pause on fail:\s+(true|yes)/);
    assert.match(text, /note:\s+retrain every hour/);
    assert.doesNotMatch(text, /\(paused\)/);
  });

  it('trigger starts a run of the pipeline now, and it succeeds', async () => {
    const before = await runsOfPipeline();
    assert.deepEqual(before, [], 'no run before the trigger (an hourly schedule does not fire on creation)');
    const r = await cli(['trigger', scheduleId]);
    assert.match(r.stdout, new RegExp(`triggered ${scheduleId}`));

    const deadline = Date.now() + VISIBILITY_DEADLINE_MS;
    let runs = await runsOfPipeline();
    while (runs.length === 0) {
      if (Date.now() > deadline) assert.fail(`no workflow with ${PIPELINE_SEARCH_ATTRIBUTE} = '${pipelineName}' appeared within ${VISIBILITY_DEADLINE_MS} ms of the trigger`);
      await new Promise((res) => setTimeout(res, 250));
      runs = await runsOfPipeline();
    }
    assert.equal(runs.length, 1, `one trigger, one run: ${JSON.stringify(runs)}`);
    const handle = stack.client.workflow.getHandle(runs[0]!.workflowId, runs[0]!.runId);
    const result = await Promise.race([
      handle.result(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`scheduled run ${runs[0]!.workflowId} did not finish within ${RUN_DEADLINE_MS} ms`)), RUN_DEADLINE_MS).unref()),
    ]);
    const status = PipelineStatusSchema.parse(result);
    assert.equal(status.state, 'succeeded');
    assert.deepEqual(Object.keys(status.nodes).sort(), ['step1', 'step2']);
    assert.match(runs[0]!.workflowId, new RegExp(`^${pipelineName}-${scheduleId}-`), "scheduled runs are named by pipeline and schedule");

    const text = await describeText();
    assert.match(text, /actions taken:\s+[1-9]/);
    assert.ok(text.includes(runs[0]!.workflowId), `describe lists the recent run ${runs[0]!.workflowId}:\n${text}`);
  });

  it('pause and unpause are reflected in describe and list', async () => {
    await cli(['pause', scheduleId, '--note', 'data source under maintenance']);
    const paused = await describeText();
    assert.match(paused, new RegExp(`schedule ${scheduleId} \\(paused\\)`));
    assert.match(paused, /note:\s+data source under maintenance/);
    assert.match((await cli(['list'])).stdout, new RegExp(`^${scheduleId}\\s+paused`, 'm'));

    await cli(['unpause', scheduleId]);
    assert.doesNotMatch(await describeText(), /\(paused\)/);
    assert.match((await cli(['list'])).stdout, new RegExp(`^${scheduleId}\\s+active`, 'm'));
  });

  it('delete removes it; describing it afterwards exits 2 naming the schedule', async () => {
    const r = await cli(['delete', scheduleId]);
    assert.match(r.stdout, new RegExp(`deleted ${scheduleId}`));
    const deadline = Date.now() + VISIBILITY_DEADLINE_MS;
    while ((await cli(['list'])).stdout.includes(scheduleId)) {
      if (Date.now() > deadline) assert.fail(`${scheduleId} still listed ${VISIBILITY_DEADLINE_MS} ms after delete`);
      await new Promise((res) => setTimeout(res, 250));
    }
    const gone = await cli(['describe', scheduleId], 2);
    assert.match(gone.stderr, new RegExp(`schedule ${scheduleId}:.*not found`, 'i'));
  });

  describe('bad flags exit 2 with a message naming the flag, before anything is created', function () {
    const cases: Array<{ flags: string[]; names: RegExp; expects: RegExp }> = [
      { flags: [], names: /--cron.*--every|--every.*--cron/, expects: /at least one/ },
      { flags: ['--every', 'soon'], names: /--every/, expects: /duration such as/ },
      { flags: ['--every', '1h', '--catchup-window', 'forever'], names: /--catchup-window/, expects: /duration such as/ },
      { flags: ['--every', '1h', '--overlap', 'sometimes'], names: /--overlap/, expects: /buffer_one/ },
      { flags: ['--cron', 'every tuesday'], names: /cron/i, expects: /5-7 fields|every tuesday/ },
    ];
    for (const { flags, names, expects } of cases) {
      it(`schedule create ${flags.join(' ') || '(no --cron or --every)'}`, async () => {
        const id = `bad-flags-${suffix}`;
        const r = await cli(['create', id, CHAIN_PIPELINE, '--param', `name=${pipelineName}`, ...flags], 2);
        assert.match(r.stderr, names, describeResult(flags, r));
        assert.match(r.stderr, expects, describeResult(flags, r));
        assert.doesNotMatch(r.stderr, /^\s+at /m, `no stack trace for a bad flag\n${r.stderr}`);
        assert.equal(await stack.client.schedule.getHandle(id).describe().then(() => 'exists', () => 'absent'), 'absent', `no schedule ${id} was created`);
      });
    }
  });
});
