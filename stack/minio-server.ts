import { mkdirSync } from 'node:fs';
import { locateServerBinary } from './binaries';
import { freePort } from './free-port';
import { looksLikePortClash, ServerStartError, spawnServer, waitUntilReady } from './server-process';

// MinIO formats a fresh data directory before it reports live; allow for a slow disk.
const READY_TIMEOUT_MS = 60_000;
const PROBE_TIMEOUT_MS = 2_000;
const START_ATTEMPTS = 3;

/** Development credentials; the server binds 127.0.0.1 only. Production passes its own. */
export const DEV_MINIO_ACCESS_KEY = 'mlpipe';
export const DEV_MINIO_SECRET_KEY = 'mlpipe-dev-secret';

export interface MinioServerOptions {
  dataDir: string;
  /** S3 API port; 0 or absent picks a free one. */
  port?: number;
  /** Web console port; 0 picks a free one; absent turns the console off. */
  consolePort?: number;
  accessKey?: string;
  secretKey?: string;
  logFile?: string;
  /** Take `minio` from PATH rather than the per-user cache. */
  usePathBinary?: boolean;
}

export interface MinioServer {
  /** http://127.0.0.1:port */
  endpoint: string;
  port: number;
  consoleUrl: string | null;
  accessKey: string;
  secretKey: string;
  pid: number;
  stop(): Promise<void>;
}

async function answers(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  return res.ok;
}

/** Starts a single-drive MinIO on 127.0.0.1 and resolves once /minio/health/live answers. */
export async function startMinio(opts: MinioServerOptions): Promise<MinioServer> {
  const binary = locateServerBinary('minio', opts.usePathBinary === undefined ? {} : { usePath: opts.usePathBinary });
  const accessKey = opts.accessKey ?? DEV_MINIO_ACCESS_KEY;
  const secretKey = opts.secretKey ?? DEV_MINIO_SECRET_KEY;
  if (secretKey.length < 8) throw new Error('MinIO secret key: expected at least 8 characters');
  mkdirSync(opts.dataDir, { recursive: true });
  const withConsole = opts.consolePort !== undefined;
  const portsArePicked = !opts.port || opts.consolePort === 0;
  for (let attempt = 1; ; attempt++) {
    const port = opts.port || (await freePort());
    const consolePort = withConsole ? opts.consolePort || (await freePort()) : null;
    const endpoint = `http://127.0.0.1:${port}`;
    const args = ['server', opts.dataDir, '--address', `127.0.0.1:${port}`];
    if (consolePort !== null) args.push('--console-address', `127.0.0.1:${consolePort}`);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      MINIO_ROOT_USER: accessKey,
      MINIO_ROOT_PASSWORD: secretKey,
      MINIO_BROWSER: withConsole ? 'on' : 'off',
      // No phoning home from a development or CI machine.
      MINIO_UPDATE: 'off',
    };
    const proc = spawnServer('minio', binary, args, { env, ...(opts.logFile ? { logFile: opts.logFile } : {}) });
    try {
      const live = `${endpoint}/minio/health/live`;
      // The console comes up a moment after the S3 API; whoever asked for it gets a working URL.
      const consoleRoot = consolePort === null ? null : `http://127.0.0.1:${consolePort}/`;
      const what = consoleRoot ? `${live} and ${consoleRoot}` : live;
      const probe = async () => (await answers(live)) && (consoleRoot === null || (await answers(consoleRoot)));
      await waitUntilReady(proc, what, probe, READY_TIMEOUT_MS);
    } catch (err) {
      const retry = portsArePicked && attempt < START_ATTEMPTS && err instanceof ServerStartError && looksLikePortClash(err.logTail);
      if (retry) continue;
      throw err;
    }
    return {
      endpoint,
      port,
      consoleUrl: consolePort === null ? null : `http://127.0.0.1:${consolePort}`,
      accessKey,
      secretKey,
      pid: proc.pid,
      stop: () => proc.stop(),
    };
  }
}
