import assert from 'node:assert/strict';
import { describeResult, runCli, type CliResult } from './cli-process';
import { tempDir } from '../support/tmp';

/** The commands and subcommands issue 2 names, with the options a user reaches for first. */
const EXPECTED_OPTIONS: Record<string, string[]> = {
  dev: ['--minio', '--port', '--ui-port', '--minio-port'],
  run: ['--param', '--no-cache', '--json'],
  worker: ['--queues', '--concurrency'],
  'runs list': ['--pipeline', '--limit', '--json'],
  'runs show': ['--json'],
  lineage: ['--json', '--direction'],
  report: ['--open', '--json'],
  'schedule create': ['--cron', '--every', '--overlap', '--catchup-window', '--pause-on-failure', '--param', '--no-cache'],
  'schedule list': ['--json'],
  'schedule describe': [],
  'schedule pause': [],
  'schedule unpause': [],
  'schedule trigger': [],
  'schedule delete': [],
  serve: [],
  'models list': ['--repository', '--json'],
  'models show': ['--version', '--repository'],
  'models rollback': ['--to', '--repository'],
  approve: ['--node', '--reject', '--by', '--reason'],
};

/** Command names listed under "Commands:" in a help text (commander's own `help` excluded). */
function listedCommands(help: string): string[] {
  const section = help.split(/^Commands:$/m)[1];
  if (!section) return [];
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]!).filter((name) => name !== 'help');
}

describe('mlpipe --help and usage errors', function () {
  let cwd: string;
  const helpOf = new Map<string, CliResult>();

  before(async () => {
    cwd = await tempDir('cli-help');
  });

  async function help(command: string): Promise<CliResult> {
    const args = [...command.split(' ').filter(Boolean), '--help'];
    const r = await runCli(args, { cwd });
    assert.equal(r.code, 0, describeResult(args, r));
    assert.match(r.stdout, new RegExp(`^Usage: mlpipe${command ? ` ${command}` : ''} `), describeResult(args, r));
    assert.match(r.stdout, /-h, --help/, describeResult(args, r));
    helpOf.set(command, r);
    return r;
  }

  it('top-level --help lists every command and --version prints the package version', async () => {
    const r = await help('');
    const listed = listedCommands(r.stdout);
    for (const command of ['dev', 'run', 'worker', 'runs', 'lineage', 'report', 'schedule', 'serve', 'models']) {
      assert.ok(listed.includes(command), `'mlpipe --help' should list '${command}'; it lists ${listed.join(', ')}`);
    }
    const version = await runCli(['--version'], { cwd });
    assert.equal(version.code, 0, describeResult(['--version'], version));
    assert.match(version.stdout.trim(), /^\d+\.\d+\.\d+/);
  });

  it('every command and subcommand answers --help with exit 0 and its options', async () => {
    const visited: string[] = [];
    const walk = async (command: string): Promise<void> => {
      const r = helpOf.get(command) ?? (await help(command));
      visited.push(command);
      for (const sub of listedCommands(r.stdout)) await walk(command ? `${command} ${sub}` : sub);
    };
    await walk('');
    for (const [command, options] of Object.entries(EXPECTED_OPTIONS)) {
      assert.ok(visited.includes(command), `'mlpipe ${command}' is not reachable from the help tree (${visited.join(', ')})`);
      const text = helpOf.get(command)!.stdout;
      for (const option of options) {
        assert.match(text, new RegExp(`(^|[\\s,])${option}\\b`, 'm'), `'mlpipe ${command} --help' should document ${option}:\n${text}`);
      }
    }
  });

  it('`mlpipe help <command>` shows the same help as `<command> --help`', async () => {
    const r = await runCli(['help', 'run'], { cwd });
    assert.equal(r.code, 0, describeResult(['help', 'run'], r));
    assert.equal(r.stdout, (helpOf.get('run') ?? (await help('run'))).stdout);
  });

  const usageErrors: Array<{ args: string[]; message: RegExp }> = [
    { args: ['bogus'], message: /unknown command 'bogus'/ },
    { args: ['schedule', 'bogus'], message: /unknown command 'bogus'/ },
    { args: ['run', 'pipeline.js', '--bogus'], message: /unknown option '--bogus'/ },
    { args: ['runs', 'list', '--bogus'], message: /unknown option '--bogus'/ },
    { args: ['run'], message: /missing required argument 'pipeline-module'/ },
    { args: ['lineage'], message: /missing required argument 'artifact'/ },
    { args: ['report'], message: /missing required argument 'run'/ },
    { args: ['schedule', 'create', 'nightly'], message: /missing required argument 'pipeline-module'/ },
  ];
  for (const { args, message } of usageErrors) {
    it(`\`mlpipe ${args.join(' ')}\` exits 2 (usage error) naming the problem`, async () => {
      const r = await runCli(args, { cwd });
      assert.equal(r.code, 2, `a usage error should exit 2 like every other bad input\n${describeResult(args, r)}`);
      assert.match(r.stderr, message, describeResult(args, r));
      assert.equal(r.stdout, '', 'nothing on stdout: scripts reading it must not mistake the error for output');
    });
  }

  const badFlagValues: Array<{ args: string[]; flag: string }> = [
    { args: ['runs', 'list', '--limit', 'lots'], flag: '--limit' },
    { args: ['dev', '--port', 'abc'], flag: '--port' },
    { args: ['dev', '--ui-port', '70000'], flag: '--ui-port' },
    { args: ['lineage', '1', '--direction', 'sideways'], flag: '--direction' },
    { args: ['worker', '--queues', 'cpu,tpu'], flag: '--queues' },
  ];
  for (const { args, flag } of badFlagValues) {
    it(`\`mlpipe ${args.join(' ')}\` exits 2 with a one-line message naming ${flag}, no stack trace`, async () => {
      const r = await runCli(args, { cwd, env: { MLPIPE_TEMPORAL_ADDRESS: '127.0.0.1:1' } });
      assert.equal(r.code, 2, describeResult(args, r));
      assert.ok(r.stderr.includes(flag), `stderr should name ${flag}\n${describeResult(args, r)}`);
      assert.doesNotMatch(r.stderr, /^\s+at /m, `a bad flag is the user's mistake, not a crash: no stack trace\n${describeResult(args, r)}`);
      assert.doesNotMatch(r.stderr, /ZodError/, describeResult(args, r));
    });
  }
});
