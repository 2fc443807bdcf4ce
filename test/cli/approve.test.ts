import assert from 'node:assert/strict';
import path from 'node:path';
import { queryStatus } from '../../client/pipeline-client';
import { pipeline } from '../../dsl/compile';
import { WriteText } from '../fixtures/engine-components';
import { untilAwaitingApproval } from '../pipeline/await-approval';
import { startTestStack, type TestStack } from '../pipeline/harness';
import { tempDir } from '../support/tmp';
import { CliProcess, describeResult, runCli, type CliResult } from './cli-process';

/** data → push, which waits for approval; `model` gives each run its own cache key. */
function gated(model: string) {
  const data = WriteText('data', { parameters: { text: 'rows' } });
  const push = WriteText('push', { parameters: { text: model }, inputs: { upstream: data.outputs.text }, approval: { timeoutMs: 60_000 } });
  return pipeline({ name: 'approve-cli', nodes: [data, push] });
}

const APPROVAL_PIPELINE = path.join(__dirname, 'fixtures', 'approval-pipeline.js');

describe('mlpipe approve against a waiting run', function () {
  let stack: TestStack;
  let cwd: string;
  const cli = (args: string[]) => runCli(args, { cwd, env: stack.env() });
  const expectUsageError = (args: string[], r: CliResult, message: RegExp) => {
    assert.equal(r.code, 2, describeResult(args, r));
    assert.match(r.stderr, message, describeResult(args, r));
    assert.equal(r.stdout, '', describeResult(args, r));
  };

  before(async () => {
    stack = await startTestStack({ queues: ['control', 'cpu'] });
    cwd = await tempDir('cli-approve');
  });
  after(async () => {
    await stack?.stop();
  });

  it('refuses a decision without --by or --reason, for a node that does not wait, and for a run that no longer waits; approves the waiting node, and runs show tells who and why', async () => {
    const handle = await stack.start(gated('model for the cli'));
    await untilAwaitingApproval(handle, 'push');
    const wf = handle.workflowId;

    const noReason = ['approve', wf, '--by', 'alice'];
    expectUsageError(noReason, await cli(noReason), /--reason: required: why/);
    const wrongNode = ['approve', wf, '--node', 'data', '--by', 'alice', '--reason', 'ok'];
    expectUsageError(wrongNode, await cli(wrongNode), new RegExp(`node 'data' of run '${wf}' is succeeded; waiting for approval: push`));

    const shownWaiting = await cli(['runs', 'show', wf]);
    assert.equal(shownWaiting.code, 0, describeResult(['runs', 'show', wf], shownWaiting));
    assert.match(shownWaiting.stdout, new RegExp(`Approvals:\\n {2}push: waits for approval since .*\\n {4}approve: mlpipe approve ${wf} --node push --by <name> --reason <text>`));
    assert.doesNotMatch(shownWaiting.stdout, /props .*approval:push/, 'the raw property is told in words, not printed');

    const approve = ['approve', wf, '--by', 'alice', '--reason', 'offline metrics beat production'];
    const approved = await cli(approve);
    assert.equal(approved.code, 0, describeResult(approve, approved));
    assert.equal(approved.stdout, `node 'push' of run '${wf}' approved by alice: offline metrics beat production; it runs now\n`);
    const status = await handle.result().then((s) => s as Awaited<ReturnType<typeof queryStatus>>);
    assert.equal(status.state, 'succeeded');
    assert.equal(status.nodes.push!.state, 'succeeded');

    const show = ['runs', 'show', wf];
    const shown = await cli(show);
    assert.equal(shown.code, 0, describeResult(show, shown));
    assert.match(shown.stdout, /^push\s+WriteText\s+succeeded\s/m, shown.stdout);
    assert.match(shown.stdout, /Approvals:\n {2}push: approved by alice at \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ: offline metrics beat production$/m, shown.stdout);
    const json = JSON.parse((await cli([...show, '--json'])).stdout) as { approvals: Record<string, { decision: { approved: boolean; by: string; reason: string } }> };
    assert.deepEqual(
      { ...json.approvals.push!.decision, at: undefined },
      { approved: true, by: 'alice', reason: 'offline metrics beat production', at: undefined },
    );

    const late = ['approve', wf, '--reject', '--by', 'bob', '--reason', 'too late'];
    expectUsageError(late, await cli(late), new RegExp(`run '${wf}' is completed: nothing in it waits for approval`));
    const unknown = ['approve', 'no-such-run', '--by', 'bob', '--reason', 'x'];
    expectUsageError(unknown, await cli(unknown), /no run 'no-such-run' in Temporal/);
  });

  it('--reject: the node does not run and the run fails, naming who rejected it', async () => {
    const handle = await stack.start(gated('model the cli rejects'));
    await untilAwaitingApproval(handle, 'push');
    const reject = ['approve', handle.workflowId, '--node', 'push', '--reject', '--by', 'bob', '--reason', 'eval set is stale'];
    const rejected = await cli(reject);
    assert.equal(rejected.code, 0, describeResult(reject, rejected));
    assert.equal(rejected.stdout, `node 'push' of run '${handle.workflowId}' rejected by bob: eval set is stale; it does not run, and the run fails\n`);
    await assert.rejects(handle.result());
    const status = await queryStatus(handle);
    assert.deepEqual([status.state, status.nodes.push!.state, status.nodes.push!.error], ['failed', 'blocked', 'rejected by bob: eval set is stale']);
  });

  it('`mlpipe run` says which node waits and the command that decides; that command, filled in, lets the run finish', async () => {
    const run = new CliProcess(['run', APPROVAL_PIPELINE, '--param', 'model=approved from the run output'], { cwd, env: stack.env() });
    try {
      const deadline = Date.now() + 30_000;
      let command: RegExpMatchArray | null = null;
      while (!(command = run.stderr.match(/^push: waits for approval \(rejected in 1m 00s without a decision\): (mlpipe approve (\S+) --node push) --by <name> --reason <text> {3}\(reject: add --reject\)$/m))) {
        assert.ok(Date.now() < deadline && run.child.exitCode === null, `mlpipe run announces the wait\n${describeResult(run.args, run.result)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const approve = [...command[1]!.split(' ').slice(1), '--by', 'carol', '--reason', 'release train 42'];
      const approved = await cli(approve);
      assert.equal(approved.code, 0, describeResult(approve, approved));
      assert.match(approved.stdout, new RegExp(`node 'push' of run '${command[2]}' approved by carol: release train 42`));
      const ended = await run.exited;
      assert.equal(ended.code, 0, describeResult(run.args, ended));
      assert.match(ended.stdout, /^✔ push\s+succeeded\s/m, describeResult(run.args, ended));
    } finally {
      run.kill();
    }
  });

  it('with two nodes waiting, a decision must name its node; each takes its own', async () => {
    const data = WriteText('data', { parameters: { text: 'rows for two pushes' } });
    const pushes = ['push_a', 'push_b'].map((id) => WriteText(id, { parameters: { text: id }, inputs: { upstream: data.outputs.text }, approval: { timeoutMs: 60_000 } }));
    const handle = await stack.start(pipeline({ name: 'two-approvals', nodes: [data, ...pushes] }));
    await untilAwaitingApproval(handle, 'push_a');
    await untilAwaitingApproval(handle, 'push_b');
    const wf = handle.workflowId;
    const unnamed = ['approve', wf, '--by', 'alice', '--reason', 'ok'];
    expectUsageError(unnamed, await cli(unnamed), new RegExp(`several nodes of run '${wf}' wait for approval \\(push_a, push_b\\): name one with --node`));
    const rejectB = ['approve', wf, '--node', 'push_b', '--reject', '--by', 'bob', '--reason', 'not this one'];
    assert.equal((await cli(rejectB)).code, 0);
    const approveA = ['approve', wf, '--by', 'alice', '--reason', 'only one waits now'];
    const approved = await cli(approveA);
    assert.equal(approved.code, 0, describeResult(approveA, approved));
    assert.match(approved.stdout, /node 'push_a' .* approved by alice: only one waits now/);
    await assert.rejects(handle.result());
    const status = await queryStatus(handle);
    assert.deepEqual(
      [status.nodes.push_a!.state, status.nodes.push_b!.state, status.nodes.push_b!.error],
      ['succeeded', 'blocked', 'rejected by bob: not this one'],
    );
  });
});
