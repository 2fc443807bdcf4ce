import type { Command } from 'commander';
import { z } from 'zod';
import { connectClient, startPipeline, waitForRun } from '../../client/pipeline-client';
import { resolveConfig } from '../../config/config';
import type { PipelineStatus } from '../../workflows/pipeline-types';
import { cliConfig, CliError, collect, EXIT_FAILED, installQuietRuntime, parseFlags } from '../cli-context';
import { withRunningDevStack } from '../dev-stack-state';
import { compilePipelineModule, parseParams } from '../pipeline-module';
import { LiveProgress, renderStatusLines, renderSummaryLines } from '../progress-view';

const RunFlagsSchema = z.object({
  param: z.array(z.string()).default([]),
  cache: z.boolean().default(true),
  json: z.boolean().default(false),
  components: z.array(z.string()).default([]),
  minio: z.boolean().default(false),
});

/** What `mlpipe run --json` prints: one object, stable for scripts. */
export function runSummaryJson(workflowId: string, runId: string, status: PipelineStatus, error?: string) {
  return {
    workflowId,
    runId,
    status: status.state,
    ...(error ? { error } : {}),
    nodes: Object.fromEntries(
      Object.entries(status.nodes).map(([id, n]) => [
        id,
        {
          status: n.state,
          attempts: n.attempt,
          durationMs: n.durationMs ?? null,
          outputs: Object.fromEntries(Object.entries(n.outputs ?? {}).map(([k, uris]) => [k, uris.length === 1 ? uris[0] : uris])),
          ...(n.error ? { error: n.error } : {}),
        },
      ]),
    ),
  };
}

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run a pipeline (a module exporting pipeline({...}), or a JSON PipelineSpec) and wait for it')
    .argument('<pipeline-module>', 'path to the pipeline module (.js, .ts with tsx installed) or spec (.json)')
    .option('--param <key=value>', 'parameter passed to the pipeline function (repeatable)', collect, [])
    .option('--no-cache', 'run every node even if a cached result exists')
    .option('--json', 'print one JSON object with the run result on stdout, nothing else')
    .option('--components <module>', 'module exporting custom components (repeatable)', collect, [])
    .option('--minio', 'with the embedded stack: store artifacts in a local MinIO')
    .addHelpText('after', '\nWithout MLPIPE_TEMPORAL_ADDRESS (and no `mlpipe dev` running) it starts the embedded stack for the length of the run.')
    .action(async (modulePath: string, rawFlags: unknown) => {
      const flags = parseFlags(RunFlagsSchema, rawFlags);
      const { spec, registry } = compilePipelineModule(modulePath, parseParams(flags.param), flags.components);
      let config = withRunningDevStack(cliConfig());
      const say = (line: string) => {
        if (!flags.json) process.stderr.write(`${line}\n`);
      };
      let embedded = null;
      if (!config.temporalAddress) {
        installQuietRuntime();
        const { startEmbeddedStack } = require('../embedded-stack') as typeof import('../embedded-stack');
        embedded = await startEmbeddedStack({ config, registry, withMinio: flags.minio });
      }
      if (embedded) {
        say(`embedded stack: Temporal ${embedded.temporal.address}${embedded.minio ? `, MinIO ${embedded.minio.endpoint}` : ''} (state in ${config.home})`);
        config = embedded.config;
      }
      const resolved = resolveConfig(config);
      const { client, close } = await connectClient(resolved);
      try {
        const handle = await startPipeline(client, spec, { noCache: !flags.cache });
        say(`run ${handle.workflowId}: pipeline '${spec.name}', ${spec.nodes.length} nodes`);
        const live = !flags.json && process.stderr.isTTY ? new LiveProgress(process.stderr) : null;
        const outcome = await waitForRun(handle, live ? (s) => live.update(s) : undefined);
        if (live) live.update(outcome.status);
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(runSummaryJson(handle.workflowId, outcome.runId, outcome.status, outcome.error))}\n`);
        } else {
          // Progress goes to stderr; the report a person keeps (or pipes) goes to stdout.
          const report = (line: string) => process.stdout.write(`${line}\n`);
          if (!live) for (const line of renderStatusLines(outcome.status)) report(line);
          report(`\n${spec.name}: ${outcome.status.state}${outcome.error ? ` — ${outcome.error}` : ''}`);
          for (const line of renderSummaryLines(outcome.status)) report(line);
          const ui = embedded?.temporal.uiUrl ?? 'http://localhost:8233';
          report(`Temporal UI: ${ui}/namespaces/${resolved.temporalNamespace}/workflows/${handle.workflowId}${embedded ? ' (start `mlpipe dev` to browse it after this run)' : ''}`);
          report('artifacts (cached nodes point at the run that produced them):');
          for (const [id, n] of Object.entries(outcome.status.nodes)) {
            for (const [key, uris] of Object.entries(n.outputs ?? {})) report(`  ${id}.${key}: ${uris.join(', ')}`);
          }
        }
        if (outcome.status.state !== 'succeeded') {
          throw new CliError(`run ${handle.workflowId} ${outcome.status.state}${outcome.error ? `: ${outcome.error}` : ''}`, EXIT_FAILED);
        }
      } finally {
        await close();
        await embedded?.stop();
      }
    });
}
