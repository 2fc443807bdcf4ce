import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { access, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { FileArtifactStore } from '../../artifacts/file-store';
import { ArtifactNotFoundError, InvalidArtifactLocationError } from '../../artifacts/manifest';
import { S3ArtifactStore } from '../../artifacts/s3-store';
import { MANIFEST_NAME, type ArtifactStore, type ObjectInfo, type StagingArea } from '../../artifacts/store';
import { testMinio } from '../support/servers';
import { stageFiles } from '../support/stage-files';
import { tempDir } from '../support/tmp';

type Files = Record<string, string | Buffer>;

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** The content hash computed from the definition (sorted `path\0sha256\n` lines), not by the store's code. */
function expectedContentHash(files: Files): string {
  const lines = Object.keys(files)
    .sort(byBytes)
    .map((p) => `${p}\0${sha256(files[p] as string | Buffer)}\n`);
  return sha256(lines.join(''));
}

async function collect(iterable: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const info of iterable) out.push(info);
  return out;
}

/** Key and size only: an `s3://` store also gives each object's ETag, which no other store has. */
function keyAndSize(info: ObjectInfo | null): Pick<ObjectInfo, 'key' | 'size'> | null {
  return info && { key: info.key, size: info.size };
}

async function keysUnder(store: ArtifactStore, prefix: string): Promise<string[]> {
  return (await collect(store.list(prefix))).map((o) => o.key);
}

async function readTree(dir: string): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const abs = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, abs).split(path.sep).join('/')] = await readFile(abs);
  }
  return out;
}

function asBuffers(files: Files): Record<string, Buffer> {
  return Object.fromEntries(Object.entries(files).map(([k, v]) => [k, Buffer.from(v)]));
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

/** `size` bytes of pseudo-random data in 1 MiB chunks, never held in memory at once, and its sha256. */
function generatedStream(size: number): { stream: Readable; sha256: () => string } {
  const block = randomBytes(1 << 20);
  const hash = createHash('sha256');
  let sent = 0;
  let digest = '';
  const stream = new Readable({
    read() {
      if (sent >= size) {
        digest = hash.digest('hex');
        this.push(null);
        return;
      }
      const chunk = Buffer.from(block.subarray(0, Math.min(block.length, size - sent)));
      chunk.writeUInt32BE(sent / block.length, 0);
      hash.update(chunk);
      sent += chunk.length;
      this.push(chunk);
    },
  });
  return { stream, sha256: () => digest };
}

async function sha256OfStream(stream: Readable): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: hash.digest('hex') };
}

/**
 * The behaviour every artifact store backend must show. `openStore` returns a store over a fresh,
 * empty root; the suite closes it.
 */
function describeArtifactStoreContract(backend: string, openStore: () => Promise<ArtifactStore>): void {
  describe(`artifact store contract: ${backend}`, function () {
    let store: ArtifactStore;
    /** A fresh key prefix per test, so tests never see each other's objects. */
    let base: string;

    before(async function () {
      this.timeout(120_000);
      store = await openStore();
    });
    after(async () => {
      await store?.close();
    });
    beforeEach(() => {
      base = `t-${randomUUID().slice(0, 8)}`;
    });

    it('puts, gets, stats and deletes objects from string, Buffer and stream bodies', async () => {
      await store.putObject(`${base}/s.txt`, 'hello');
      await store.putObject(`${base}/b.bin`, Buffer.from([0, 1, 2, 255]));
      await store.putObject(`${base}/r.txt`, Readable.from([Buffer.from('str'), Buffer.from('eamed')]));
      await store.putObject(`${base}/empty`, '');
      assert.equal((await store.getObjectBuffer(`${base}/s.txt`)).toString(), 'hello');
      assert.deepEqual([...(await store.getObjectBuffer(`${base}/b.bin`))], [0, 1, 2, 255]);
      assert.equal((await sha256OfStream(await store.getObject(`${base}/r.txt`))).sha256, sha256('streamed'));
      assert.equal((await store.getObjectBuffer(`${base}/empty`)).length, 0);
      assert.deepEqual(keyAndSize(await store.statObject(`${base}/b.bin`)), { key: `${base}/b.bin`, size: 4 });
      assert.equal(await store.statObject(`${base}/missing`), null);

      await store.putObject(`${base}/s.txt`, 'replaced');
      assert.equal((await store.getObjectBuffer(`${base}/s.txt`)).toString(), 'replaced');

      await store.deletePrefix(`${base}/s.txt`);
      assert.equal(await store.statObject(`${base}/s.txt`), null);
      await assert.rejects(store.getObject(`${base}/s.txt`), (err: Error) => {
        assert.ok(err instanceof ArtifactNotFoundError, String(err));
        assert.match(err.message, new RegExp(`${base}/s\\.txt`));
        return true;
      });
      await assert.rejects(store.getObjectBuffer(`${base}/never-written`), ArtifactNotFoundError);
    });

    it('rejects a put whose source stream fails, leaving no object behind', async () => {
      const failing = new Readable({
        read() {
          this.push(Buffer.alloc(1024, 1));
          this.destroy(new Error('source broke'));
        },
      });
      await assert.rejects(store.putObject(`${base}/broken`, failing), /source broke/);
      assert.equal(await store.statObject(`${base}/broken`), null);
      assert.deepEqual(await keysUnder(store, base), []);
    });

    it('lists recursively in key order and treats the prefix as a directory', async () => {
      for (const k of ['b', 'ab', 'a/y/z', 'a/x', 'a-b']) await store.putObject(`${base}/${k}`, k);
      // '-' (0x2d) sorts before '/' (0x2f): full-key order, not a per-directory walk.
      assert.deepEqual(await keysUnder(store, base), ['a-b', 'a/x', 'a/y/z', 'ab', 'b'].map((k) => `${base}/${k}`));
      assert.deepEqual((await collect(store.list(`${base}/a`))).map(keyAndSize), [
        { key: `${base}/a/x`, size: 3 },
        { key: `${base}/a/y/z`, size: 5 },
      ]);
      assert.deepEqual(await keysUnder(store, `${base}/a/`), [`${base}/a/x`, `${base}/a/y/z`]);
      assert.deepEqual(await keysUnder(store, `${base}/b`), [`${base}/b`]);
      assert.deepEqual(await keysUnder(store, `${base}/nothing`), []);
      const everything = await keysUnder(store, '');
      assert.ok(everything.includes(`${base}/a/y/z`));
      assert.deepEqual(everything, [...everything].sort(byBytes));
    });

    it('deletes everything under a prefix and nothing beside it', async () => {
      for (const k of ['a/x', 'a/y/z', 'a-b', 'ab']) await store.putObject(`${base}/${k}`, k);
      await store.deletePrefix(`${base}/a`);
      assert.deepEqual(await keysUnder(store, base), [`${base}/a-b`, `${base}/ab`]);
      await store.deletePrefix(`${base}/not-there`);
      await store.deletePrefix(`${base}/`);
      assert.deepEqual(await keysUnder(store, base), []);
    });

    it('streams a 50 MB object through put and get with an identical sha256', async function () {
      this.timeout(120_000);
      const size = 50 * 1024 * 1024 + 123;
      const source = generatedStream(size);
      await store.putObject(`${base}/big.bin`, source.stream);
      assert.deepEqual(keyAndSize(await store.statObject(`${base}/big.bin`)), { key: `${base}/big.bin`, size });
      assert.deepEqual(await sha256OfStream(await store.getObject(`${base}/big.bin`)), { size, sha256: source.sha256() });
    });

    it('shows nothing of a staged artifact until it is committed', async () => {
      const uri = store.uriFor(`${base}/examples`);
      const files: Files = { 'Split-train/data.parquet': randomBytes(3000), 'Split-eval/data.parquet': 'eval', 'empty.txt': '' };
      const staging = await stageFiles(store, files);
      assert.equal(await store.readManifest(uri), null);
      assert.deepEqual(await keysUnder(store, `${base}/examples`), []);
      assert.ok(!(await keysUnder(store, '')).some((k) => k.startsWith('.staging') || k.includes(staging.id)));
      await assert.rejects(store.materialize(uri), ArtifactNotFoundError);

      const manifest = await store.commit(staging, uri);
      assert.equal(manifest.version, 1);
      assert.equal(manifest.uri, uri);
      assert.equal(manifest.contentHash, expectedContentHash(files));
      assert.deepEqual(
        manifest.files,
        Object.keys(files)
          .sort(byBytes)
          .map((p) => ({ path: p, size: Buffer.from(files[p] as string | Buffer).length, sha256: sha256(files[p] as string | Buffer) })),
      );
      assert.ok(!Number.isNaN(Date.parse(manifest.committedAt)));
      assert.deepEqual(await store.readManifest(uri), manifest);
      assert.deepEqual(
        await keysUnder(store, `${base}/examples`),
        [...Object.keys(files), MANIFEST_NAME].map((p) => `${base}/examples/${p}`).sort(byBytes),
      );
      assert.equal((await store.getObjectBuffer(`${base}/examples/Split-eval/data.parquet`)).toString(), 'eval');
      assert.ok(!(await exists(staging.localDir)), 'the staging directory is gone after the commit');
    });

    it('materializes a committed artifact as a directory with exactly its files', async () => {
      const uri = store.uriFor(`${base}/model`);
      const files: Files = { 'model.onnx': randomBytes(200_000), 'deep/er/still/meta.json': '{"a":1}', 'e': '' };
      const manifest = await store.commit(await stageFiles(store, files), uri);
      const dir = await store.materialize(uri);
      const tree = await readTree(dir);
      assert.deepEqual(JSON.parse((tree[MANIFEST_NAME] as Buffer).toString()), manifest);
      delete tree[MANIFEST_NAME];
      assert.deepEqual(tree, asBuffers(files));
      assert.equal(await store.materialize(uri), dir, 'materializing again gives the same directory');
    });

    it('answers a second commit to a committed URI with the first manifest and changes nothing', async () => {
      const uri = store.uriFor(`${base}/out`);
      const first = await store.commit(await stageFiles(store, { 'a.txt': 'first', 'only-first.txt': '1' }), uri);
      const retry = await stageFiles(store, { 'a.txt': 'second attempt', 'only-second.txt': '2' });
      assert.deepEqual(await store.commit(retry, uri), first);
      assert.ok(!(await exists(retry.localDir)), 'the losing staging area is discarded');
      assert.deepEqual(await keysUnder(store, `${base}/out`), [
        `${base}/out/${MANIFEST_NAME}`,
        `${base}/out/a.txt`,
        `${base}/out/only-first.txt`,
      ]);
      assert.equal((await store.getObjectBuffer(`${base}/out/a.txt`)).toString(), 'first');
      const again = await stageFiles(store, { 'a.txt': 'first', 'only-first.txt': '1' });
      assert.deepEqual(await store.commit(again, uri), first, 'an identical retry also returns the original');
    });

    it('keeps files without a manifest invisible and replaces them on commit', async () => {
      const uri = store.uriFor(`${base}/crashed`);
      await store.putObject(`${base}/crashed/part-0.parquet`, 'half written');
      await store.putObject(`${base}/crashed/nested/leftover.bin`, 'x');
      assert.equal(await store.readManifest(uri), null);
      await assert.rejects(store.materialize(uri), (err: Error) => {
        assert.ok(err instanceof ArtifactNotFoundError);
        assert.match(err.message, /no committed artifact at .*crashed/);
        return true;
      });
      const files: Files = { 'part-0.parquet': 'complete', 'part-1.parquet': 'also complete' };
      const manifest = await store.commit(await stageFiles(store, files), uri);
      assert.equal(manifest.contentHash, expectedContentHash(files));
      assert.deepEqual(await keysUnder(store, `${base}/crashed`), [
        `${base}/crashed/${MANIFEST_NAME}`,
        `${base}/crashed/part-0.parquet`,
        `${base}/crashed/part-1.parquet`,
      ]);
      const tree = await readTree(await store.materialize(uri));
      delete tree[MANIFEST_NAME];
      assert.deepEqual(tree, asBuffers(files));
    });

    it('ends concurrent commits of two staging areas to one URI with exactly one complete artifact', async function () {
      this.timeout(120_000);
      for (let round = 0; round < 4; round++) {
        const uri = store.uriFor(`${base}/race-${round}`);
        const contents: Files[] = ['A', 'B'].map((who) => ({
          'shared/data.bin': randomBytes(50_000 + round * 1000),
          'shared/label.txt': who,
          [`only-${who}.txt`]: who.repeat(10),
        }));
        const stagings = await Promise.all(contents.map((c) => stageFiles(store, c)));
        const [a, b] = await Promise.all(stagings.map((s) => store.commit(s, uri)));
        assert.deepEqual(a, b, 'both committers report the same artifact');
        const winner = contents.find((c) => expectedContentHash(c) === a?.contentHash);
        assert.ok(winner, 'the committed artifact is one of the two, not a mix');
        assert.deepEqual(await store.readManifest(uri), a);
        assert.deepEqual(
          await keysUnder(store, `${base}/race-${round}`),
          [...Object.keys(winner), MANIFEST_NAME].map((p) => `${base}/race-${round}/${p}`).sort(byBytes),
        );
        const tree = await readTree(await store.materialize(uri));
        delete tree[MANIFEST_NAME];
        assert.deepEqual(tree, asBuffers(winner));
      }
    });

    it('aborts a staging area, which then can no longer be committed', async () => {
      const staging = await stageFiles(store, { 'x.txt': 'x' });
      await store.abort(staging);
      assert.ok(!(await exists(staging.localDir)));
      await store.abort(staging);
      const uri = store.uriFor(`${base}/aborted`);
      await assert.rejects(store.commit(staging, uri), /staging directory .* does not exist/);
      assert.equal(await store.readManifest(uri), null);
      assert.deepEqual(await keysUnder(store, `${base}/aborted`), []);
    });

    it('deletes an artifact so that it is invisible at once, and lets the URI be committed again', async () => {
      const uri = store.uriFor(`${base}/gone`);
      await store.commit(await stageFiles(store, { 'a/b.txt': 'b', 'c.txt': 'c' }), uri);
      await store.deleteArtifact(uri);
      assert.equal(await store.readManifest(uri), null);
      assert.deepEqual(await keysUnder(store, `${base}/gone`), []);
      await assert.rejects(store.materialize(uri), ArtifactNotFoundError);
      await store.deleteArtifact(uri);
      const again = await store.commit(await stageFiles(store, { 'new.txt': 'new' }), uri);
      assert.equal(again.contentHash, expectedContentHash({ 'new.txt': 'new' }));
    });

    it('round-trips nested keys and unusual but legal characters', async () => {
      const names = [
        'dir with space/ünïcödé/naïve résumé.txt',
        'sym/a+b&c=d;e,f@g$h!(1)[2]{3}~.txt',
        'q/per%20cent#hash?query=1.txt',
        `quotes/'single' "double" \`back\`.txt`,
        'emoji/🚀 launch.bin',
        'numbers/007',
        'numbers/0x1F',
        'back\\slash.txt',
      ];
      for (const [i, name] of names.entries()) await store.putObject(`${base}/${name}`, `content ${i}`);
      assert.deepEqual(await keysUnder(store, base), names.map((n) => `${base}/${n}`).sort(byBytes));
      for (const [i, name] of names.entries()) {
        assert.equal((await store.getObjectBuffer(`${base}/${name}`)).toString(), `content ${i}`, name);
        assert.equal((await store.statObject(`${base}/${name}`))?.size, `content ${i}`.length, name);
      }
      const files: Files = Object.fromEntries(names.map((n, i) => [n, `file ${i}`]));
      const uri = store.uriFor(`${base}/odd artifact/v=1&x`);
      const manifest = await store.commit(await stageFiles(store, files), uri);
      assert.equal(manifest.contentHash, expectedContentHash(files));
      assert.equal(store.keyFor(uri), `${base}/odd artifact/v=1&x`);
      const tree = await readTree(await store.materialize(uri));
      delete tree[MANIFEST_NAME];
      assert.deepEqual(tree, asBuffers(files));
    });

    it('refuses bad keys, foreign URIs and foreign staging areas with messages naming them', async () => {
      const badKeys = ['../escape', '/absolute', 'a//b', 'a/./b', 'a/../b', '.staging/x', '', 'nul\0byte'];
      for (const key of badKeys) {
        await assert.rejects(store.putObject(key, 'x'), (err: Error) => {
          assert.ok(err instanceof InvalidArtifactLocationError, `${JSON.stringify(key)}: ${String(err)}`);
          assert.ok(err.message.includes(`'${key}'`), err.message);
          return true;
        });
      }
      await assert.rejects(store.putObject(`${base}/x/${MANIFEST_NAME}`, '{}'), /reserved for the manifest/);
      await assert.rejects(store.putObject(`${base}/dir/`, 'x'), /trailing '\/'/);
      assert.throws(() => store.keyFor('s3://somewhere-else/x'), /not under the artifact root/);
      assert.throws(() => store.keyFor(`${store.rootUri}x/y`), /not under the artifact root/);
      assert.throws(() => store.keyFor(`${store.rootUri}/a/../../b`), /URI .*: key 'a\/..\/..\/b'/);
      await assert.rejects(store.readManifest(store.rootUri), /expected a location below/);
      const forged: StagingArea = { id: 'not-mine', localDir: await tempDir('forged') };
      await assert.rejects(store.commit(forged, store.uriFor(`${base}/f`)), /was not created by the artifact store/);
      await assert.rejects(store.commit(forged, 'file:///elsewhere/x'), InvalidArtifactLocationError);
    });

    it('refuses to nest one artifact inside another', async () => {
      await store.commit(await stageFiles(store, { 'a.txt': 'a' }), store.uriFor(`${base}/outer`));
      await assert.rejects(
        store.commit(await stageFiles(store, { 'b.txt': 'b' }), store.uriFor(`${base}/outer/inner`)),
        /is a committed artifact, and artifacts cannot nest/,
      );
      await store.commit(await stageFiles(store, { 'c.txt': 'c' }), store.uriFor(`${base}/parent/child`));
      await assert.rejects(
        store.commit(await stageFiles(store, { 'd.txt': 'd' }), store.uriFor(`${base}/parent`)),
        /holds the committed artifact .*parent\/child, and artifacts cannot nest/,
      );
      assert.equal(await store.readManifest(store.uriFor(`${base}/parent`)), null);
    });

    it('refuses a staged file named like the manifest', async () => {
      const staging = await stageFiles(store, { [`sub/${MANIFEST_NAME}`]: '{}' });
      await assert.rejects(store.commit(staging, store.uriFor(`${base}/fake`)), /reserved for the manifest/);
      assert.equal(await store.readManifest(store.uriFor(`${base}/fake/sub`)), null);
    });
  });
}

describeArtifactStoreContract('file://', async () => FileArtifactStore.open(`file://${await tempDir('artifacts')}`));

describeArtifactStoreContract('s3:// on MinIO', async () => {
  const minio = await testMinio();
  return S3ArtifactStore.open(
    `s3://contract-${randomUUID().slice(0, 8)}/root/artifacts`,
    { endpoint: minio.endpoint, accessKey: minio.accessKey, secretKey: minio.secretKey, region: 'us-east-1' },
    { cacheDir: await tempDir('s3-cache') },
  );
});
