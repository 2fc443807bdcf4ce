import type { Command } from 'commander';
import { z } from 'zod';
import { QueueNameSchema, resolveConfig } from '../../config/config';
import { cliConfig, CliError, collect, installCliRuntime, parseFlags, untilInterrupted } from '../cli-context';
import { withRunningDevStack } from '../dev-stack-state';

const WorkerFlagsSchema = z.object({
  queues: z.string().optional(),
  concurrency: z.string().optional(),
  components: z.array(z.string()).default([]),
  identity: z.string().optional(),
});

function parseQueues(raw: string) {
  const queues = raw.split(',').map((q) => q.trim()).filter(Boolean);
  const parsed = z.array(QueueNameSchema).min(1).safeParse(queues);
  if (!parsed.success) throw new CliError(`--queues ${raw}: expected a comma-separated subset of control,cpu,gpu`);
  return parsed.data;
}

function parseConcurrency(raw: string) {
  const out: Record<string, number> = {};
  for (const part of raw.split(',').filter(Boolean)) {
    const [queue, value] = part.split('=');
    const n = Number(value);
    if (!QueueNameSchema.safeParse(queue).success || !Number.isInteger(n) || n < 1) {
      throw new CliError(`--concurrency ${raw}: expected queue=N[,queue=N] with queues control, cpu, gpu and N ≥ 1`);
    }
    out[queue!] = n;
  }
  return out;
}

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run workers polling mlpipe task queues (mlpipe-control, mlpipe-cpu, mlpipe-gpu)')
    .option('--queues <list>', 'comma-separated subset of control,cpu,gpu (default: config, else all)')
    .option('--concurrency <queue=N,...>', 'concurrent activities per queue, e.g. cpu=2,control=100')
    .option('--components <module>', 'module exporting custom components (repeatable)', collect, [])
    .option('--identity <name>', 'worker identity recorded in the metadata store')
    .action(async (rawFlags: unknown) => {
      const flags = parseFlags(WorkerFlagsSchema, rawFlags);
      const config = resolveConfig(withRunningDevStack(cliConfig()));
      if (!config.temporalAddress) throw new CliError('no Temporal to poll: set MLPIPE_TEMPORAL_ADDRESS or start `mlpipe dev`');
      const queues = flags.queues ? parseQueues(flags.queues) : config.worker.queues;
      installCliRuntime();
      const { startWorkers } = require('../../workers/worker') as typeof import('../../workers/worker');
      const workers = await startWorkers({
        config,
        queues,
        concurrency: flags.concurrency ? parseConcurrency(flags.concurrency) : undefined,
        componentModules: flags.components,
        identity: flags.identity,
      });
      process.stdout.write(`worker ${workers.identity} polling ${queues.map((q) => `mlpipe-${q}`).join(', ')} on ${config.temporalAddress}\n`);
      await Promise.race([untilInterrupted(), workers.done]);
      await workers.shutdown();
    });
}
