import assert from 'node:assert/strict';
import path from 'node:path';
import { tempDir } from '../support/tmp';
import { describeResult, runCli } from './cli-process';

const CHAIN_PIPELINE = path.join(__dirname, 'fixtures', 'chain-pipeline.js');
// Nothing listens on port 1 of the loopback interface: connections are refused at once.
const UNREACHABLE = '127.0.0.1:1';

describe('mlpipe commands without a Temporal server to talk to', function () {
  let cwd: string;
  before(async () => {
    cwd = await tempDir('cli-no-temporal');
  });

  it('worker and schedule with nothing configured and no `mlpipe dev` running say how to get a Temporal (exit 2)', async () => {
    const env = { MLPIPE_HOME: path.join(cwd, 'home') };
    const worker = await runCli(['worker', '--queues', 'cpu'], { cwd, env });
    assert.equal(worker.code, 2, describeResult(['worker'], worker));
    assert.match(worker.stderr, /MLPIPE_TEMPORAL_ADDRESS.*mlpipe dev/);
    const schedules = await runCli(['schedule', 'list'], { cwd, env });
    assert.equal(schedules.code, 2, describeResult(['schedule', 'list'], schedules));
    assert.match(schedules.stderr, /MLPIPE_TEMPORAL_ADDRESS.*mlpipe dev/);
  });

  const commands = [
    ['run', CHAIN_PIPELINE, '--json'],
    ['worker', '--queues', 'cpu'],
    ['schedule', 'list'],
  ];
  for (const args of commands) {
    it(`mlpipe ${args[0] === 'run' ? 'run <module>' : args.join(' ')} with MLPIPE_TEMPORAL_ADDRESS pointing at nothing names the address and the setting, no stack trace`, async () => {
      const r = await runCli(args, { cwd, env: { MLPIPE_HOME: path.join(cwd, 'home'), MLPIPE_TEMPORAL_ADDRESS: UNREACHABLE }, timeoutMs: 60_000 });
      assert.notEqual(r.code, 0, describeResult(args, r));
      assert.equal(r.stdout, '', describeResult(args, r));
      assert.ok(r.stderr.includes(UNREACHABLE), `names the address it tried\n${describeResult(args, r)}`);
      assert.match(r.stderr, /MLPIPE_TEMPORAL_ADDRESS/, describeResult(args, r));
      assert.doesNotMatch(r.stderr, /^\s+at /m, `an unreachable server is reported, not a crash\n${describeResult(args, r)}`);
    });
  }
});
