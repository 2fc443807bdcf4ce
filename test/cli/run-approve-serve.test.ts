import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PushRecordSchema } from '../../components/pusher/payload';
import { loadConfig, resolveConfig } from '../../config/config';
import { CliError } from '../../cli/cli-context';
import { servePushedModel } from '../../cli/serve-pushed';
import type { PipelineStatus } from '../../workflows/pipeline-types';
import { REPO_ROOT } from '../support/repo-root';
import { tempDir } from '../support/tmp';
import { CLI_MAIN, CliProcess, cliEnv, describeResult, runCli } from './cli-process';

const APPROVAL_PIPELINE = path.join(__dirname, 'fixtures', 'approval-pipeline.js');

describe('mlpipe run: approving a run on its own embedded stack; --serve on a busy port', function () {
  this.timeout(180_000);

  it('`mlpipe run` on its embedded stack announces an approve command that, pasted as printed, reaches that stack', async () => {
    const cwd = await tempDir('review-approve-embedded');
    const env = { MLPIPE_HOME: path.join(cwd, 'state') };
    const run = new CliProcess(['run', APPROVAL_PIPELINE], { cwd, env, processGroup: true });
    try {
      const deadline = Date.now() + 120_000;
      let line: RegExpMatchArray | null = null;
      while (!(line = run.stderr.match(/^push: waits for approval \([^)]*\): (.*) --by <name> --reason <text> {3}\(reject: add --reject\)$/m))) {
        assert.ok(Date.now() < deadline && run.child.exitCode === null, `mlpipe run announces the wait\n${describeResult(run.args, run.result)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      // What a person pastes: leading VAR=value words are the command's environment.
      const words = line[1]!.split(' ');
      const assignments = words.filter((w) => /^[A-Z_]+=/.test(w));
      const command = words.slice(assignments.length);
      assert.equal(command[0], 'mlpipe', line[0]);
      const pasted = Object.fromEntries(assignments.map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
      const approve = [...command.slice(1), '--by', 'dana', '--reason', 'pasted from the run'];
      const approved = await runCli(approve, { cwd, env: { ...env, ...pasted } });
      assert.equal(approved.code, 0, describeResult(approve, approved));
      assert.match(approved.stdout, /node 'push' of run '.*' approved by dana: pasted from the run/);
      const ended = await run.exited;
      assert.equal(ended.code, 0, describeResult(run.args, ended));
      assert.match(ended.stdout, /^✔ push\s+succeeded\s/m, describeResult(run.args, ended));
    } finally {
      run.kill();
    }
  });

  it('at a terminal, where the live table has no room for it, the approve command is said before the table, and pasted as printed it approves', async () => {
    const cwd = await tempDir('approve-embedded-tty');
    const env = { MLPIPE_HOME: path.join(cwd, 'state') };
    const command = [process.execPath, CLI_MAIN, 'run', APPROVAL_PIPELINE].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['--quiet', '--return', '--flush', '--command', command, '/dev/null'], { cwd, env: { ...cliEnv(env), COLUMNS: '160' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    try {
      const deadline = Date.now() + 120_000;
      let line: RegExpMatchArray | null = null;
      while (!(line = out.match(/^push will wait for approval: (.*) --by <name> --reason <text> {3}\(reject: add --reject\)\r?$/m))) {
        assert.ok(Date.now() < deadline && child.exitCode === null, `mlpipe run on a terminal says the approve command\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const words = line[1]!.split(' ');
      const assignments = words.filter((w) => /^[A-Z_]+=/.test(w));
      assert.deepEqual(assignments.map((a) => a.split('=')[0]), ['MLPIPE_TEMPORAL_ADDRESS'], 'its own stack is named');
      const pasted = Object.fromEntries(assignments.map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
      // The node may not wait yet: the command is said when the run starts.
      const approve = [...words.slice(assignments.length + 1), '--by', 'erin', '--reason', 'from the terminal'];
      for (;;) {
        const approved = await runCli(approve, { cwd, env: { ...env, ...pasted } });
        if (approved.code === 0) break;
        assert.ok(Date.now() < deadline && /is (pending|running|succeeded)|waiting for approval: \(none\)|not waiting/.test(approved.stderr), describeResult(approve, approved));
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(await exited, 0, out);
      assert.match(out, /✔ push\s+succeeded/, out);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a bad --param the example pipeline refuses is a usage error naming it, not a stack trace', async () => {
    const cwd = await tempDir('review-bad-param');
    const args = ['run', path.join(REPO_ROOT, 'dist', 'examples', 'penguins', 'pipeline.js'), '--param', 'approvalHours=soon'];
    const r = await runCli(args, { cwd, env: { MLPIPE_HOME: path.join(cwd, 'state') } });
    assert.equal(r.code, 2, describeResult(args, r));
    assert.equal(r.stderr, 'mlpipe: penguins: --param approvalHours must be a positive number of hours, got soon\n', describeResult(args, r));
  });

  it('--serve 65535 is refused before the run: its gRPC would need port 65536', async () => {
    const cwd = await tempDir('review-serve-last-port');
    const args = ['run', path.join(REPO_ROOT, 'dist', 'examples', 'penguins', 'pipeline.js'), '--serve', '65535'];
    const r = await runCli(args, { cwd, env: { MLPIPE_HOME: path.join(cwd, 'state') } });
    assert.equal(r.code, 2, describeResult(args, r));
    assert.match(r.stderr, /^mlpipe: .*--serve: expected a port up to 65534 \(gRPC takes the next\)\n$/, describeResult(args, r));
    assert.equal(r.stdout, '', describeResult(args, r));
  });

  it('--serve on a port in use says which port and how to choose another, as a CLI error', async () => {
    const dir = await tempDir('review-serve-busy');
    const repository = pathToFileURL(path.join(dir, 'models')).href;
    await mkdir(path.join(dir, 'models', 'penguins', '1'), { recursive: true });
    const record = PushRecordSchema.parse({
      version: 1,
      repository,
      model: 'penguins',
      modelVersion: 1,
      servedContentHash: 'sha256:0',
      pushedAt: new Date(0).toISOString(),
      lineage: { servingModel: { uri: 'file:///nowhere', contentHash: 'sha256:0' } },
      signature: {},
    });
    await writeFile(path.join(dir, 'models', 'penguins', '1', 'push.json'), JSON.stringify(record));
    const status: PipelineStatus = {
      pipeline: 'penguins',
      state: 'succeeded',
      nodes: { pusher: { state: 'succeeded', attempt: 1, summary: { pushed: true, repository, model: 'penguins', version: 1 } } },
    };
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    try {
      const told: string[] = [];
      await assert.rejects(
        servePushedModel(status, resolveConfig(loadConfig({ env: { MLPIPE_HOME: dir }, cwd: dir })), (l) => told.push(l), { httpPort: port, grpcPort: 0 }),
        (err: unknown) => {
          assert.ok(err instanceof CliError, `a CliError, not a crash: ${String(err)}`);
          assert.match(err.message, new RegExp(`^--serve: cannot listen for HTTP on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE.*\`--serve 0\` free ones\\)$`));
          return true;
        },
      );
    } finally {
      await new Promise((r) => busy.close(r));
    }
  });
});
