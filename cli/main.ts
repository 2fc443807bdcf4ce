#!/usr/bin/env node
import { Command } from 'commander';
import { EXIT_USAGE, reportError } from './cli-context';
import { registerApproveCommand } from './commands/approve';
import { registerDevCommand } from './commands/dev';
import { registerRunCommand } from './commands/run';
import { registerModelsCommand } from './commands/models';
import { registerLineageCommand, registerRunsCommand } from './commands/runs';
import { registerReportCommand } from './commands/report';
import { registerScheduleCommand } from './commands/schedule';
import { registerServeCommand } from './commands/serve';
import { registerWorkerCommand } from './commands/worker';

async function main(argv: string[]): Promise<number> {
  const program = new Command('mlpipe')
    .description('production ML pipelines in TypeScript, run as durable Temporal workflows')
    .version((require('../../package.json') as { version: string }).version)
    .showHelpAfterError()
    // Program options only before the command: `mlpipe models show m --version 2` is the model's version, not mlpipe's.
    .enablePositionalOptions()
    .exitOverride();
  registerDevCommand(program);
  registerRunCommand(program);
  registerWorkerCommand(program);
  registerRunsCommand(program);
  registerLineageCommand(program);
  registerReportCommand(program);
  registerScheduleCommand(program);
  registerServeCommand(program);
  registerModelsCommand(program);
  registerApproveCommand(program);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    const code = (err as { code?: string; exitCode?: number }).code;
    // Commander exits 0 for --help and --version; every other complaint of its is a usage error.
    if (typeof code === 'string' && code.startsWith('commander.')) return (err as { exitCode: number }).exitCode === 0 ? 0 : EXIT_USAGE;
    return reportError(err);
  }
}

main(process.argv).then(
  (code) => process.exit(code),
  (err) => process.exit(reportError(err)),
);
