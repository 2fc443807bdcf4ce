import { z } from 'zod';
import { MlpipeConfigSchema } from '../config/config';
import { startGrpcFrontEnd, type GrpcFrontEnd } from './grpc/grpc-server';
import { startHttpFrontEnd, type HttpFrontEnd } from './http/http-server';
import { InferenceService } from './inference-service';
import { ModelRepository, type RepositoryEvent } from './model-repository';
import { openRepositorySource } from './open-repository-source';
import { ServingMetrics } from './serving-metrics';
import { SystemSharedMemory } from './shared-memory';

const port = z.number().int().min(0, 'expected 0 (any free port) to 65535').max(65535, 'expected 0 (any free port) to 65535');

export const ModelServerOptionsSchema = z.strictObject({
  /** `file:///dir`, a directory path, or `s3://bucket[/prefix]`. */
  repository: z.string().min(1, 'expected a repository URI or path'),
  /** Loopback by default; `0.0.0.0` serves other machines. */
  host: z.string().min(1).default('127.0.0.1'),
  httpPort: port.default(8000),
  grpcPort: port.default(8001),
  /**
   * Triton's --model-control-mode: `poll` re-reads the repository every pollIntervalMs, `none` reads
   * it once, `explicit` serves loadModels and whatever load/unload requests name.
   */
  modelControlMode: z.enum(['none', 'poll', 'explicit']).default('poll'),
  /** How often `poll` mode re-reads the repository for new, changed and removed versions; 0: never. */
  pollIntervalMs: z.number().int().min(0).default(5000),
  /** Triton's --load-model, for `explicit` mode: models to load at start; `*` alone loads every model. */
  loadModels: z.array(z.string().min(1, 'expected a model name or *')).default([]),
  /** max_batch_size for models whose config leaves it out (Triton's default-max-batch-size). */
  defaultMaxBatchSize: z.number().int().min(0).default(4),
  /** Largest request body (HTTP) or message (gRPC) accepted. */
  maxRequestBytes: z.number().int().positive().default(64 * 1024 * 1024),
  /** How long stop() waits for in-flight requests before closing connections anyway. */
  shutdownTimeoutMs: z.number().int().positive().default(30_000),
  s3: MlpipeConfigSchema.shape.s3,
})
  .refine((o) => o.loadModels.length === 0 || o.modelControlMode === 'explicit', {
    path: ['loadModels'],
    message: 'models to load at start need model control mode explicit (the other modes load every model)',
  })
  .refine((o) => !o.loadModels.includes('*') || o.loadModels.length === 1, {
    path: ['loadModels'],
    message: "'*' loads every model and must be the only model named",
  });
export type ModelServerOptions = z.input<typeof ModelServerOptionsSchema>;

/** A port could not be opened (in use, not permitted): the user has to choose another. */
export class ServerListenError extends Error {
  override readonly name = 'ServerListenError';
}

async function listening<T>(what: string, address: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    throw new ServerListenError(`cannot listen for ${what} on ${address}: ${(err as Error).message}`);
  }
}

export interface ModelServer {
  readonly host: string;
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly repository: ModelRepository;
  readonly service: InferenceService;
  /** Graceful: readiness goes false, new requests are refused, in-flight ones finish, then everything closes. */
  stop(): Promise<void>;
}

function logEvent(event: RepositoryEvent): void {
  const line = (() => {
    switch (event.type) {
      case 'loaded':
        return `loaded ${event.model} version ${event.version} (${event.seconds.toFixed(2)} s with warm-up)`;
      case 'load-failed':
        return `FAILED to load ${event.model} version ${event.version}: ${event.error}`;
      case 'config-failed':
        return `FAILED to read the configuration of ${event.model}: ${event.error}`;
      case 'config-ignored':
        return `${event.model}: reading ${event.used} and ignoring ${event.ignored} (config.pbtxt comes first, as in Triton)`;
      case 'unloading':
        return `draining ${event.model} version ${event.version}: ${event.reason}`;
      case 'unloaded':
        return `unloaded ${event.model} version ${event.version}`;
      case 'poll-failed':
        return `repository poll failed: ${event.error}`;
    }
  })();
  process.stderr.write(`[mlpipe serve] ${line}\n`);
}

/**
 * Starts the model server: reads the repository (loading and warming up every version the policies
 * select), then opens HTTP (OIP v2 REST, TF Serving REST, /metrics) and gRPC (OIP v2).
 */
export async function startModelServer(
  options: ModelServerOptions,
  onEvent: (event: RepositoryEvent) => void = logEvent,
): Promise<ModelServer> {
  const o = ModelServerOptionsSchema.parse(options);
  const source = await openRepositorySource(o.repository, o.s3);
  let repository: ModelRepository | undefined;
  const metrics = new ServingMetrics({
    pending: () => repository?.pendingCounts() ?? [],
    states: () => repository?.states() ?? [],
    loadSeconds: () => repository?.loadSeconds() ?? [],
  });
  repository = new ModelRepository(
    source,
    {
      defaultMaxBatchSize: o.defaultMaxBatchSize,
      controlMode: o.modelControlMode,
      pollIntervalMs: o.pollIntervalMs,
      startupModels: o.loadModels,
      onEvent,
    },
    metrics,
  );
  const sharedMemory = new SystemSharedMemory();
  const service = new InferenceService(repository, metrics, sharedMemory);
  const repo = repository;
  let http: HttpFrontEnd | undefined;
  let grpc: GrpcFrontEnd | undefined;
  try {
    // Listening first lets health checks see "live, not ready" while models load.
    http = await listening('HTTP', `${o.host}:${o.httpPort}`, () =>
      startHttpFrontEnd(service, { host: o.host, port: o.httpPort, maxRequestBytes: o.maxRequestBytes }),
    );
    grpc = await listening('gRPC', `${o.host}:${o.grpcPort}`, () =>
      startGrpcFrontEnd(service, { host: o.host, port: o.grpcPort, maxRequestBytes: o.maxRequestBytes }),
    );
    await repo.start();
  } catch (err) {
    http?.destroy();
    grpc?.destroy();
    await Promise.allSettled([http?.close(), grpc?.close(), repo.stop()]);
    throw err;
  }
  const httpEnd = http;
  const grpcEnd = grpc;
  let stopping: Promise<void> | undefined;
  return {
    host: o.host,
    httpPort: httpEnd.port,
    grpcPort: grpcEnd.port,
    repository: repo,
    service,
    stop: () => {
      stopping ??= (async () => {
        service.beginShutdown();
        const closed = Promise.all([httpEnd.close(), grpcEnd.close()]);
        const drained = repo.stop();
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), o.shutdownTimeoutMs);
        });
        const outcome = await Promise.race([Promise.all([closed, drained]), timeout]);
        clearTimeout(timer);
        if (outcome === 'timeout') {
          httpEnd.destroy();
          grpcEnd.destroy();
        }
        sharedMemory.unregister();
      })();
      return stopping;
    },
  };
}
