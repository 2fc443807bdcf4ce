import type { Command } from 'commander';
import { z } from 'zod';
import { describeZodError } from '../../serving/zod-issues';
import { CliError, cliConfig, untilInterrupted } from '../cli-context';

const integer = (flag: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^\d+$/, `${flag}: expected a whole number`)
    .transform(Number)
    .pipe(z.number().min(min, `${flag}: expected at least ${min}`).max(max, `${flag}: expected at most ${max}`));

const ServeFlagsSchema = z.object({
  repository: z.string().min(1, '--repository: expected a file://, s3:// URI or a directory'),
  host: z.string().min(1),
  httpPort: integer('--http-port', 0, 65535),
  grpcPort: integer('--grpc-port', 0, 65535),
  modelControlMode: z.enum(['none', 'poll', 'explicit'], { message: '--model-control-mode: expected none, poll or explicit' }),
  loadModel: z.array(z.string().min(1, '--load-model: expected a model name or *')),
  pollIntervalMs: integer('--poll-interval-ms', 0),
  defaultMaxBatchSize: integer('--default-max-batch-size', 0),
  maxRequestBytes: integer('--max-request-bytes', 1),
  shutdownTimeoutMs: integer('--shutdown-timeout-ms', 1),
});

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve a Triton-style model repository: OIP v2 REST and gRPC, TF Serving REST, /metrics')
    .requiredOption('--repository <uri>', 'model repository: file:///dir, a directory, or s3://bucket/prefix')
    .option('--host <address>', 'address to listen on (0.0.0.0 for every interface)', '127.0.0.1')
    .option('--http-port <port>', 'HTTP port for REST and /metrics (0 picks a free port)', '8000')
    .option('--grpc-port <port>', 'gRPC port (0 picks a free port)', '8001')
    .option(
      '--model-control-mode <mode>',
      'poll: follow the repository; none: read it once; explicit: --load-model and load/unload requests',
      'poll',
    )
    .option('--load-model <name>', 'explicit mode: a model to load at start (repeatable; * for every model)', collect, [])
    .option('--poll-interval-ms <ms>', 'poll mode: how often to look for new, changed or removed versions (0: never)', '5000')
    .option('--default-max-batch-size <n>', 'max_batch_size for models whose config.json omits it', '4')
    .option('--max-request-bytes <n>', 'largest request body or gRPC message accepted', String(64 * 1024 * 1024))
    .option('--shutdown-timeout-ms <ms>', 'how long shutdown waits for in-flight requests', '30000')
    .action(async (rawFlags: unknown) => {
      const parsed = ServeFlagsSchema.safeParse(rawFlags);
      if (!parsed.success) throw new CliError(`serve: ${describeZodError(parsed.error)}`);
      const { loadModel, ...flags } = parsed.data;
      if (loadModel.length > 0 && flags.modelControlMode !== 'explicit') {
        throw new CliError('serve: --load-model needs --model-control-mode explicit (the other modes load every model)');
      }
      if (loadModel.includes('*') && loadModel.length > 1) throw new CliError("serve: --load-model '*' must be the only --load-model");
      const s3 = flags.repository.startsWith('s3://') ? cliConfig().s3 : undefined;
      // Loaded here: onnxruntime and gRPC take ~250 ms to load, which every other command would pay.
      const { startModelServer, ServerListenError } = require('../../serving/server') as typeof import('../../serving/server');
      const { RepositoryLocationError } = require('../../serving/open-repository-source') as typeof import('../../serving/open-repository-source');
      const { ServingError } = require('../../serving/errors') as typeof import('../../serving/errors');
      const server = await startModelServer({ ...flags, loadModels: loadModel, ...(s3 ? { s3 } : {}) }).catch((err: unknown) => {
        if (err instanceof RepositoryLocationError || err instanceof ServerListenError || err instanceof ServingError) throw new CliError(err.message);
        throw err;
      });
      const { repository } = server;
      const names = repository.modelNames();
      const serving = names.filter((m) => repository.servingVersions(m).length > 0);
      // A model none of whose versions loaded is not served: it is listed apart, with the reason.
      const notServing = names
        .filter((m) => !serving.includes(m))
        .map((m) => `${m} (${(repository.status(m) ?? []).map((v) => `${v.version > 0 ? `version ${v.version} ` : ''}${v.state.toLowerCase()}${v.reason ? `: ${v.reason}` : ''}`).join('; ') || 'no version'})`);
      process.stdout.write(
        `mlpipe serve: ${repository.uri}\n` +
          `  HTTP  http://${server.host}:${server.httpPort}  (OIP v2 /v2, TF Serving /v1, /metrics)\n` +
          `  gRPC  ${server.host}:${server.grpcPort}  (inference.GRPCInferenceService)\n` +
          `  models: ${serving.map((m) => `${m} (version ${repository.servingVersions(m).join(', ')})`).join(', ') || '(none yet)'} (model control mode ${repository.controlMode})\n` +
          (notServing.length > 0 ? `  not serving: ${notServing.join(', ')}\n` : ''),
      );
      const signal = await untilInterrupted();
      process.stdout.write(`mlpipe serve: ${signal}: draining in-flight requests\n`);
      await server.stop();
    });
}
