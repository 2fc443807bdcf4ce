import { Command } from 'commander';
import { reportError } from '../../cli/cli-context';
import { registerServeCommand } from '../../cli/commands/serve';

/** `mlpipe serve` as its own process, for the CLI test (cli/main.ts resolves package.json from dist/ only). */
const program = new Command('mlpipe').exitOverride();
registerServeCommand(program);
program.parseAsync(process.argv).then(
  () => process.exit(0),
  (err: unknown) => {
    const code = (err as { code?: string; exitCode?: number }).code;
    process.exit(typeof code === 'string' && code.startsWith('commander.') ? (err as { exitCode: number }).exitCode : reportError(err));
  },
);
