/**
 * Records Temporal histories of runs of the current code as replay fixtures:
 *   penguins-run         the penguins example
 *   penguins-cached-run  the penguins example again, every node a cache hit
 *   failing-run          a node that gives up, and the node after it skipped
 *   gated-run            a gate that blocks the node after it
 *   fan-out-run          a root fanning out to three branches that run at once, and a join after them
 *   cancelled-run        a run cancelled by its client while a long node runs, a node still pending after it
 *   failing-branch-run   one of two parallel branches fails at once; the other runs on and succeeds,
 *                        and what follows the failed branch is skipped
 *   approval-run         a node waits for approval, is approved by an `approve` signal, then runs
 *   rejected-approval-run  the same node rejected: it never runs, and the node after it is skipped
 * Re-record only when a workflow change is deliberate and guarded by `patched()`, and only the
 * histories named (all of them when none is):
 *   node dist/test/replay/record-history.js [name...]
 * (starts its own servers; writes test/fixtures/histories/<name>.json in the source tree).
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { WorkflowHandle } from '@temporalio/client';
import createPenguins from '../../examples/penguins/pipeline';
import { queryStatus, sendApproval } from '../../client/pipeline-client';
import { pipeline } from '../../dsl/compile';
import { Gate, WriteText } from '../fixtures/engine-components';
import { TestStep } from '../fixtures/test-components';
import { untilAwaitingApproval } from '../pipeline/await-approval';
import { startTestStack, type TestStack } from '../pipeline/harness';
import { stopTestServers } from '../support/servers';
import { removeTempDirs } from '../support/tmp';
import { locateServerBinary } from '../../stack/binaries';

export const HISTORY_DIR = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'histories');

/** Starts the run to record; `recorded` names the histories this invocation recorded before it. */
type Recording = (stack: TestStack, recorded: ReadonlySet<string>) => Promise<WorkflowHandle>;

/**
 * The recordings that use it share nodes (a `root` TestStep in each) that would be cache hits of
 * whichever ran first on the stack: without the cache, each records the same run whatever is
 * recorded with it.
 */
const NO_CACHE = { noCache: true };

/** data → push (waits for approval) → serve; once push waits, the decision is signalled. */
async function approvalRecording(stack: TestStack, decision: { approved: boolean; by: string; reason: string }): Promise<WorkflowHandle> {
  const data = WriteText('data', { parameters: { text: 'rows' } });
  const push = WriteText('push', { parameters: { text: 'model' }, inputs: { upstream: data.outputs.text }, approval: { timeoutMs: 60_000 } });
  const serve = WriteText('serve', { parameters: { text: 'served' }, inputs: { upstream: push.outputs.text } });
  const handle = await stack.start(pipeline({ name: 'approval', nodes: [data, push, serve] }), NO_CACHE);
  await untilAwaitingApproval(handle, 'push');
  await sendApproval(handle, { node: 'push', ...decision });
  return handle;
}

const RECORDINGS: Record<string, Recording> = {
  'penguins-run': (stack) => stack.start(createPenguins()),
  'penguins-cached-run': async (stack, recorded) => {
    // Its nodes are cache hits only after a penguins run on the same stack.
    if (!recorded.has('penguins-run')) await stack.run(createPenguins());
    return stack.start(createPenguins());
  },
  'failing-run': (stack) => {
    const root = TestStep('root', { parameters: { label: 'root' } });
    const bad = TestStep('bad', { parameters: { label: 'bad', fail: 'boom' }, inputs: { upstream: root.outputs.out }, retry: { maximumAttempts: 1 } });
    const skipped = TestStep('skipped', { inputs: { upstream: bad.outputs.out } });
    return stack.start(pipeline({ name: 'failing', nodes: [root, bad, skipped] }));
  },
  'gated-run': (stack) => {
    const data = WriteText('data', { parameters: { text: 'rows' } });
    const gate = Gate('validate', { parameters: { block: 'anomalies found' }, inputs: { upstream: data.outputs.text } });
    const after = WriteText('train', { parameters: { text: 'model' }, inputs: { upstream: gate.outputs.verdict } });
    return stack.start(pipeline({ name: 'gated', nodes: [data, gate, after] }));
  },
  'fan-out-run': (stack) => {
    const root = TestStep('root', { parameters: { label: 'root' } });
    // Long enough that each branch is still running when the worker has picked up the others.
    const branches = ['branch_a', 'branch_b', 'branch_c'].map((id) =>
      TestStep(id, { parameters: { label: id, ms: 1500 }, inputs: { upstream: root.outputs.out } }),
    );
    const join = TestStep('join', { parameters: { label: 'join' }, inputs: { upstream: branches.map((b) => b.outputs.out) } });
    return stack.start(pipeline({ name: 'fan-out', nodes: [root, ...branches, join] }), NO_CACHE);
  },
  'cancelled-run': async (stack) => {
    const root = TestStep('root', { parameters: { label: 'root' } });
    const long = TestStep('long', { parameters: { label: 'long', ms: 60_000 }, inputs: { upstream: root.outputs.out } });
    const next = TestStep('next', { parameters: { label: 'next' }, inputs: { upstream: long.outputs.out } });
    const handle = await stack.start(pipeline({ name: 'cancelled', nodes: [root, long, next] }), NO_CACHE);
    // Progress means the executor is past its start and heartbeating, so the cancellation reaches it.
    const deadline = Date.now() + 30_000;
    for (;;) {
      // The first workflow task may not have run yet.
      const running = await queryStatus(handle).catch(() => undefined);
      if ((running?.nodes.long?.progress?.fraction ?? 0) > 0) break;
      assert.ok(Date.now() < deadline, "node 'long' reported progress");
      await new Promise((r) => setTimeout(r, 100));
    }
    await handle.cancel();
    await handle.result().catch(() => undefined);
    // The history cannot show node states (the status lives in workflow memory): check them here.
    assert.equal((await handle.describe()).status.name, 'CANCELLED');
    const status = await queryStatus(handle);
    assert.deepEqual(
      Object.fromEntries(Object.entries(status.nodes).map(([id, n]) => [id, n.state])),
      { root: 'succeeded', long: 'cancelled', next: 'cancelled' },
    );
    assert.equal(status.state, 'cancelled');
    return handle;
  },
  'failing-branch-run': (stack) => {
    const root = TestStep('root', { parameters: { label: 'root' } });
    const bad = TestStep('bad', { parameters: { label: 'bad', userError: 'bad rows' }, inputs: { upstream: root.outputs.out } });
    const good = TestStep('good', { parameters: { label: 'good', ms: 1500 }, inputs: { upstream: root.outputs.out } });
    const afterBad = TestStep('after_bad', { parameters: { label: 'after_bad' }, inputs: { upstream: bad.outputs.out } });
    const afterGood = TestStep('after_good', { parameters: { label: 'after_good' }, inputs: { upstream: good.outputs.out } });
    const join = TestStep('join', { parameters: { label: 'join' }, inputs: { upstream: [bad.outputs.out, afterGood.outputs.out] } });
    return stack.start(pipeline({ name: 'failing-branch', nodes: [root, bad, good, afterBad, afterGood, join] }), NO_CACHE);
  },
  'approval-run': (stack) => approvalRecording(stack, { approved: true, by: 'alice', reason: 'metrics look right' }),
  'rejected-approval-run': (stack) => approvalRecording(stack, { approved: false, by: 'bob', reason: 'eval set is stale' }),
};

async function main(names: string[]): Promise<void> {
  const unknown = names.filter((n) => !(n in RECORDINGS));
  if (unknown.length > 0) throw new Error(`no recording named ${unknown.join(', ')}; known: ${Object.keys(RECORDINGS).join(', ')}`);
  const wanted = names.length > 0 ? names : Object.keys(RECORDINGS);
  const stack = await startTestStack({ queues: ['control', 'cpu'] });
  try {
    const recorded = new Set<string>();
    // In the table's order, whatever order they were named in: penguins-cached-run reuses penguins-run's cache.
    for (const [name, start] of Object.entries(RECORDINGS)) {
      if (!wanted.includes(name)) continue;
      const handle = await start(stack, recorded);
      await handle.result().catch(() => undefined);
      // The CLI writes the canonical proto3 JSON that historyFromJSON reads back.
      const json = execFileSync(locateServerBinary('temporal'), ['workflow', 'show', '--address', stack.config.temporalAddress!, '--workflow-id', handle.workflowId, '--output', 'json'], { maxBuffer: 64 << 20 });
      await writeFile(path.join(HISTORY_DIR, `${name}.json`), json);
      recorded.add(name);
      process.stdout.write(`recorded ${name}\n`);
    }
  } finally {
    await stack.stop();
    await stopTestServers();
    await removeTempDirs();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
