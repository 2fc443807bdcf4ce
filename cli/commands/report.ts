import type { Command } from 'commander';
import { z } from 'zod';
import { openArtifactStore } from '../../artifacts/open-store';
import { resolveConfig } from '../../config/config';
import { cliConfig, CliError, EXIT_FAILED, parseFlags } from '../cli-context';
import { withRunningDevStack } from '../dev-stack-state';
import { openInBrowser } from '../open-in-browser';
import { runReports } from '../run-reports';
import { findRun, withMetadata } from './runs';

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description("a run's HTML reports (statistics.html, anomalies.html): their local paths, downloaded first from an s3:// store")
    .argument('<run>', 'run id (Temporal run id) or workflow id')
    .option('--open', 'open them in a browser (xdg-open, or open on macOS)')
    .option('--json', 'print JSON: node, output, file, artifact URI and local path of each')
    .action(async (id: string, raw: unknown) => {
      const flags = parseFlags(z.object({ open: z.boolean().default(false), json: z.boolean().default(false) }), raw);
      // The store of a running `mlpipe dev --minio` when none is configured, as `mlpipe run` finds it.
      const config = resolveConfig(withRunningDevStack(cliConfig()));
      const reports = await withMetadata(async (m) => {
        const detail = await findRun(m, id);
        const store = await openArtifactStore(config.artifactRoot, config.s3, { cacheDir: `${config.home}/cache` });
        try {
          const notHere = (uri: string) => new CliError(`run '${id}' wrote ${uri}, outside the configured artifact store ${config.artifactRoot}: point MLPIPE_ARTIFACT_ROOT at the store the run used`);
          return await runReports(detail, store, notHere);
        } finally {
          await store.close();
        }
      });
      if (reports.length === 0) throw new CliError(`run '${id}' has no HTML reports (none of its outputs holds an .html file; StatisticsGen and ExampleValidator write them)`, EXIT_FAILED);
      process.stdout.write(flags.json ? `${JSON.stringify(reports, null, 2)}\n` : reports.map((r) => `${r.path}\n`).join(''));
      if (!flags.open) return;
      const failure = await openInBrowser(reports.map((r) => r.path));
      if (failure) process.stderr.write(`mlpipe: not opened: ${failure}; open the files above in a browser\n`);
    });
}
