import assert from 'node:assert/strict';
import { mkdir, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FileArtifactStore } from '../../artifacts/file-store';
import { InvalidArtifactLocationError } from '../../artifacts/manifest';
import { MANIFEST_NAME } from '../../artifacts/store';
import { tempDir } from '../support/tmp';

describe('artifact store on file:// (local directory specifics)', () => {
  let root: string;
  let store: FileArtifactStore;

  beforeEach(async () => {
    root = await tempDir('file-store');
    store = await FileArtifactStore.open(`file://${root}/artifacts/`);
  });

  it('normalizes the root URI and keeps artifacts as plain directories under it', async () => {
    assert.equal(store.rootUri, `file://${root}/artifacts`);
    const staging = await store.createStaging();
    await writeFile(path.join(staging.localDir, 'data.csv'), 'a,b\n1,2\n');
    const uri = store.uriFor('pipe/node/out');
    await store.commit(staging, uri);
    const dir = await store.materialize(uri);
    assert.equal(dir, path.join(root, 'artifacts', 'pipe', 'node', 'out'));
    assert.deepEqual((await readdir(dir)).sort(), [MANIFEST_NAME, 'data.csv']);
  });

  it('stages on the same filesystem as the root, in a private directory never listed', async () => {
    const staging = await store.createStaging();
    assert.equal(path.dirname(staging.localDir), path.join(root, 'artifacts', '.staging'));
    assert.equal((await stat(staging.localDir)).dev, (await stat(path.join(root, 'artifacts'))).dev);
    await writeFile(path.join(staging.localDir, 'f'), 'x');
    await store.putObject('visible', 'v');
    const keys: string[] = [];
    for await (const info of store.list('')) keys.push(info.key);
    assert.deepEqual(keys, ['visible']);
    await store.deletePrefix('');
    assert.deepEqual((await readdir(path.join(root, 'artifacts', '.staging'))).sort(), [staging.id]);
  });

  it('leaves no temporary files behind after writing objects', async () => {
    await store.putObject('a/b.txt', 'x');
    await store.putObject('a/b.txt', Buffer.from('y'));
    assert.deepEqual(await readdir(path.join(root, 'artifacts', '.staging')), []);
  });

  it('refuses an object key that is also used as a prefix, naming it', async () => {
    await store.putObject('a/b', 'file');
    await assert.rejects(store.putObject('a/b/c', 'x'), (err: Error) => {
      assert.ok(err instanceof InvalidArtifactLocationError);
      assert.match(err.message, /cannot write file:\/\/.*\/a\/b\/c: a parent of it is an object/);
      return true;
    });
    await assert.rejects(store.putObject('a', 'x'), /cannot write .*\/a: it is a prefix holding other objects/);
    const staging = await store.createStaging();
    await writeFile(path.join(staging.localDir, 'f'), 'x');
    await assert.rejects(store.commit(staging, store.uriFor('a/b')), /cannot commit .*\/a\/b: an object exists at that key/);
    const manifest = await store.commit(staging, store.uriFor('elsewhere'));
    assert.deepEqual(manifest.files.map((f) => f.path), ['f'], 'a refused staging area can still be committed');
  });

  it('names the manifest file when a stored manifest is corrupt', async () => {
    const dir = path.join(root, 'artifacts', 'broken');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, MANIFEST_NAME), '{"version": 1, "uri": 3}');
    await assert.rejects(store.readManifest(store.uriFor('broken')), (err: Error) => {
      assert.ok(err.message.startsWith(`manifest ${path.join(dir, MANIFEST_NAME)} is malformed:`), err.message);
      assert.match(err.message, /uri: /);
      return true;
    });
    await writeFile(path.join(dir, MANIFEST_NAME), 'not json');
    await assert.rejects(store.readManifest(store.uriFor('broken')), /manifest .*broken\/_MLPIPE_MANIFEST.json is not valid JSON/);
  });

  it('refuses a staged symlink, which could not travel to an object store', async () => {
    const staging = await store.createStaging();
    await symlink('/etc/hostname', path.join(staging.localDir, 'link'));
    await assert.rejects(
      store.commit(staging, store.uriFor('with-link')),
      new RegExp(`${staging.localDir}/link: only regular files and directories can be part of an artifact`),
    );
  });
});
