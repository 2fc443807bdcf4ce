import assert from 'node:assert/strict';
import { ClientDisconnect } from '../../serving/client-disconnect';
import { DynamicBatcher, type Dispatched } from '../../serving/dynamic-batcher';
import { ServingError } from '../../serving/errors';
import type { SchedulingPolicy } from '../../serving/model-signature';

interface Item {
  rows: number;
  batchKey: string;
  id: string;
}

const policy = (overrides: Partial<SchedulingPolicy> = {}): SchedulingPolicy => ({
  dynamicBatching: true,
  maxBatchSize: 8,
  preferredBatchSizes: [],
  maxQueueDelayUs: 0,
  maxQueueSize: 0,
  defaultTimeoutUs: 0,
  timeoutAction: 'REJECT',
  allowTimeoutOverride: false,
  ...overrides,
});

/** An executor whose batches finish only when the test says so, recording what ran where. */
function controlled() {
  const runs: Array<{ ids: string[]; instance: number; finish: () => void }> = [];
  const execute = (batch: Array<Dispatched<Item>>, instance: number) =>
    new Promise<Array<string | ServingError>>((resolve) => {
      runs.push({ ids: batch.map((b) => b.item.id), instance, finish: () => resolve(batch.map((b) => `done:${b.item.id}`)) });
    });
  return { runs, execute };
}

const item = (id: string, rows = 1, batchKey = '4;'): Item => ({ id, rows, batchKey });
const tick = () => new Promise((r) => setImmediate(r));

describe('serving: the dynamic batcher', () => {
  it('runs one batch per instance at a time: instance_group count is the number of concurrent executions', async () => {
    const { runs, execute } = controlled();
    const batcher = new DynamicBatcher<Item, string>(policy({ dynamicBatching: false }), 2, execute);
    const results = ['a', 'b', 'c'].map((id) => batcher.submit(item(id)));
    await tick();
    assert.deepEqual(
      runs.map((r) => [r.ids, r.instance]),
      [
        [['a'], 0],
        [['b'], 1],
      ],
    );
    assert.equal(batcher.pending, 3);
    runs[1]!.finish();
    await tick();
    assert.deepEqual(runs[2]!.ids, ['c']);
    assert.equal(runs[2]!.instance, 1, 'the freed instance takes the next request');
    runs[0]!.finish();
    runs[2]!.finish();
    assert.deepEqual(await Promise.all(results), ['done:a', 'done:b', 'done:c']);
  });

  it('merges requests queued behind a busy instance, up to max_batch_size rows, keeping shapes apart', async () => {
    const { runs, execute } = controlled();
    const batcher = new DynamicBatcher<Item, string>(policy({ maxBatchSize: 4 }), 1, execute);
    const all = [
      batcher.submit(item('first')),
      batcher.submit(item('r2', 2)),
      batcher.submit(item('other-shape', 1, '5;')),
      batcher.submit(item('r1')),
      batcher.submit(item('r3', 3)),
    ];
    await tick();
    runs[0]!.finish();
    await tick();
    assert.deepEqual(runs[1]!.ids, ['r2', 'r1'], 'rows 2 + 1 fit in 4; the 3-row request would not');
    runs[1]!.finish();
    await tick();
    assert.deepEqual(runs[2]!.ids, ['other-shape']);
    runs[2]!.finish();
    await tick();
    assert.deepEqual(runs[3]!.ids, ['r3']);
    runs[3]!.finish();
    assert.deepEqual(await Promise.all(all), ['done:first', 'done:r2', 'done:other-shape', 'done:r1', 'done:r3'], 'each request gets its own result from the merged batch');
  });

  it('waits max_queue_delay for a preferred batch size, and dispatches as soon as one forms', async () => {
    const { runs, execute } = controlled();
    const batcher = new DynamicBatcher<Item, string>(policy({ preferredBatchSizes: [3], maxQueueDelayUs: 60_000 }), 1, execute);
    const first = [batcher.submit(item('a')), batcher.submit(item('b'))];
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(runs.length, 0, 'two rows wait for the preferred three');
    const third = batcher.submit(item('c'));
    await tick();
    assert.deepEqual(runs[0]!.ids, ['a', 'b', 'c']);
    runs[0]!.finish();
    assert.deepEqual(await Promise.all([...first, third]), ['done:a', 'done:b', 'done:c']);
    const started = Date.now();
    const lone = batcher.submit(item('lone'));
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(runs[1]!.ids, ['lone'], 'a lone request runs once the delay has passed');
    assert.ok(Date.now() - started >= 55);
    runs[1]!.finish();
    assert.equal(await lone, 'done:lone');
  });

  it('rejects beyond max_queue_size at once, times out queued requests, and drops cancelled ones', async () => {
    const { runs, execute } = controlled();
    const batcher = new DynamicBatcher<Item, string>(policy({ dynamicBatching: false, maxQueueSize: 1, defaultTimeoutUs: 30_000 }), 1, execute);
    const running = batcher.submit(item('running'));
    const queued = batcher.submit(item('queued'));
    await assert.rejects(batcher.submit(item('overflow')), (e: ServingError) => e.kind === 'resource_exhausted');
    await assert.rejects(queued, (e: ServingError) => e.kind === 'deadline_exceeded' && /30000 µs/.test(e.message));
    const disconnect = new ClientDisconnect();
    const leaving = batcher.submit(item('leaving'), { disconnect });
    disconnect.fire();
    await assert.rejects(leaving, (e: ServingError) => e.kind === 'cancelled');
    assert.equal(batcher.pending, 1);
    runs[0]!.finish();
    assert.equal(await running, 'done:running', 'a running request is not subject to the queue timeout');
    assert.equal(runs.length, 1, 'nothing else ran');
  });

  it('on close refuses new requests and runs what it holds without waiting out the delay', async () => {
    const { runs, execute } = controlled();
    const batcher = new DynamicBatcher<Item, string>(policy({ maxQueueDelayUs: 10_000_000, preferredBatchSizes: [8] }), 1, execute);
    const held = batcher.submit(item('held'));
    await tick();
    assert.equal(runs.length, 0);
    const closed = batcher.close();
    await assert.rejects(batcher.submit(item('late')), (e: ServingError) => e.kind === 'unavailable');
    await tick();
    assert.deepEqual(runs[0]!.ids, ['held']);
    runs[0]!.finish();
    await closed;
    assert.equal(await held, 'done:held');
  });
});
