import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { resolveConfig, type MlpipeConfig } from '../../config/config';
import type { PipelineStatus } from '../../workflows/pipeline-types';
import { cliConfig, CliExit, collect, EXIT_FAILED, parseFlags, untilInterrupted } from '../cli-context';
import { DEFAULT_UI_PORT, runningDevStack, withRunningDevStack } from '../dev-stack-state';
import { compilePipelineModule, parseParams } from '../pipeline-module';
import { ApprovalLines, approveCommand, LiveProgress, renderStatusLines, RetryLines } from '../progress-view';
import { renderRunReport } from '../run-report';
import { reportFiles } from '../report-files';

const RunFlagsSchema = z.object({
  param: z.array(z.string()).default([]),
  cache: z.boolean().default(true),
  json: z.boolean().default(false),
  components: z.array(z.string()).default([]),
  minio: z.boolean().default(false),
  keepStack: z.boolean().default(false),
  verbose: z.boolean().default(false),
  // `--serve` alone is true; `--serve 0` asks for free ports (tests, a machine whose 8000 is taken).
  serve: z.union([z.boolean(), z.string().regex(/^\d+$/, 'expected an HTTP port number').transform(Number).pipe(z.number().max(65534, 'expected a port up to 65534 (gRPC takes the next)'))]).default(false),
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
          summary: n.summary ?? null,
          ...(n.error ? { error: n.error } : {}),
          ...(n.failureKind ? { failureKind: n.failureKind } : {}),
          ...(n.approval ? { approval: n.approval } : {}),
        },
      ]),
    ),
  };
}

/** The Temporal UI's page for a run, and what a person should know about reaching it later. */
function uiLines(workflowId: string, namespace: string, ui: { url: string; stackStopsAfterRun: boolean }): string[] {
  const page = (base: string) => `${base}/namespaces/${namespace}/workflows/${workflowId}`;
  const line = `Temporal UI: ${page(ui.url)}`;
  if (!ui.stackStopsAfterRun) return [line];
  const devUrl = `http://127.0.0.1:${DEFAULT_UI_PORT}`;
  const later = ui.url === devUrl ? 'at the same address' : `at ${page(devUrl)}`;
  return [line, `  (this run's embedded stack stops now; \`mlpipe dev\` serves the UI again ${later}, or run with --keep-stack)`];
}

/**
 * The UI that goes with a Temporal address not started here: the configured one, a running
 * `mlpipe dev`'s, else the dev server's UI port on the same host.
 */
function uiUrlFor(config: MlpipeConfig, temporalAddress: string): string {
  if (config.temporalUiUrl) return config.temporalUiUrl.replace(/\/$/, '');
  const dev = runningDevStack(config.home);
  if (dev?.uiUrl && dev.temporalAddress === temporalAddress) return dev.uiUrl;
  return `http://${temporalAddress.replace(/:\d+$/, '')}:${DEFAULT_UI_PORT}`;
}

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run a pipeline (a module exporting pipeline({...}), or a JSON PipelineSpec) and wait for it')
    .argument('<pipeline-module>', 'path to the pipeline module (.js, or .ts) or spec (.json)')
    .option('--param <key=value>', 'parameter passed to the pipeline function (repeatable)', collect, [])
    .option('--no-cache', 'run every node even if a cached result exists')
    .option('--json', 'print one JSON object with the run result on stdout, nothing else')
    .option('--components <module>', 'module exporting custom components (repeatable)', collect, [])
    .option('--minio', 'with the embedded stack: store artifacts in a local MinIO')
    .option('--keep-stack', 'with the embedded stack: keep it (and its Temporal UI) up after the run, until Ctrl-C')
    .option('--serve [http-port]', 'after a run that pushed a model: serve it (mlpipe serve on HTTP 8000 and gRPC the next port; 0: free ports) and print a curl that asks it for a prediction')
    .option('--verbose', "print the Temporal SDK's log lines (INFO and up) instead of writing its warnings to a file")
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
        const { startEmbeddedStack } = require('../embedded-stack') as typeof import('../embedded-stack');
        embedded = await startEmbeddedStack({
          config,
          registry,
          withMinio: flags.minio,
          command: '`mlpipe run`',
          // Build progress reaches a person even with --json: it can take minutes, once per machine.
          say: (line) => process.stderr.write(`${line}\n`),
          announce: flags.keepStack,
          sdkLog: { verbose: flags.verbose, logDir: path.join(config.home, 'logs'), command: 'run' },
        });
      }
      if (embedded) {
        say(`embedded stack: Temporal ${embedded.temporal.address}${embedded.minio ? `, MinIO ${embedded.minio.endpoint}` : ''} (state in ${config.home})`);
        config = embedded.config;
      }
      const resolved = resolveConfig(config);
      // Loaded here: with the embedded stack, while its Temporal server was starting.
      const { connectClient, startPipeline, waitForRun } = require('../../client/pipeline-client') as typeof import('../../client/pipeline-client');
      const { client, close } = await connectClient(resolved);
      let toServe: PipelineStatus | null = null;
      const serve = async (status: PipelineStatus) => {
        const { servePushedModel } = require('../serve-pushed') as typeof import('../serve-pushed');
        const httpPort = flags.serve === true ? 8000 : Number(flags.serve);
        // With the report on stdout (--json keeps stdout to its one object).
        const tell = (line: string) => flags.json || process.stdout.write(`${line}\n`);
        await servePushedModel(status, resolved, tell, { httpPort, grpcPort: httpPort === 0 ? 0 : httpPort + 1 });
      };
      try {
        const handle = await startPipeline(client, spec, { noCache: !flags.cache });
        say(`run ${handle.workflowId}: pipeline '${spec.name}', ${spec.nodes.length} nodes`);
        const live = !flags.json && process.stderr.isTTY ? new LiveProgress(process.stderr) : null;
        // The live table has no room for the command: it is said once, before the table takes the terminal.
        if (live) for (const node of spec.nodes.filter((n) => n.approval)) say(`${node.id} will wait for approval: ${approveCommand(handle.workflowId, node.id, embedded?.temporal.address)}`);
        const announcers = !flags.json && !live ? [new RetryLines(say), new ApprovalLines(handle.workflowId, say, embedded?.temporal.address)] : [];
        const outcome = await waitForRun(handle, live ? (p) => live.update(p) : announcers.length > 0 ? (p) => announcers.forEach((a) => a.update(p)) : undefined);
        if (live) live.update({ status: outcome.status, retries: new Map() });
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(runSummaryJson(handle.workflowId, outcome.runId, outcome.status, outcome.error))}\n`);
        } else {
          // Progress goes to stderr; the report a person keeps (or pipes) goes to stdout.
          const report = (line: string) => process.stdout.write(`${line}\n`);
          if (!live) for (const line of renderStatusLines(outcome.status)) report(line);
          const ui = embedded
            ? { url: embedded.temporal.uiUrl ?? `http://127.0.0.1:${DEFAULT_UI_PORT}`, stackStopsAfterRun: !flags.keepStack }
            : { url: uiUrlFor(config, resolved.temporalAddress!), stackStopsAfterRun: false };
          const lines = renderRunReport({
            pipeline: spec.name,
            workflowId: handle.workflowId,
            status: outcome.status,
            ...(outcome.error ? { error: outcome.error } : {}),
            uiLines: uiLines(handle.workflowId, resolved.temporalNamespace, ui),
            reports: await reportFiles(outcome.status),
            sdkLogFile: embedded?.sdkLog.file ?? null,
          });
          for (const line of lines) report(line);
        }
        if (flags.serve !== false && outcome.status.state === 'succeeded') toServe = outcome.status;
        // With --keep-stack the stack stays up while it serves; otherwise it stops first, as the report said.
        if (toServe && flags.keepStack) await serve(toServe);
        if (embedded && flags.keepStack) {
          say('the embedded stack stays up (Temporal, its UI, workers); Ctrl-C stops it');
          await untilInterrupted();
        }
        // The report above said everything about a run that did not succeed.
        if (outcome.status.state !== 'succeeded') throw new CliExit(EXIT_FAILED);
      } finally {
        await close();
        await embedded?.stop({ fast: true });
      }
      if (toServe && !flags.keepStack) await serve(toServe);
    });
}
