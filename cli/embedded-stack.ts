import { rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { ComponentRegistry } from '../activities/component-registry';
import { resolveConfig, type MlpipeConfig, type QueueName, type ResolvedConfig } from '../config/config';
import { ensureServerBinary } from '../stack/build-server';
import { startMinio, type MinioServer } from '../stack/minio-server';
import { startTemporalDevServer, type TemporalDevServer } from '../stack/temporal-dev-server';
import type { RunningWorkers } from '../workers/worker';
import { installCliRuntime, type SdkLog } from './cli-context';
import { DEFAULT_MINIO_PORT, DEFAULT_TEMPORAL_PORT, DEFAULT_UI_PORT, devStatePath, type DevState } from './dev-stack-state';

const MINIO_BUCKET_ROOT = 's3://mlpipe/artifacts';

export interface EmbeddedStack {
  config: ResolvedConfig;
  temporal: TemporalDevServer;
  minio: MinioServer | null;
  workers: RunningWorkers;
  /** Where the Temporal SDK's log lines go. */
  sdkLog: SdkLog;
  /**
   * Stops everything, last started first. `fast` kills the Temporal server instead of waiting out
   * its graceful stop (a fixed second of connection draining): for a stack that served one run,
   * whose state is committed, when a person is waiting for their prompt.
   */
  stop(opts?: { fast?: boolean }): Promise<void>;
}

export interface EmbeddedStackOptions {
  config: MlpipeConfig;
  withMinio?: boolean;
  temporalPort?: number;
  uiPort?: number;
  minioPort?: number;
  queues?: QueueName[];
  registry?: ComponentRegistry;
  componentModules?: string[];
  /** Record the stack in MLPIPE_HOME so other `mlpipe` commands use it. */
  announce?: boolean;
  /** Names the command in the line shown when a server must be built first (e.g. "`mlpipe run`"). */
  command: string;
  /** Where progress lines go while a missing server is built. */
  say(line: string): void;
  /** How the Temporal SDK logs (installed by the stack, before its workers start). */
  sdkLog: Parameters<typeof installCliRuntime>[0];
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** The port of a configured loopback S3 endpoint, where the embedded MinIO must listen to match it. */
function configuredPort(config: MlpipeConfig): number | undefined {
  if (!config.artifactRoot?.startsWith('s3://') || !config.s3) return undefined;
  const url = new URL(config.s3.endpoint);
  return ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) ? Number(url.port || 80) : undefined;
}

/**
 * An s3:// root whose endpoint is this machine and answers nothing: the embedded stack starts the
 * MinIO it names. A remote endpoint, or a local one already serving, is used as configured.
 */
async function configuredMinioIsLocalAndDown(config: MlpipeConfig): Promise<boolean> {
  const port = configuredPort(config);
  return port !== undefined && (await portIsFree(port));
}

async function preferredPort(port: number): Promise<number> {
  return (await portIsFree(port)) ? port : 0;
}

/**
 * The embedded default on one machine: a Temporal dev server whose state lives in a SQLite file
 * under MLPIPE_HOME, optionally a local MinIO holding the artifacts, and workers for every queue.
 */
export async function startEmbeddedStack(opts: EmbeddedStackOptions): Promise<EmbeddedStack> {
  const home = opts.config.home;
  const queues = opts.queues ?? ['control', 'cpu', 'gpu'];
  const wantsMinio = opts.withMinio || (await configuredMinioIsLocalAndDown(opts.config));
  const stops: Array<(fast: boolean) => Promise<void>> = [];
  const stopAll = async ({ fast = false } = {}) => {
    for (const stop of stops.reverse()) await stop(fast).catch(() => undefined);
    stops.length = 0;
  };
  const ensure = (name: 'temporal' | 'minio') =>
    ensureServerBinary(name, { neededBy: `the embedded stack of ${opts.command}`, say: opts.say, usePath: opts.config.useBinariesOnPath });
  try {
    await ensure('temporal');
    if (wantsMinio) await ensure('minio');
    // The Temporal server takes over half a second to serve; everything that does not need it
    // (MinIO, the SDK's modules, the stores, executor threads) gets ready meanwhile.
    let spawned!: () => void;
    const running = new Promise<void>((resolve) => (spawned = resolve));
    const temporalStarting = startTemporalDevServer({
      dbFile: path.join(home, 'temporal.db'),
      port: opts.temporalPort ?? (await preferredPort(DEFAULT_TEMPORAL_PORT)),
      uiPort: opts.uiPort ?? (await preferredPort(DEFAULT_UI_PORT)),
      namespace: opts.config.temporalNamespace,
      logFile: path.join(home, 'temporal.log'),
      usePathBinary: opts.config.useBinariesOnPath,
      onSpawned: spawned,
    });
    stops.push(async (fast) => {
      const temporal = await temporalStarting.catch(() => null);
      await (fast ? temporal?.kill() : temporal?.stop());
    });
    await Promise.race([running, temporalStarting.then(() => undefined, () => undefined)]);

    let minio: MinioServer | null = null;
    let config: MlpipeConfig = opts.config;
    if (wantsMinio) {
      const started = await startMinio({
        dataDir: path.join(home, 'minio'),
        port: opts.minioPort ?? configuredPort(opts.config) ?? (await preferredPort(DEFAULT_MINIO_PORT)),
        logFile: path.join(home, 'minio.log'),
        usePathBinary: opts.config.useBinariesOnPath,
        ...(opts.config.s3 ? { accessKey: opts.config.s3.accessKey, secretKey: opts.config.s3.secretKey } : {}),
      });
      minio = started;
      stops.push(() => started.stop());
      config = {
        ...config,
        artifactRoot: config.artifactRoot?.startsWith('s3://') ? config.artifactRoot : MINIO_BUCKET_ROOT,
        s3: { endpoint: started.endpoint, accessKey: started.accessKey, secretKey: started.secretKey, region: opts.config.s3?.region ?? 'us-east-1' },
      };
    }
    const sdkLog = installCliRuntime(opts.sdkLog);
    // Loaded only now: the worker SDK takes about a quarter of a second to load.
    const { openWorkerResources, startWorkers } = require('../workers/worker') as typeof import('../workers/worker');
    const resources = await openWorkerResources(resolveConfig(config), queues);
    stops.push(() => resources.close());
    const temporal = await temporalStarting;
    const resolved = resolveConfig({ ...config, temporalAddress: temporal.address });
    const workers = await startWorkers({
      config: resolved,
      queues,
      registry: opts.registry,
      componentModules: opts.componentModules,
      resources,
    });
    stops.push(() => workers.shutdown());
    if (opts.announce) {
      const state: DevState = {
        pid: process.pid,
        temporalAddress: temporal.address,
        uiUrl: temporal.uiUrl,
        artifactRoot: resolved.artifactRoot,
        ...(resolved.s3 ? { s3: resolved.s3 } : {}),
      };
      writeFileSync(devStatePath(home), JSON.stringify(state, null, 2), { mode: 0o600 });
      stops.push(async () => rmSync(devStatePath(home), { force: true }));
    }
    return { config: resolved, temporal, minio, workers, sdkLog, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
