import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { pipeline } from '../../dsl/compile';
import { TestStep } from '../fixtures/test-components';
import { tempDir } from '../support/tmp';
import { startTestStack, type TestStack } from './harness';

describe('pipeline workflow: cancellation', function () {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({ queues: ['control', 'cpu'] });
  });
  after(async () => stack?.stop());

  it('cancelling the run cancels the running executor (seen through heartbeats) and ends cancelled', async () => {
    const markerDir = await tempDir('cancel-marker');
    const long = TestStep('long', { parameters: { label: 'long', ms: 60_000, markerDir } });
    const next = TestStep('next', { parameters: { label: 'next' }, inputs: { upstream: long.outputs.out } });
    const handle = await stack.start(pipeline({ name: 'cancel-test', nodes: [long, next] }));
    const deadline = Date.now() + 15_000;
    for (;;) {
      const s = (await handle.query('status')) as { nodes: Record<string, { state: string; progress?: { fraction?: number } }> };
      if ((s.nodes.long?.progress?.fraction ?? 0) > 0) break;
      assert.ok(Date.now() < deadline, 'node started');
      await new Promise((r) => setTimeout(r, 100));
    }
    const cancelledAt = Date.now();
    await handle.cancel();
    await assert.rejects(handle.result(), (err: unknown) => err instanceof WorkflowFailedError);
    const description = await handle.describe();
    assert.equal(description.status.name, 'CANCELLED');
    assert.ok(Date.now() - cancelledAt < 10_000, 'cancellation is prompt');
    assert.ok(existsSync(path.join(markerDir, 'long.cancelled')), 'the executor itself observed the cancellation');

    const status = (await handle.query('status')) as { state: string; nodes: Record<string, { state: string }> };
    assert.equal(status.state, 'cancelled');
    assert.equal(status.nodes.long!.state, 'cancelled');
    assert.equal(status.nodes.next!.state, 'cancelled');
    const runs = await stack.metadata.listRuns({ pipeline: 'cancel-test' });
    assert.equal(runs[0]!.state, 'cancelled');
  });
});
