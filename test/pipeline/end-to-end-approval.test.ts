import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PushRecordSchema } from '../../components/pusher/payload';
import createPenguins from '../../examples/penguins/pipeline';
import type { PipelineStatus } from '../../workflows/pipeline-types';
import { describeResult, runCli } from '../cli/cli-process';
import { vegaFile } from '../components/vega-data';
import { tempDir } from '../support/tmp';
import { untilAwaitingApproval } from './await-approval';
import { startTestStack, type TestStack } from './harness';

/**
 * The penguins example with `approvalHours`: its Pusher waits for a person. Approved, the model is
 * pushed and the version records the run; rejected, nothing is pushed and the run says who and why.
 */
describe('end to end: a person approves or rejects the push of the penguins model', function () {
  this.timeout(180_000);
  let stack: TestStack;
  let dir: string;
  let repository: string;

  before(async () => {
    stack = await startTestStack({ queues: ['control', 'cpu'] });
    dir = await tempDir('e2e-approval');
    repository = pathToFileURL(path.join(dir, 'models')).href;
  });
  after(async () => stack?.stop());

  const cli = (args: string[]) => runCli(args, { cwd: dir, env: stack.env() });
  const penguins = (input: string) => createPenguins({ input, repository, epochs: '20', approvalHours: '1' });
  const rows = JSON.parse(readFileSync(vegaFile('penguins.json'), 'utf8')) as unknown[];

  it('approved: the Pusher runs after `mlpipe approve` and publishes version 1, which names the run', async () => {
    const input = path.join(dir, 'penguins-all.json');
    writeFileSync(input, JSON.stringify(rows));
    const handle = await stack.start(penguins(input));
    const waiting = await untilAwaitingApproval(handle, 'pusher', 90_000);
    assert.equal(waiting.nodes.evaluator!.state, 'succeeded', 'the wait comes after the Evaluator blessed the model');
    assert.equal(waiting.nodes.infra_validator!.state, 'succeeded');
    assert.ok(!existsSync(path.join(dir, 'models', 'penguins')), 'nothing is pushed while the run waits');

    const args = ['approve', handle.workflowId, '--by', 'alice', '--reason', 'accuracy 0.98 on eval, reviewed'];
    const approved = await cli(args);
    assert.equal(approved.code, 0, describeResult(args, approved));
    const status = (await handle.result()) as PipelineStatus;
    assert.equal(status.state, 'succeeded');
    assert.equal(status.nodes.pusher!.summary?.version, 1);
    assert.deepEqual(
      { by: status.nodes.pusher!.approval?.decision?.by, reason: status.nodes.pusher!.approval?.decision?.reason, approved: status.nodes.pusher!.approval?.decision?.approved },
      { by: 'alice', reason: 'accuracy 0.98 on eval, reviewed', approved: true },
    );
    const record = PushRecordSchema.parse(JSON.parse(readFileSync(path.join(dir, 'models', 'penguins', '1', 'push.json'), 'utf8')));
    assert.equal(record.lineage.run?.workflowId, handle.workflowId);
    assert.equal(record.evaluation?.verdict, 'blessed');
    assert.ok(record.exampleRequest, 'the InfraValidator gave it a real row to try it with');
    const shown = await cli(['models', 'show', 'penguins']);
    const curl = /^ {2}try it: +curl -s http:\/\/127\.0\.0\.1:8000\/v1\/models\/penguins:predict -d '(.+)'$/m.exec(shown.stdout);
    assert.ok(curl, describeResult(['models', 'show', 'penguins'], shown));
    assert.deepEqual(JSON.parse(curl[1]!), record.exampleRequest);
    assert.equal((shown.stdout.match(/^ {4}accuracy \(overall\): (1|0\.\d+)$/gm) ?? []).length, 1, `one line per metric and slice, though two thresholds read it\n${shown.stdout}`);
  });

  it('rejected: a blessed new model is not pushed; the run is blocked at the Pusher naming who rejected it and why', async () => {
    // Other data (every other penguin): a new model, blessed by the thresholds, that a person turns down.
    const input = path.join(dir, 'penguins-half.json');
    writeFileSync(input, JSON.stringify(rows.filter((_, i) => i % 2 === 0)));
    const handle = await stack.start(penguins(input));
    await untilAwaitingApproval(handle, 'pusher', 90_000);
    const args = ['approve', handle.workflowId, '--reject', '--by', 'bob', '--reason', 'trained on half the data'];
    const rejected = await cli(args);
    assert.equal(rejected.code, 0, describeResult(args, rejected));
    await assert.rejects(handle.result());
    const listed = await cli(['runs', 'show', handle.workflowId, '--json']);
    const shown = JSON.parse(listed.stdout) as { approvals?: Record<string, unknown> };
    assert.ok(shown.approvals?.pusher, `runs show --json has the decision: ${listed.stdout.slice(0, 2000)}`);
    const status = (await stack.client.workflow.getHandle(handle.workflowId).query('status')) as PipelineStatus;
    assert.equal(status.nodes.evaluator!.summary?.verdict, 'blessed', 'the model was good enough: the person decided');
    assert.equal(status.nodes.pusher!.state, 'blocked');
    assert.equal(status.nodes.pusher!.error, 'rejected by bob: trained on half the data');
    assert.ok(!existsSync(path.join(dir, 'models', 'penguins', '2')), 'no version 2 in the repository');
    const models = await cli(['models', 'list', '--json']);
    const versions = (JSON.parse(models.stdout) as Array<{ model: string; version: number }>).filter((v) => v.model === 'penguins').map((v) => v.version);
    assert.deepEqual(versions, [1], describeResult(['models', 'list', '--json'], models));
  });
});
