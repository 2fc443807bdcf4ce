import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, symlink } from 'node:fs/promises';
import path from 'node:path';
import { FileHashMemo, listInputFiles } from '../../artifacts/input-files';
import { s3Client } from '../../artifacts/s3-client';
import type { S3Sources } from '../../artifacts/s3-sources';
import { localInputFiles } from '../../components/example-gen/s3-input';
import { UserInputError } from '../../dsl/executor';
import { testMinio } from '../support/servers';
import { tempDir } from '../support/tmp';

const OBJECT_BYTES = 300_000;

describe('ExampleGen s3:// input on a full disk', function () {
  it('names the object, its size and the directory when its copy runs out of space, and leaves it to a retry', async function () {
    const minio = await testMinio();
    const settings = { endpoint: minio.endpoint, accessKey: minio.accessKey, secretKey: minio.secretKey, region: 'us-east-1' };
    const sources: S3Sources = { store: settings, named: {} };
    const bucket = `eg-nospace-${randomUUID().slice(0, 8)}`;
    await s3Client(settings).makeBucket(bucket);
    await s3Client(settings).putObject(bucket, 'big/a.csv', Buffer.from(`x\n${randomBytes(OBJECT_BYTES / 2).toString('hex').slice(2)}`));
    const resolved = await listInputFiles(`s3://${bucket}/big/*.csv`, { s3: sources, memo: new FileHashMemo() });
    assert.equal(resolved.files[0]!.size, OBJECT_BYTES);

    // The object's local path is /dev/full, whose every write fails with ENOSPC: a full disk without filling one.
    const dir = await tempDir('s3-no-space');
    await mkdir(path.join(dir, bucket, 'big'), { recursive: true });
    await symlink('/dev/full', path.join(dir, bucket, 'big', 'a.csv'));

    const download = localInputFiles(resolved, { sources, dir, signal: new AbortController().signal, progress: () => undefined });
    const err = await download.then(
      () => assert.fail('the copy to /dev/full succeeded'),
      (e: unknown) => e as Error,
    );
    assert.ok(!(err instanceof UserInputError), 'a full disk is retried: other runs may free space');
    const where = dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    assert.match(
      err.message,
      new RegExp(`^input object s3://${bucket}/big/a\\.csv \\(${OBJECT_BYTES} bytes\\) does not fit in ${where}: no space left on the device, [0-9.]+ MB \\(\\d+ bytes\\) free there now\\. .*TMPDIR`),
    );
  });
});
