import assert from 'node:assert/strict';
import { pipeline } from '../../dsl/compile';
import { TestStep } from '../fixtures/test-components';
import { startTestStack, type TestStack } from './harness';

describe('task-queue routing', function () {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack();
    await stack.addWorkers(['control', 'cpu'], { identity: 'cpu-only-worker' });
  });
  after(async () => stack?.stop());

  it('a gpu node never runs on a cpu-only worker: it waits for a gpu worker, which runs it', async () => {
    const prep = TestStep('prep', { parameters: { label: 'prep' } });
    const train = TestStep('train', { parameters: { label: 'train', ms: 100 }, resource: 'gpu', inputs: { upstream: prep.outputs.out } });
    const handle = await stack.start(pipeline({ name: 'gpu-test', nodes: [prep, train] }));

    await new Promise((r) => setTimeout(r, 3000));
    const waiting = (await handle.query('status')) as { nodes: Record<string, { state: string; worker?: string }> };
    assert.equal(waiting.nodes.prep!.state, 'succeeded');
    assert.equal(waiting.nodes.train!.state, 'running', 'scheduled on mlpipe-gpu and still waiting');

    await stack.addWorkers(['gpu'], { identity: 'gpu-worker-1' });
    await handle.result();
    const status = (await handle.query('status')) as { nodes: Record<string, { state: string; worker?: string }> };
    assert.equal(status.nodes.train!.state, 'succeeded');
    assert.equal(status.nodes.train!.worker, 'gpu-worker-1');
    assert.equal(status.nodes.prep!.worker, 'cpu-only-worker');

    const run = await stack.metadata.getRun((await handle.describe()).runId);
    const byNode = Object.fromEntries(run!.executions.map((e) => [e.nodeId, e.worker]));
    assert.deepEqual(byNode, { prep: 'cpu-only-worker', train: 'gpu-worker-1' }, 'the executing worker is recorded in the metadata store');
  });
});
