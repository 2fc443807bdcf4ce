import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { NodeCheckpoints } from '../../activities/node-checkpoints';
import { openArtifactStore } from '../../artifacts/open-store';
import type { ArtifactStore } from '../../artifacts/store';
import { testMinio } from '../support/servers';
import { tempDir } from '../support/tmp';

const PREFIX = 'pipelines/p/runs/r1/train/_checkpoints';

async function keysUnder(store: ArtifactStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list(prefix)) keys.push(o.key.slice(prefix.length + 1));
  return keys.sort();
}

for (const kind of ['file', 's3'] as const) {
  describe(`node checkpoints on ${kind}://`, function () {
    let store: ArtifactStore;
    before(async () => {
      if (kind === 's3') {
        const minio = await testMinio();
        const s3 = { endpoint: minio.endpoint, accessKey: minio.accessKey, secretKey: minio.secretKey, region: 'us-east-1' };
        store = await openArtifactStore(`s3://ckpt-${randomUUID().slice(0, 8)}/a`, s3, { cacheDir: await tempDir('ckpt-cache') });
      } else {
        store = await openArtifactStore(`file://${await tempDir('ckpt-store')}`, undefined, {});
      }
    });
    after(() => store?.close());

    it('a new attempt restores the latest checkpoint, files and state; only the latest is kept', async () => {
      const writer = new NodeCheckpoints(store, PREFIX);
      const dir = await tempDir('ckpt-dir');
      await writeFile(path.join(dir, 'weights.bin'), 'epoch 1');
      assert.equal(await writer.save(dir, { epoch: 1 }), 1);
      await writeFile(path.join(dir, 'weights.bin'), 'epoch 2');
      await writeFile(path.join(dir, 'optimizer.bin'), 'adam 2');
      assert.equal(await writer.save(dir, { epoch: 2, loss: 0.25 }), 2);
      assert.deepEqual(
        (await keysUnder(store, PREFIX)).filter((k) => !k.endsWith('.json') || k.endsWith('state.json')),
        ['2/files/optimizer.bin', '2/files/weights.bin', '2/state.json'],
        'checkpoint 1 is gone once 2 is committed',
      );

      const into = await tempDir('ckpt-restore');
      const reader = new NodeCheckpoints(store, PREFIX);
      assert.deepEqual(await reader.restore(into), { number: 2, state: { epoch: 2, loss: 0.25 } });
      assert.deepEqual((await readdir(into)).sort(), ['optimizer.bin', 'weights.bin']);
      assert.equal(await readFile(path.join(into, 'weights.bin'), 'utf8'), 'epoch 2');
      assert.equal(await reader.save(into, { epoch: 3 }), 3, 'numbering goes on after the restored checkpoint');
    });

    it('a checkpoint of state alone restores, and a checkpoint without its manifest is skipped', async () => {
      const prefix = `${PREFIX}-state-only`;
      const writer = new NodeCheckpoints(store, prefix);
      await writer.save(await tempDir('empty'), { step: 7 });
      // What a worker killed in the middle of committing checkpoint 2 leaves behind.
      await store.putObject(`${prefix}/2/state.json`, JSON.stringify({ state: { step: 8 } }));
      const into = await tempDir('ckpt-restore');
      assert.deepEqual(await new NodeCheckpoints(store, prefix).restore(into), { number: 1, state: { step: 7 } });
      assert.deepEqual(await readdir(into), []);
      await writer.clear();
      assert.deepEqual(await keysUnder(store, prefix), []);
    });

    it('state that is not JSON is refused with a message, and nothing is committed', async () => {
      const prefix = `${PREFIX}-bad`;
      await assert.rejects(new NodeCheckpoints(store, prefix).save(await tempDir('empty'), { step: 1n }), /checkpoint state must be JSON: .*BigInt/);
      assert.deepEqual(await keysUnder(store, prefix), []);
    });
  });
}
