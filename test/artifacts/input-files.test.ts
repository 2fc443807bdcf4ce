import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { hashFileContent } from '../../artifacts/fingerprint';
import { assertUnchanged, FileHashMemo, InputLocationError, listInputFiles, MAX_FILES_PER_LOCATION } from '../../artifacts/input-files';
import { tempDir } from '../support/tmp';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('input files: what a location names, and the content hashes that key the cache', function () {
  it('hashes a file by its bytes, and again after a rewrite that keeps its size and mtime', async () => {
    const dir = await tempDir('memo');
    const file = path.join(dir, 'data.csv');
    await writeFile(file, 'a,b\n1,2\n');
    const mtime = new Date('2026-01-01T00:00:00Z');
    await utimes(file, mtime, mtime);
    const memo = new FileHashMemo();
    const first = await memo.hash(file);
    assert.deepEqual({ size: first.size, sha256: first.sha256 }, { size: 8, sha256: sha256('a,b\n1,2\n') });
    await writeFile(file, 'a,b\n9,9\n');
    await utimes(file, mtime, mtime);
    assert.equal((await stat(file)).mtimeMs, mtime.getTime());
    const second = await memo.hash(file);
    assert.deepEqual({ size: second.size, sha256: second.sha256 }, { size: 8, sha256: sha256('a,b\n9,9\n') }, 'the ctime moved, so the memo read the file again');
    assert.ok(second.changedAt > first.changedAt);
  });

  it('keeps at most as many hashes as it was given room for, dropping the least recently used', async () => {
    const dir = await tempDir('memo-bound');
    const read: string[] = [];
    const memo = new FileHashMemo(2, (file) => {
      read.push(path.basename(file));
      return hashFileContent(file);
    });
    for (const name of ['1', '2', '3']) await writeFile(path.join(dir, name), name);
    for (const name of ['1', '2', '1', '3', '1', '2']) await memo.hash(path.join(dir, name));
    // 1 and 2 are read; 1 is remembered; 3 pushes out 2, the least recently used; 1 is remembered; 2 is read again.
    assert.deepEqual(read, ['1', '2', '3', '2']);
    assert.equal(memo.size, 2);
  });

  it('lists a file, a glob (in path order, relative to the part before the first wildcard) and a file:// URI', async () => {
    const dir = await tempDir('list');
    await mkdir(path.join(dir, 'day', 'nested'), { recursive: true });
    await writeFile(path.join(dir, 'day', 'b.csv'), 'b');
    await writeFile(path.join(dir, 'day', 'a.csv'), 'a');
    await writeFile(path.join(dir, 'day', 'nested', 'c.csv'), 'c');
    await writeFile(path.join(dir, 'day', 'skip.txt'), 'x');
    const memo = new FileHashMemo();
    const one = await listInputFiles(path.join(dir, 'day', 'a.csv'), { memo });
    const changedAt = (await stat(path.join(dir, 'day', 'a.csv'))).ctimeMs;
    assert.deepEqual(one, { location: path.join(dir, 'day', 'a.csv'), root: path.join(dir, 'day'), files: [{ path: 'a.csv', size: 1, contentHash: `sha256:${sha256('a')}`, changedAt }] });
    const flat = await listInputFiles(path.join(dir, 'day', '*.csv'), { memo });
    assert.equal(flat.root, path.join(dir, 'day'));
    assert.deepEqual(flat.files.map((f) => f.path), ['a.csv', 'b.csv']);
    const deep = await listInputFiles(path.join(dir, 'day', '**', '*.csv'), { memo });
    assert.deepEqual(deep.files.map((f) => f.path), ['a.csv', 'b.csv', 'nested/c.csv']);
    const uri = await listInputFiles(pathToFileURL(path.join(dir, 'day', 'b.csv')).href, { memo });
    assert.deepEqual(uri.files.map((f) => f.contentHash), [`sha256:${sha256('b')}`]);
  });

  it('names the location and what is wrong when it names nothing it can read', async () => {
    const dir = await tempDir('list-bad');
    const memo = new FileHashMemo();
    const fails = (location: string, pattern: RegExp, s3Source?: string) =>
      assert.rejects(listInputFiles(location, { memo, ...(s3Source ? { s3Source } : {}) }), (err: Error) => err instanceof InputLocationError && pattern.test(err.message));
    await fails(path.join(dir, 'missing.csv'), /input file not found: .*missing\.csv/);
    await fails(path.join(dir, 'none-*.csv'), /no file matches the input pattern/);
    await fails(dir, /is a directory; name its files with a glob such as/);
    await fails('data/train.csv', /must be an absolute path or a file:\/\/ URI \(got a relative path\)/);
    await fails('gs://bucket/data.csv', /gs:\/\/ locations are not supported/);
    await fails('s3://bucket/day/*.csv', /is on S3, but no S3 endpoint is configured/);
    await fails('s3://bucket/day/*.csv', /is on S3, but no S3 source 'partner' is configured on this worker/, 'partner');
  });

  it('tells a file changed or removed since it was hashed from one that is as it was', async () => {
    const dir = await tempDir('unchanged');
    await writeFile(path.join(dir, 'a.csv'), 'a,b\n1,2\n');
    await writeFile(path.join(dir, 'b.csv'), 'a,b\n3,4\n');
    const set = await listInputFiles(path.join(dir, '*.csv'), { memo: new FileHashMemo() });
    await assertUnchanged(set);
    const mtime = (await stat(path.join(dir, 'a.csv'))).mtime;
    await writeFile(path.join(dir, 'a.csv'), 'a,b\n9,9\n');
    await utimes(path.join(dir, 'a.csv'), mtime, mtime);
    await assert.rejects(assertUnchanged(set), /input file .*a\.csv changed after the node was prepared .*run the pipeline again/);
    await writeFile(path.join(dir, 'a.csv'), 'a,b\n1,2\n');
    await rm(path.join(dir, 'b.csv'));
    await assert.rejects(assertUnchanged({ ...set, files: set.files.slice(1) }), /input file .*b\.csv was removed after the node was prepared/);
  });

  it(`refuses more than ${MAX_FILES_PER_LOCATION} files per location, whose list would not fit in a workflow payload`, async () => {
    const dir = await tempDir('list-many');
    await Promise.all(Array.from({ length: MAX_FILES_PER_LOCATION + 1 }, (_, i) => writeFile(path.join(dir, `${i}.csv`), '')));
    await assert.rejects(listInputFiles(path.join(dir, '*.csv'), { memo: new FileHashMemo() }), new RegExp(`names ${MAX_FILES_PER_LOCATION + 1} files; at most ${MAX_FILES_PER_LOCATION}`));
  });
});
