import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MAX_CHECKPOINT_STATE_BYTES, NodeCheckpoints } from '../../activities/node-checkpoints';
import { openArtifactStore } from '../../artifacts/open-store';
import type { ArtifactStore } from '../../artifacts/store';
import { testMinio } from '../support/servers';
import { tempDir } from '../support/tmp';

async function checkpointsIn(store: ArtifactStore, prefix: string): Promise<string[]> {
  const names = new Set<string>();
  for await (const o of store.list(prefix)) names.add(o.key.slice(prefix.length + 1).split('/')[0]!);
  return [...names].sort();
}

async function dirWith(files: Record<string, string>): Promise<string> {
  const dir = await tempDir('ckpt-dir');
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

for (const kind of ['file', 's3'] as const) {
  describe(`node checkpoints on ${kind}://`, function () {
    let store: ArtifactStore;
    let n = 0;
    const freshPrefix = () => `pipelines/p/runs/r${++n}/train/_checkpoints`;
    before(async () => {
      if (kind === 's3') {
        const minio = await testMinio();
        const s3 = { endpoint: minio.endpoint, accessKey: minio.accessKey, secretKey: minio.secretKey, region: 'us-east-1' };
        store = await openArtifactStore(`s3://ckpt-${randomUUID().slice(0, 8)}/a`, s3, { cacheDir: await tempDir('ckpt-cache') });
      } else {
        store = await openArtifactStore(`file://${await tempDir('ckpt-store')}`);
      }
    });
    after(() => store?.close());

    it('a retry restores the latest checkpoint, files and state; once it saves, only its own is kept', async () => {
      const prefix = freshPrefix();
      const first = new NodeCheckpoints(store, prefix, 1);
      assert.equal(await first.save(await dirWith({ 'weights.bin': 'epoch 1' }), { epoch: 1 }), 1);
      assert.equal(await first.save(await dirWith({ 'weights.bin': 'epoch 2', 'optimizer.bin': 'adam 2' }), { epoch: 2, loss: 0.25 }), 2);
      assert.deepEqual(await checkpointsIn(store, prefix), ['2-a1'], 'checkpoint 1 is gone once 2 is committed');

      const into = await tempDir('ckpt-restore');
      const retry = new NodeCheckpoints(store, prefix, 2);
      assert.deepEqual(await retry.restore(into), { number: 2, state: { epoch: 2, loss: 0.25 } });
      assert.deepEqual((await readdir(into)).sort(), ['optimizer.bin', 'weights.bin']);
      assert.equal(await readFile(path.join(into, 'weights.bin'), 'utf8'), 'epoch 2');
      assert.equal(await retry.save(into, { epoch: 3 }), 3, 'numbering goes on after the restored checkpoint');
      assert.deepEqual(await checkpointsIn(store, prefix), ['3-a2'], 'the restored checkpoint goes once the retry has its own');
      await retry.clear();
      assert.deepEqual(await checkpointsIn(store, prefix), []);
    });

    it('a checkpoint of state alone restores; one without its manifest (a crashed commit) is skipped, then removed', async () => {
      const prefix = freshPrefix();
      await new NodeCheckpoints(store, prefix, 1).save(await tempDir('empty'), { step: 7 });
      await store.putObject(`${prefix}/2-a1/state.json`, JSON.stringify({ state: { step: 8 } }));
      const into = await tempDir('ckpt-restore');
      const retry = new NodeCheckpoints(store, prefix, 2);
      assert.deepEqual(await retry.restore(into), { number: 1, state: { step: 7 } });
      assert.deepEqual(await readdir(into), []);
      assert.equal(await retry.save(into, { step: 9 }), 3, 'numbered after the highest present, complete or not');
      assert.deepEqual(await checkpointsIn(store, prefix), ['3-a2']);
    });

    it('two attempts alive at once never claim the same checkpoint; a restore gets files and state of one', async () => {
      const prefix = freshPrefix();
      const first = new NodeCheckpoints(store, prefix, 1);
      await first.save(await dirWith({ 'w.bin': 'step 1' }), { step: 1 });
      const retry = new NodeCheckpoints(store, prefix, 2);
      await retry.restore(await tempDir('ckpt-restore'));
      // The retry and the first attempt (a worker taken for dead that is still running) both save checkpoint 2.
      assert.equal(await retry.save(await dirWith({ 'w.bin': 'retry step 2' }), { step: 2, by: 'retry' }), 2);
      assert.equal(await first.save(await dirWith({ 'w.bin': 'first step 2' }), { step: 2, by: 'first' }), 2);
      const into = await tempDir('ckpt-restore');
      const restored = await new NodeCheckpoints(store, prefix, 3).restore(into);
      const by = (restored!.state as { by: string }).by;
      assert.equal(await readFile(path.join(into, 'w.bin'), 'utf8'), `${by} step 2`, 'the files belong to the state restored');
    });

    it('state that is not JSON, undefined or too large is refused with a message, and nothing is committed', async () => {
      const prefix = freshPrefix();
      const checkpoints = new NodeCheckpoints(store, prefix, 1);
      const empty = await tempDir('empty');
      await assert.rejects(checkpoints.save(empty, { step: 1n }), /checkpoint state must be JSON: .*BigInt/);
      await assert.rejects(checkpoints.save(empty, undefined), /checkpoint state must be a JSON value, not undefined/);
      await assert.rejects(
        checkpoints.save(empty, { weights: 'x'.repeat(MAX_CHECKPOINT_STATE_BYTES) }),
        new RegExp(`checkpoint state is ${MAX_CHECKPOINT_STATE_BYTES + 24} bytes as JSON; keep it under ${MAX_CHECKPOINT_STATE_BYTES} and put the rest in files`),
      );
      assert.deepEqual(await checkpointsIn(store, prefix), []);
    });
  });
}
