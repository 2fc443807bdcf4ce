import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { locateServerBinary } from './binaries';
import { freePort } from './free-port';
import { looksLikePortClash, ServerStartError, spawnServer, waitUntilReady, type ServerProcess } from './server-process';

/** Keyword search attribute the pipeline workflow sets to the pipeline's name. */
export const PIPELINE_SEARCH_ATTRIBUTE = 'MlpipePipeline';

// The first start on a fresh SQLite file creates the schema and namespaces; on a busy
// two-core machine that has been seen to take well over ten seconds.
const READY_TIMEOUT_MS = 60_000;
const PROBE_TIMEOUT_MS = 2_000;
/**
 * `temporal server start-dev` prints `Server:  <host>:<port>` once its namespaces exist. Probing
 * gRPC before that costs a connection attempt per poll (the port opens long before it serves), so
 * the probe waits for the line, checked every few ms, and then confirms with one call.
 */
const READY_LINE = /^Server:\s/;
const READY_POLL_MS = 10;
const START_ATTEMPTS = 3;

export interface TemporalDevServerOptions {
  /** SQLite file holding all state; it survives restarts. */
  dbFile: string;
  /** Frontend gRPC port; 0 or absent picks a free one. */
  port?: number;
  /** Web UI port; 0 or absent picks a free one. Ignored when headless. */
  uiPort?: number;
  headless?: boolean;
  /** Created at start if it is not `default` (which always exists). */
  namespace?: string;
  /** Appended with everything the server prints. */
  logFile?: string;
  /** Take `temporal` from PATH rather than the per-user cache. */
  usePathBinary?: boolean;
  /** Called once the server process exists, before it serves: a caller can do its own start-up meanwhile. */
  onSpawned?(): void;
}

export interface TemporalDevServer {
  /** host:port for `Connection.connect({ address })`. */
  address: string;
  port: number;
  uiPort: number | null;
  uiUrl: string | null;
  namespace: string;
  pid: number;
  /** Graceful: the frontend drains its connections for a fixed second first. */
  stop(): Promise<void>;
  /**
   * SIGKILL: every state change is committed to the SQLite file before the server acknowledges it,
   * and tasks it had not yet run (e.g. visibility updates) are persisted and run at its next start,
   * so a killed server loses nothing; it is what a machine crash does, which Temporal is built for.
   */
  kill(): Promise<void>;
}

async function probeFrontend(address: string, namespace: string): Promise<boolean> {
  // Loaded on the first probe, not with this module: a caller loads what it needs while the server starts.
  const { Connection } = require('@temporalio/client') as typeof import('@temporalio/client');
  const connection = await Connection.connect({ address, connectTimeout: PROBE_TIMEOUT_MS });
  try {
    // The namespace is registered after the frontend starts listening; a client that
    // connects in between would fail its first call.
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } finally {
    await connection.close();
  }
}

function devServerArgs(opts: TemporalDevServerOptions, port: number, uiPort: number | null, namespace: string): string[] {
  const args = [
    'server', 'start-dev',
    '--ip', '127.0.0.1',
    '--port', String(port),
    '--db-filename', opts.dbFile,
    // WAL lets the UI and history reads proceed while the server writes.
    '--sqlite-pragma', 'journal_mode=WAL',
    '--search-attribute', `${PIPELINE_SEARCH_ATTRIBUTE}=Keyword`,
    // The history service polls its transfer queue at most 20 times a second by default, which puts
    // ~50 ms on every hop (activity scheduled -> task queue, completion -> next workflow task): 300 ms
    // per pipeline node on an idle machine. A dev server has one user; let it poll as fast as needed.
    '--dynamic-config-value', 'history.transferProcessorMaxPollRPS=1000',
  ];
  if (uiPort === null) args.push('--headless');
  else args.push('--ui-ip', '127.0.0.1', '--ui-port', String(uiPort));
  if (namespace !== 'default') args.push('--namespace', namespace);
  return args;
}

/** Starts `temporal server start-dev` on 127.0.0.1 and resolves once its frontend serves the namespace. */
export async function startTemporalDevServer(opts: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const binary = locateServerBinary('temporal', opts.usePathBinary === undefined ? {} : { usePath: opts.usePathBinary });
  const namespace = opts.namespace ?? 'default';
  mkdirSync(path.dirname(path.resolve(opts.dbFile)), { recursive: true });
  const portsArePicked = !opts.port || (!opts.headless && !opts.uiPort);
  for (let attempt = 1; ; attempt++) {
    const port = opts.port || (await freePort());
    const uiPort = opts.headless ? null : opts.uiPort || (await freePort());
    const address = `127.0.0.1:${port}`;
    const proc: ServerProcess = spawnServer('temporal dev server', binary, devServerArgs(opts, port, uiPort, namespace), {
      ...(opts.logFile ? { logFile: opts.logFile } : {}),
      readyLine: READY_LINE,
    });
    opts.onSpawned?.();
    try {
      const probe = async () => proc.printedReadyLine() && probeFrontend(address, namespace);
      await waitUntilReady(proc, address, probe, READY_TIMEOUT_MS, READY_POLL_MS);
    } catch (err) {
      // A port picked by freePort() can be taken by someone else before the server binds it.
      const retry = portsArePicked && attempt < START_ATTEMPTS && err instanceof ServerStartError && looksLikePortClash(err.logTail);
      if (retry) continue;
      throw err;
    }
    return {
      address,
      port,
      uiPort,
      uiUrl: uiPort === null ? null : `http://127.0.0.1:${uiPort}`,
      namespace,
      pid: proc.pid,
      stop: () => proc.stop(),
      kill: () => proc.kill(),
    };
  }
}
