import type { Command } from 'commander';
import { z } from 'zod';
import { redactConfig } from '../../config/config';
import { cliConfig, collect, parseFlags, untilInterrupted } from '../cli-context';
import { DEFAULT_MINIO_PORT, DEFAULT_TEMPORAL_PORT, DEFAULT_UI_PORT } from '../dev-stack-state';

const port = z.coerce.number().int().min(0).max(65535);
const DevFlagsSchema = z.object({
  minio: z.boolean().default(false),
  port: port.default(DEFAULT_TEMPORAL_PORT),
  uiPort: port.default(DEFAULT_UI_PORT),
  minioPort: port.default(DEFAULT_MINIO_PORT),
  components: z.array(z.string()).default([]),
});

export function registerDevCommand(program: Command): void {
  program
    .command('dev')
    .description('start the embedded stack: Temporal dev server (state in MLPIPE_HOME), Web UI, workers for every queue, optional MinIO')
    .option('--minio', 'also start a local MinIO and store artifacts there')
    .option('--port <port>', 'Temporal frontend port', String(DEFAULT_TEMPORAL_PORT))
    .option('--ui-port <port>', 'Temporal Web UI port', String(DEFAULT_UI_PORT))
    .option('--minio-port <port>', 'MinIO S3 API port', String(DEFAULT_MINIO_PORT))
    .option('--components <module>', 'module exporting custom components (repeatable)', collect, [])
    .action(async (rawFlags: unknown) => {
      const flags = parseFlags(DevFlagsSchema, rawFlags);
      const config = cliConfig();
      const started = Date.now();
      const { startEmbeddedStack } = require('../embedded-stack') as typeof import('../embedded-stack');
      const stack = await startEmbeddedStack({
        config: { ...config, temporalAddress: undefined },
        withMinio: flags.minio,
        temporalPort: flags.port,
        uiPort: flags.uiPort,
        minioPort: flags.minioPort,
        componentModules: flags.components,
        announce: true,
        command: '`mlpipe dev`',
        sdkLog: {},
        say: (line) => process.stderr.write(`${line}\n`),
      });
      const out = (s: string) => process.stdout.write(`${s}\n`);
      out(`mlpipe dev stack is up (${Date.now() - started} ms)`);
      out(`  Temporal:     ${stack.temporal.address} (namespace ${stack.config.temporalNamespace})`);
      out(`  Temporal UI:  ${stack.temporal.uiUrl}`);
      if (stack.minio) out(`  MinIO:        ${stack.minio.endpoint} (access key ${stack.minio.accessKey})`);
      out(`  artifacts:    ${stack.config.artifactRoot}`);
      out(`  metadata:     ${String(redactConfig(stack.config).metadataUrl)}`);
      out(`  worker:       ${stack.workers.identity} polling ${stack.workers.queues.map((q) => `mlpipe-${q}`).join(', ')}`);
      out('Run pipelines from another terminal with `mlpipe run <module>`. Ctrl-C stops everything.');
      const reason = await Promise.race([untilInterrupted(), stack.workers.done.then(() => 'workers stopped' as const)]);
      out(`\nstopping (${reason})...`);
      await stack.stop();
      out('stopped.');
    });
}
