import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from '../../dsl/compile';
import { TestStep } from '../fixtures/test-components';
import { startTestStack, type TestStack } from './harness';

interface Timing {
  label: string;
  start: number;
  end: number;
  upstream: string[];
}

async function timingOf(stack: TestStack, uri: string): Promise<Timing> {
  const dir = await stack.store.materialize(uri);
  return JSON.parse(await readFile(path.join(dir, 'timing.json'), 'utf8')) as Timing;
}

describe('pipeline workflow: DAG order and parallelism', function () {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({ queues: ['control', 'cpu'] });
  });
  after(async () => stack?.stop());

  it('runs independent branches at the same time and joins them in order', async () => {
    const a = TestStep('a', { parameters: { label: 'a', ms: 200 } });
    const b = TestStep('b', { parameters: { label: 'b', ms: 1500 }, inputs: { upstream: a.outputs.out } });
    const c = TestStep('c', { parameters: { label: 'c', ms: 1500, spin: true }, inputs: { upstream: a.outputs.out } });
    const d = TestStep('d', { parameters: { label: 'd', ms: 100 }, inputs: { upstream: [b.outputs.out, c.outputs.out] } });
    const { status } = await stack.run(pipeline({ name: 'dag-test', nodes: [d, c, b, a] }));
    assert.equal(status.state, 'succeeded');
    for (const id of ['a', 'b', 'c', 'd']) assert.equal(status.nodes[id]!.state, 'succeeded', id);

    const t = Object.fromEntries(
      await Promise.all(['a', 'b', 'c', 'd'].map(async (id) => [id, await timingOf(stack, status.nodes[id]!.outputs!.out![0]!)] as const)),
    );
    assert.ok(t.b!.start >= t.a!.end && t.c!.start >= t.a!.end, 'b and c start after a ends');
    const overlap = Math.min(t.b!.end, t.c!.end) - Math.max(t.b!.start, t.c!.start);
    assert.ok(overlap > 1000, `b and c overlap in time (overlap ${overlap} ms)`);
    assert.ok(t.d!.start >= Math.max(t.b!.end, t.c!.end), 'd starts after both branches end');
    assert.deepEqual([...t.d!.upstream].sort(), ['b', 'c'], 'd read both upstream outputs');
    assert.deepEqual(t.b!.upstream, ['a']);
  });

  it('reports per-node status through the status query while running, with heartbeat progress', async () => {
    const slow = TestStep('slow', { parameters: { label: 'slow', ms: 3000, spin: true } });
    const handle = await stack.start(pipeline({ name: 'status-test', nodes: [slow] }));
    let seen: { fraction?: number } | undefined;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const s = (await handle.query('status')) as { nodes: Record<string, { state: string; progress?: { fraction?: number } }> };
      if (s.nodes.slow?.state === 'running' && (s.nodes.slow.progress?.fraction ?? 0) > 0 && (s.nodes.slow.progress?.fraction ?? 0) < 1) {
        seen = s.nodes.slow.progress;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(seen, 'saw a running node with partial progress (the executor spins in a worker thread, so the signal still flows)');
    await handle.result();
  });
});
