import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { formatRun } from '../../artifacts/metadata/runs-format';
import { sendApproval, waitForRun } from '../../client/pipeline-client';
import { formatApprovalLines } from '../../cli/run-approvals';
import { compilePipeline, pipeline, PipelineCompileError, validatePipelineSpec } from '../../dsl/compile';
import type { PipelineStatus } from '../../workflows/pipeline-types';
import { WriteText } from '../fixtures/engine-components';
import { untilAwaitingApproval } from './await-approval';
import { startTestStack, testRegistry, type TestStack } from './harness';

const states = (s: PipelineStatus) => Object.fromEntries(Object.entries(s.nodes).map(([k, v]) => [k, v.state]));
/** The states of the gated node and the one after it (`data` is a cache hit after the first test). */
const gatedStates = (s: PipelineStatus) => ({ push: s.nodes.push!.state, serve: s.nodes.serve!.state });

/** data → push (waits for approval) → serve; `model` makes each test's push its own cache key. */
function approvalPipeline(model: string, timeoutMs = 60_000) {
  const data = WriteText('data', { parameters: { text: 'rows' } });
  const push = WriteText('push', { parameters: { text: model }, inputs: { upstream: data.outputs.text }, approval: { timeoutMs } });
  const serve = WriteText('serve', { parameters: { text: 'served' }, inputs: { upstream: push.outputs.text } });
  return pipeline({ name: 'approval', nodes: [data, push, serve] });
}

/** The markdown of the Temporal UI's "current details" panel. */
async function currentDetails(handle: WorkflowHandle): Promise<string> {
  return ((await handle.query('__temporal_workflow_metadata')) as { currentDetails: string }).currentDetails;
}

describe('approval gate: a node waits for a person before it runs', function () {
  let stack: TestStack;

  before(async () => {
    stack = await startTestStack({ queues: ['control', 'cpu'] });
  });
  after(async () => {
    await stack?.stop();
  });

  it('the approval option is checked where the pipeline is compiled, and a JSON spec carries it', () => {
    const bad = () => {
      const data = WriteText('data', { parameters: { text: 'rows' } });
      return pipeline({ name: 'bad', nodes: [WriteText('push', { parameters: { text: 'm' }, inputs: { upstream: data.outputs.text }, approval: { timeoutMs: 10 } }), data] });
    };
    assert.throws(() => compilePipeline(bad(), testRegistry()), (err: unknown) => {
      assert.ok(err instanceof PipelineCompileError);
      assert.match(err.message, /node 'push' approval\.timeoutMs: .*1000/);
      return true;
    });
    const spec = compilePipeline(approvalPipeline('m'), testRegistry());
    assert.deepEqual(spec.nodes.find((n) => n.id === 'push')!.approval, { timeoutMs: 60_000 });
    assert.equal(spec.nodes.find((n) => n.id === 'data')!.approval, undefined, 'no approval unless asked for');
    const defaulted = compilePipeline(pipeline({ name: 'd', nodes: [WriteText('push', { parameters: { text: 'm' }, approval: {} })] }), testRegistry());
    assert.equal(defaulted.nodes[0]!.approval!.timeoutMs, 24 * 60 * 60 * 1000);
    assert.deepEqual(validatePipelineSpec(JSON.parse(JSON.stringify(spec)), testRegistry()).nodes[1]!.approval, { timeoutMs: 60_000 });
    const misspelt = JSON.parse(JSON.stringify(spec)) as { nodes: Array<{ approval?: unknown }> };
    misspelt.nodes[1]!.approval = { timeout: '24h' };
    assert.throws(() => validatePipelineSpec(misspelt, testRegistry()), /pipeline\.nodes\[1\]\.approval: Unrecognized key: "timeout"/);
  });

  it('approved: the node waits (status, details, runs show), then runs with the decision recorded; an identical rerun is cached and does not wait', async () => {
    const handle = await stack.start(approvalPipeline('model approved'));
    const waiting = await untilAwaitingApproval(handle, 'push');
    assert.deepEqual(gatedStates(waiting), { push: 'awaiting-approval', serve: 'pending' });
    assert.equal(waiting.nodes.push!.approval!.timeoutMs, 60_000);
    const details = await currentDetails(handle);
    assert.match(details, /\| push \| awaiting-approval \|/);
    assert.ok(details.includes(`\`mlpipe approve ${handle.workflowId} --node push --by <name> --reason "<why>"\``), details);
    const { runId } = await handle.describe();
    const whileWaiting = (await stack.metadata.getRun(runId))!;
    assert.match(formatApprovalLines(whileWaiting).join('\n'), new RegExp(`push: waits for approval since .*\\n {4}approve: mlpipe approve ${handle.workflowId} --node push --by <name> --reason <text>`));

    await sendApproval(handle, { approved: true, by: 'alice', reason: 'metrics look right' });
    const result = await handle.result().catch((err: Error) => assert.fail(`the approved run succeeds: ${err.message}`));
    assert.deepEqual(gatedStates(result as PipelineStatus), { push: 'succeeded', serve: 'succeeded' });
    const push = (result as PipelineStatus).nodes.push!;
    assert.deepEqual({ ...push.approval!.decision!, at: undefined }, { approved: true, by: 'alice', reason: 'metrics look right', at: undefined });
    assert.ok(push.approval!.decision!.at >= push.approval!.requestedAt);
    const text = readFileSync(path.join(new URL(push.outputs!.text![0]!).pathname, 'text.txt'), 'utf8');
    assert.equal(text, 'rows\nmodel approved', 'the approved node ran and wrote its output');
    const run = (await stack.metadata.getRun(runId))!;
    assert.equal(run.executions.find((e) => e.nodeId === 'push')!.state, 'succeeded');
    assert.match(formatApprovalLines(run).join('\n'), /^ {2}push: approved by alice at \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ: metrics look right$/m);
    assert.match(await currentDetails(handle), /- push: approved by alice at .*: metrics look right/);

    const again = await stack.run(approvalPipeline('model approved'));
    assert.deepEqual(states(again.status), { data: 'cached', push: 'cached', serve: 'cached' }, 'nothing waits: the approved outputs are reused');
    assert.equal(again.status.nodes.push!.approval, undefined);
  });

  it('rejected: the node does not run, ends blocked with who rejected and why, and what follows is skipped', async () => {
    const handle = await stack.start(approvalPipeline('model rejected'));
    await untilAwaitingApproval(handle, 'push');
    await sendApproval(handle, { node: 'push', approved: false, by: 'bob', reason: 'eval set is stale' });
    const { status, error } = await waitForRun(handle);
    assert.match(error ?? '', /node 'push' blocked: rejected by bob: eval set is stale/);
    assert.equal(status.state, 'failed');
    assert.deepEqual(gatedStates(status), { push: 'blocked', serve: 'skipped' });
    assert.equal(status.nodes.push!.error, 'rejected by bob: eval set is stale');
    assert.equal(status.nodes.serve!.error, "blocked by 'push'");
    assert.deepEqual(status.nodes.push!.outputs, {}, 'the rejected node wrote nothing');
    const run = (await stack.metadata.getRun((await handle.describe()).runId))!;
    const execution = run.executions.find((e) => e.nodeId === 'push')!;
    assert.deepEqual([execution.state, execution.error, Object.keys(execution.outputs)], ['cancelled', 'rejected by bob: eval set is stale', []]);
    assert.equal(run.run.state, 'failed');
    assert.equal(run.executions.some((e) => e.nodeId === 'serve'), false);
    assert.match(formatApprovalLines(run).join('\n'), /push: rejected by bob at .*: eval set is stale/);
  });

  it('no decision within the timeout rejects the node', async () => {
    const started = Date.now();
    const { status, error } = await stack.run(approvalPipeline('model timed out', 2000));
    assert.deepEqual(gatedStates(status), { push: 'blocked', serve: 'skipped' });
    assert.equal(status.nodes.push!.error, 'approval timed out after 2.0s');
    assert.match(error ?? '', /node 'push' blocked: approval timed out after 2\.0s/);
    const approval = status.nodes.push!.approval!;
    assert.equal(approval.decision, undefined);
    assert.ok(approval.timedOutAt! - approval.requestedAt >= 2000, `waited ${approval.timedOutAt! - approval.requestedAt} ms`);
    assert.ok(Date.now() - started < 15_000);
    const runs = await stack.metadata.listRuns({ pipeline: 'approval', limit: 1 });
    const run = (await stack.metadata.getRun(runs[0]!.runId))!;
    assert.match(formatApprovalLines(run).join('\n'), /push: no decision within 2\.0s: rejected at /);
    assert.match(formatRun(run), /^push\s+WriteText\s+cancelled\s/m);
  });

  it('a run cancelled while a node waits ends cancelled, its execution recorded cancelled, not running', async () => {
    const handle = await stack.start(approvalPipeline('model cancelled'));
    await untilAwaitingApproval(handle, 'push');
    await handle.cancel();
    const { status } = await waitForRun(handle);
    assert.equal(status.state, 'cancelled');
    assert.deepEqual(gatedStates(status), { push: 'cancelled', serve: 'cancelled' });
    const run = (await stack.metadata.getRun((await handle.describe()).runId))!;
    assert.deepEqual(run.executions.filter((e) => e.nodeId === 'push').map((e) => e.state), ['cancelled']);
    assert.equal(run.run.state, 'cancelled');
  });
});
