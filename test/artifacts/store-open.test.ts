import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { FileArtifactStore } from '../../artifacts/file-store';
import { InvalidArtifactLocationError } from '../../artifacts/manifest';
import { openArtifactStore } from '../../artifacts/open-store';
import { S3ArtifactStore } from '../../artifacts/s3-store';
import { testMinio } from '../support/servers';
import { tempDir } from '../support/tmp';

const s3 = { endpoint: 'http://127.0.0.1:9', accessKey: 'key', secretKey: 'secret-secret', region: 'us-east-1' };

async function rejectsWith(rootUri: string, pattern: RegExp, settings = s3): Promise<void> {
  await assert.rejects(openArtifactStore(rootUri, settings), (err: Error) => {
    assert.ok(err instanceof InvalidArtifactLocationError, `${rootUri}: ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('openArtifactStore', () => {
  it('opens a file:// root as a local directory store', async () => {
    const dir = await tempDir('open');
    const store = await openArtifactStore(`file://${dir}`);
    assert.ok(store instanceof FileArtifactStore);
    assert.equal(store.rootUri, `file://${dir}`);
    await store.close();
  });

  it('opens an s3:// root on MinIO with the S3 settings and cache directory given', async () => {
    const minio = await testMinio();
    const cacheDir = await tempDir('open-cache');
    const store = await openArtifactStore(
      `s3://open-${randomUUID().slice(0, 8)}/a/b/`,
      { endpoint: minio.endpoint, accessKey: minio.accessKey, secretKey: minio.secretKey, region: 'us-east-1' },
      { cacheDir },
    );
    assert.ok(store instanceof S3ArtifactStore);
    assert.match(store.rootUri, /^s3:\/\/open-[0-9a-f]{8}\/a\/b$/);
    const staging = await store.createStaging();
    assert.ok(staging.localDir.startsWith(cacheDir));
    await store.close();
  });

  it('rejects unsupported schemes and malformed roots with messages saying what was expected', async () => {
    await rejectsWith('http://example.com/artifacts', /'http:\/\/example.com\/artifacts': unsupported scheme; expected file:\/\/\/absolute\/path or s3:\/\/bucket\[\/prefix\]/);
    await rejectsWith('/plain/path', /unsupported scheme/);
    await rejectsWith('file://relative/dir', /'file:\/\/relative\/dir': expected file:\/\/\/absolute\/path/);
    await rejectsWith('s3://', /bucket '' is not a valid S3 bucket name/);
    await rejectsWith('s3://Bad_Bucket/x', /bucket 'Bad_Bucket' is not a valid S3 bucket name/);
    await rejectsWith('s3://bucket/a/../b', /artifact root s3:\/\/bucket\/a\/..\/b: prefix 'a\/..\/b'/);
    await rejectsWith('s3://bucket/.staging', /reserved '.staging\/' area/);
  });

  it('asks for the S3 settings when an s3:// root comes without them', async () => {
    await assert.rejects(
      openArtifactStore('s3://bucket/prefix'),
      /artifact root s3:\/\/bucket\/prefix needs S3 settings: an endpoint, an access key and a secret key/,
    );
  });

  it('rejects an S3 endpoint that is not a bare http(s) URL', async () => {
    await rejectsWith('s3://bucket', /S3 endpoint 'ftp:\/\/host': expected http\(s\):\/\/host\[:port\] without a path/, { ...s3, endpoint: 'ftp://host' });
    await rejectsWith('s3://bucket', /S3 endpoint 'http:\/\/host:9000\/minio': expected http\(s\)/, { ...s3, endpoint: 'http://host:9000/minio' });
  });
});
