import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { MANIFEST_NAME } from '../../artifacts/store';
import { pipeline } from '../../dsl/compile';
import { TestStep } from '../fixtures/test-components';
import { startTestStack, TEST_COMPONENTS_MODULE, type TestStack } from './harness';

const CLI = path.join(__dirname, '..', '..', 'cli', 'main.js');

function spawnWorker(stack: TestStack, identity: string): ChildProcess {
  const child = spawn(process.execPath, [CLI, 'worker', '--queues', 'cpu', '--components', TEST_COMPONENTS_MODULE, '--identity', identity], {
    env: { ...process.env, ...stack.env() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.on('data', (d: Buffer) => process.stderr.write(`[${identity}] ${d}`));
  return child;
}

describe('crash recovery', function () {
  let stack: TestStack;
  const children: ChildProcess[] = [];
  before(async () => {
    stack = await startTestStack({ queues: ['control'] });
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await stack?.stop();
  });

  it('a worker SIGKILLed mid-executor is replaced by another; exactly one complete output is committed', async () => {
    const step = TestStep('step', {
      parameters: { label: 'step', ms: 5000, parts: 20 },
      // A short heartbeat timeout so the dead worker is noticed in seconds rather than the default 30 s.
      timeouts: { heartbeatMs: 3000 },
      retry: { maximumAttempts: 3, initialIntervalMs: 100 },
    });
    const handle = await stack.start(pipeline({ name: 'crash-test', nodes: [step] }));
    const first = spawnWorker(stack, 'crash-worker-1');
    children.push(first);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const s = (await handle.query('status')) as { nodes: Record<string, { progress?: { fraction?: number; counters?: Record<string, number> } }> };
      if ((s.nodes.step?.progress?.counters?.parts ?? 0) >= 5) break;
      assert.ok(Date.now() < deadline, 'the first worker started the executor');
      await new Promise((r) => setTimeout(r, 100));
    }
    first.kill('SIGKILL');
    children.push(spawnWorker(stack, 'crash-worker-2'));
    await handle.result();

    const status = (await handle.query('status')) as { nodes: Record<string, { state: string; attempt: number; worker?: string; outputs?: Record<string, string[]> }> };
    assert.equal(status.nodes.step!.state, 'succeeded');
    assert.equal(status.nodes.step!.worker, 'crash-worker-2');
    assert.ok(status.nodes.step!.attempt >= 2, `finished on a later attempt (attempt ${status.nodes.step!.attempt})`);

    const uri = status.nodes.step!.outputs!.out![0]!;
    const manifest = await stack.store.readManifest(uri);
    assert.ok(manifest);
    const parts = manifest.files.filter((f) => f.path.startsWith('part-'));
    assert.equal(parts.length, 20, 'the committed artifact is complete');

    const runPrefix = stack.store.keyFor(uri).replace(/\/step\/out$/, '');
    const visible: string[] = [];
    for await (const o of stack.store.list(runPrefix)) visible.push(o.key.slice(runPrefix.length + 1));
    const expected = [...manifest.files.map((f) => `step/out/${f.path}`), `step/out/${MANIFEST_NAME}`].sort();
    assert.deepEqual(visible.sort(), expected, 'readers see one artifact with exactly its manifest files, no partial leftovers');

    const run = await stack.metadata.getRun((await handle.describe()).runId);
    const execs = run!.executions.filter((e) => e.nodeId === 'step');
    assert.equal(execs.length, 1, 'one execution recorded');
    assert.equal(execs[0]!.worker, 'crash-worker-2');
    assert.equal(Object.values(execs[0]!.outputs).flat().length, 1, 'one output artifact');
  });
});
