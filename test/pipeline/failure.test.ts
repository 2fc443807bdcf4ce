import assert from 'node:assert/strict';
import { pipeline } from '../../dsl/compile';
import { TestStep } from '../fixtures/test-components';
import { startTestStack, type TestStack } from './harness';

describe('pipeline workflow: failing nodes', function () {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({ queues: ['control', 'cpu'] });
  });
  after(async () => stack?.stop());

  it('fails the run naming the node and cause, skips its downstream, and finishes independent branches', async () => {
    const root = TestStep('root', { parameters: { label: 'root' } });
    const bad = TestStep('bad', {
      parameters: { label: 'bad', fail: 'disk on fire' },
      inputs: { upstream: root.outputs.out },
      retry: { maximumAttempts: 2, initialIntervalMs: 100 },
    });
    const afterBad = TestStep('after_bad', { parameters: { label: 'after_bad' }, inputs: { upstream: bad.outputs.out } });
    const good = TestStep('good', { parameters: { label: 'good', ms: 300 }, inputs: { upstream: root.outputs.out } });
    const afterGood = TestStep('after_good', { parameters: { label: 'after_good' }, inputs: { upstream: good.outputs.out } });
    const { status, error } = await stack.run(pipeline({ name: 'failure-test', nodes: [root, bad, afterBad, good, afterGood] }));

    assert.equal(status.state, 'failed');
    assert.match(error ?? '', /node 'bad' failed: .*disk on fire/);
    assert.equal(status.nodes.bad!.state, 'failed');
    assert.equal(status.nodes.after_bad!.state, 'skipped');
    assert.match(status.nodes.after_bad!.error ?? '', /upstream 'bad'/);
    assert.equal(status.nodes.good!.state, 'succeeded');
    assert.equal(status.nodes.after_good!.state, 'succeeded');

    const runs = await stack.metadata.listRuns({ pipeline: 'failure-test' });
    assert.equal(runs[0]!.state, 'failed');
    const detail = await stack.metadata.getRun(runs[0]!.runId);
    const badExec = detail!.executions.find((e) => e.nodeId === 'bad')!;
    assert.equal(badExec.state, 'failed');
    assert.match(badExec.error ?? '', /disk on fire/);
  });

  it('a malformed pipeline spec started directly fails the run at once instead of retrying forever', async () => {
    const step = TestStep('a', { parameters: { label: 'x' } });
    const spec = JSON.parse(JSON.stringify(stack.compile(pipeline({ name: 'bad-spec-test', nodes: [step] })))) as { nodes: Array<Record<string, unknown>> };
    spec.nodes.push({ ...spec.nodes[0]!, inputs: { upstream: [{ node: 'ghost', output: 'out' }] }, id: 'b' });
    const handle = await stack.client.workflow.start('runPipeline', {
      taskQueue: 'mlpipe-control',
      workflowId: `bad-spec-${Date.now()}`,
      args: [{ spec, options: { noCache: false } }],
    });
    await assert.rejects(handle.result(), (err: Error) => /invalid pipeline spec: .*'ghost', which is not an earlier node/.test(String((err as { cause?: Error }).cause?.message)));
  });

  it('does not retry bad input: one attempt, and the message reaches the user as written', async () => {
    const step = TestStep('reads_csv', {
      parameters: { label: 'x', userError: "data.csv row 7: column 'age' expected a number, got 'abc'" },
      retry: { maximumAttempts: 5, initialIntervalMs: 100 },
    });
    const started = Date.now();
    const { status, error } = await stack.run(pipeline({ name: 'user-error-test', nodes: [step] }));
    assert.equal(status.state, 'failed');
    assert.match(error ?? '', /node 'reads_csv' failed: data\.csv row 7: column 'age' expected a number, got 'abc'/);
    assert.ok(Date.now() - started < 5000, 'no retry backoff was spent');
  });
});
