import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { startMinio, type MinioServer } from '../../stack/minio-server';
import { startTemporalDevServer, type TemporalDevServer } from '../../stack/temporal-dev-server';
import { tempDir } from './tmp';

export type { MinioServer } from '../../stack/minio-server';
export type { TemporalDevServer } from '../../stack/temporal-dev-server';

let temporal: Promise<TemporalDevServer> | null = null;
let minio: Promise<MinioServer> | null = null;

/**
 * One Temporal dev server per mocha process, started on first use on free ports with its
 * SQLite file in a temp dir; tests isolate themselves by workflow id and task queue.
 */
export function testTemporal(): Promise<TemporalDevServer> {
  temporal ??= (async () => {
    const dir = await tempDir('temporal');
    return startTemporalDevServer({
      dbFile: path.join(dir, 'temporal.db'),
      headless: true,
      logFile: path.join(dir, 'temporal.log'),
    });
  })();
  return temporal;
}

/** One MinIO per mocha process with throwaway credentials; tests isolate themselves by bucket. */
export function testMinio(): Promise<MinioServer> {
  minio ??= (async () => {
    const dir = await tempDir('minio');
    return startMinio({
      dataDir: path.join(dir, 'data'),
      accessKey: `test${randomBytes(4).toString('hex')}`,
      secretKey: randomBytes(16).toString('hex'),
      logFile: path.join(dir, 'minio.log'),
    });
  })();
  return minio;
}

/** Stops whatever testTemporal()/testMinio() started; a server that failed to start is skipped. */
export async function stopTestServers(): Promise<void> {
  const started: Array<Promise<{ stop(): Promise<void> }>> = [];
  if (temporal) started.push(temporal);
  if (minio) started.push(minio);
  temporal = null;
  minio = null;
  await Promise.all(
    started.map(async (p) => {
      const server = await p.catch(() => null);
      await server?.stop();
    }),
  );
}
