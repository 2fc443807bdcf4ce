import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { MANIFEST_NAME, type ArtifactStore } from '../../artifacts/store';
import { pipeline } from '../../dsl/compile';
import type { PipelineStatus } from '../../workflows/pipeline-types';
import { Resumable, ResumableProcess } from '../fixtures/durable-components';
import { testMinio } from '../support/servers';
import { tempDir } from '../support/tmp';
import { DURABLE_COMPONENTS_MODULE, startTestStack, type TestStack } from './harness';
import { processAlive } from '../../stack/process-alive';

const CLI = path.join(__dirname, '..', '..', 'cli', 'main.js');
const STEPS = 8;

interface JournalLine {
  event: 'start' | 'saved' | 'cancelled';
  pid: number;
  step: number;
}

function readJournal(file: string): JournalLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [event, pid, step] = line.split(' ');
      return { event: event as JournalLine['event'], pid: Number(pid), step: Number(step) };
    });
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    assert.ok(Date.now() < deadline, `timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function statusOf(handle: WorkflowHandle): Promise<PipelineStatus> {
  return (await handle.query('status')) as PipelineStatus;
}

/** The latest committed checkpoint of a node (`<n>-a<attempt>`), read straight from the store: its number and state. */
async function latestCheckpoint(store: ArtifactStore, prefix: string): Promise<{ number: number; next: number } | null> {
  const names = new Set<string>();
  for await (const o of store.list(prefix)) names.add(o.key.slice(prefix.length + 1).split('/')[0]!);
  const numbered = [...names].map((name) => ({ name, number: Number(name.split('-a')[0]), attempt: Number(name.split('-a')[1]) }));
  for (const { name, number } of numbered.sort((a, b) => b.number - a.number || b.attempt - a.attempt)) {
    if (!(await store.readManifest(store.uriFor(`${prefix}/${name}`)))) continue;
    const { state } = JSON.parse((await store.getObjectBuffer(`${prefix}/${name}/state.json`)).toString()) as { state: { next: number } };
    return { number, next: state.next };
  }
  return null;
}


async function visibleKeys(store: ArtifactStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list(prefix)) keys.push(o.key.slice(prefix.length + 1));
  return keys.sort();
}

for (const storeKind of ['file', 's3'] as const) {
  describe(`durable work on ${storeKind}://`, function () {
    let stack: TestStack;
    const children: ChildProcess[] = [];

    const spawnWorker = (identity: string): ChildProcess => {
      const child = spawn(process.execPath, [CLI, 'worker', '--queues', 'cpu', '--components', DURABLE_COMPONENTS_MODULE, '--identity', identity], {
        env: { ...process.env, ...stack.env() },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr!.on('data', (d: Buffer) => process.stderr.write(`[${identity}] ${d}`));
      children.push(child);
      return child;
    };

    before(async () => {
      if (storeKind === 's3') {
        const minio = await testMinio();
        const s3 = { endpoint: minio.endpoint, accessKey: minio.accessKey, secretKey: minio.secretKey, region: 'us-east-1' };
        stack = await startTestStack({ queues: ['control'], artifactRoot: `s3://durable-${randomUUID().slice(0, 8)}/art`, s3 });
      } else {
        stack = await startTestStack({ queues: ['control'] });
      }
    });
    afterEach(() => {
      for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    });
    after(async () => {
      await stack?.stop();
    });

    it('a worker SIGKILLed between checkpoints: the next attempt, on another worker, resumes at the last durable step', async () => {
      const journal = path.join(await tempDir('journal'), 'journal.txt');
      const step = Resumable('train', {
        parameters: { steps: STEPS, stepMs: 250, journal },
        timeouts: { heartbeatMs: 3000 },
        retry: { maximumAttempts: 3, initialIntervalMs: 100 },
      });
      const handle = await stack.start(pipeline({ name: 'resume', nodes: [step] }));
      const first = spawnWorker('resume-worker-1');
      await until('three steps are durable', () => readJournal(journal).filter((l) => l.event === 'saved').length >= 3);
      first.kill('SIGKILL');
      await until('the first worker is gone', () => first.exitCode !== null || first.signalCode !== null);

      const { runId } = await handle.describe();
      const prefix = `pipelines/resume/runs/${runId}/train/_checkpoints`;
      const durable = await latestCheckpoint(stack.store, prefix);
      assert.ok(durable && durable.next >= 3, `a checkpoint at step 3 or later is in the store (found ${JSON.stringify(durable)})`);

      spawnWorker('resume-worker-2');
      await handle.result();
      const status = await statusOf(handle);
      assert.equal(status.nodes.train!.state, 'succeeded');
      assert.equal(status.nodes.train!.worker, 'resume-worker-2');

      const lines = readJournal(journal);
      const starts = lines.filter((l) => l.event === 'start');
      const secondPid = starts.find((l) => l.pid !== starts[0]!.pid)!.pid;
      const resumedAt = starts.find((l) => l.pid === secondPid)!.step;
      assert.equal(resumedAt, durable.next, 'the retry starts at the step after the last durable checkpoint');
      for (let i = 0; i < STEPS; i++) {
        const ran = starts.filter((l) => l.step === i);
        if (i < durable.next) assert.deepEqual(ran.map((l) => l.pid === secondPid), [false], `step ${i}, before the checkpoint, ran once, on the first worker`);
        else assert.equal(ran.filter((l) => l.pid === secondPid).length, 1, `step ${i} ran once on the second worker`);
      }
      assert.deepEqual(await visibleKeys(stack.store, prefix), [], 'checkpoints are removed once the outputs are committed');

      // The same pipeline, uninterrupted, on the surviving worker: the same output, file for file.
      const crashed = await stack.store.readManifest(status.nodes.train!.outputs!.out![0]!);
      const again = await stack.run(pipeline({ name: 'resume', nodes: [Resumable('train', { parameters: { steps: STEPS, journal }, cache: false })] }));
      assert.equal(again.status.state, 'succeeded');
      const clean = await stack.store.readManifest(again.status.nodes.train!.outputs!.out![0]!);
      assert.deepEqual(
        crashed!.files.map((f) => f.path),
        Array.from({ length: STEPS }, (_, i) => `steps/step-${i}.txt`),
      );
      assert.equal(crashed!.contentHash, clean!.contentHash, 'the interrupted run wrote what an uninterrupted run writes');
    });

    it('a worker SIGKILLed while committing outputs: nothing partial is ever visible, and the retry commits one complete artifact', async () => {
      const journal = path.join(await tempDir('journal'), 'journal.txt');
      const step = Resumable('bulk', {
        // Longer than a progress interval, so the commit phase is signalled.
        parameters: { steps: 1, stepMs: 1200, journal, payloadFiles: 400, payloadKb: 64 },
        timeouts: { heartbeatMs: 3000 },
        retry: { maximumAttempts: 3, initialIntervalMs: 100 },
      });
      const handle = await stack.start(pipeline({ name: 'commit-crash', nodes: [step] }));
      const first = spawnWorker('commit-worker-1');
      await until('the node is committing its outputs', async () => (await statusOf(handle)).nodes.bulk?.progress?.message === 'committing outputs');
      first.kill('SIGKILL');
      await until('the first worker is gone', () => first.exitCode !== null || first.signalCode !== null);

      const { runId } = await handle.describe();
      const outUri = stack.store.uriFor(`pipelines/commit-crash/runs/${runId}/bulk/out`);
      assert.equal(await stack.store.readManifest(outUri), null, 'the kill came before the commit completed, so the artifact is not visible');
      await assert.rejects(stack.store.materialize(outUri), 'a reader cannot open the half-committed artifact');

      spawnWorker('commit-worker-2');
      await handle.result();
      const status = await statusOf(handle);
      assert.equal(status.nodes.bulk!.worker, 'commit-worker-2');
      const manifest = await stack.store.readManifest(outUri);
      assert.ok(manifest);
      assert.equal(manifest.files.filter((f) => f.path.startsWith('payload-')).length, 400);
      const expected = [...manifest.files.map((f) => f.path), MANIFEST_NAME].sort();
      assert.deepEqual(await visibleKeys(stack.store, stack.store.keyFor(outUri)), expected, 'exactly the manifest\'s files, no leftovers of the killed commit');
      const local = await stack.store.materialize(outUri);
      assert.deepEqual(readFileSync(path.join(local, 'payload-0007.bin')), Buffer.alloc(64 * 1024, 7));
    });
  });
}

describe('executors in threads and processes', function () {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({ queues: ['control', 'cpu'] });
  });
  after(async () => {
    await stack?.stop();
  });

  it('an executor process killed mid-run fails the attempt; the retry resumes from its checkpoint and its log is published', async () => {
    const journal = path.join(await tempDir('journal'), 'journal.txt');
    const step = ResumableProcess('train', {
      parameters: { steps: STEPS, stepMs: 150, journal },
      // Long enough to read the store between the kill and the retry.
      retry: { maximumAttempts: 3, initialIntervalMs: 1500 },
    });
    const handle = await stack.start(pipeline({ name: 'process-resume', nodes: [step] }));
    await until('three steps are durable', () => readJournal(journal).filter((l) => l.event === 'saved').length >= 3);
    const victim = readJournal(journal)[0]!.pid;
    assert.notEqual(victim, process.pid, 'the executor runs in a process of its own');
    process.kill(victim, 'SIGKILL');
    await until('the executor process is gone', () => !processAlive(victim));
    const { runId } = await handle.describe();
    const durable = await latestCheckpoint(stack.store, `pipelines/process-resume/runs/${runId}/train/_checkpoints`);
    assert.ok(durable && durable.next >= 3, `a checkpoint at step 3 or later is in the store (found ${JSON.stringify(durable)})`);
    await handle.result();

    const status = await statusOf(handle);
    assert.equal(status.nodes.train!.state, 'succeeded');
    assert.equal(status.nodes.train!.attempt, 2, 'the killed process failed the first attempt');
    const starts = readJournal(journal).filter((l) => l.event === 'start');
    const second = starts.filter((l) => l.pid !== victim);
    assert.deepEqual(
      second.map((l) => l.step),
      Array.from({ length: STEPS - durable.next }, (_, i) => durable.next + i),
      'the retry ran exactly the steps after the last durable checkpoint',
    );
    for (let i = 0; i < durable.next; i++) assert.equal(starts.filter((l) => l.step === i).length, 1, `step ${i} ran once`);

    const local = await stack.store.materialize(status.nodes.train!.outputs!.out![0]!);
    const log = readFileSync(path.join(local, 'executor.log'), 'utf8');
    assert.match(log, new RegExp(`starting at step ${second[0]!.step}\\n`), 'the published log is the resumed attempt\'s stdout');
    assert.match(log, new RegExp(`finished ${STEPS} steps`));
  });

  it('cancelling a run reaches an executor process through its signal, and the process ends', async () => {
    const journal = path.join(await tempDir('journal'), 'journal.txt');
    const step = ResumableProcess('train', { parameters: { steps: 100, stepMs: 100, journal } });
    const handle = await stack.start(pipeline({ name: 'process-cancel', nodes: [step] }));
    await until('two steps are durable', () => readJournal(journal).filter((l) => l.event === 'saved').length >= 2);
    const child = readJournal(journal)[0]!.pid;
    await handle.cancel();
    await assert.rejects(handle.result());
    await until('the executor saw the cancellation', () => readJournal(journal).some((l) => l.event === 'cancelled' && l.pid === child), 10_000);
    await until('the executor process has exited', () => !processAlive(child), 10_000);
    assert.equal((await statusOf(handle)).nodes.train!.state, 'cancelled');
  });

  it('a checkpoint the executor does not await is saved before the outputs are committed; one that fails leaves its thread serving', async () => {
    const journal = path.join(await tempDir('journal'), 'journal.txt');
    for (const unawaitedCheckpoint of ['valid', 'not-json'] as const) {
      const name = `unawaited-${unawaitedCheckpoint}`;
      const run = await stack.run(pipeline({ name, nodes: [Resumable('train', { parameters: { steps: 2, journal, unawaitedCheckpoint }, retry: { maximumAttempts: 1 } })] }));
      assert.equal(run.status.nodes.train!.state, 'succeeded', run.status.nodes.train!.error);
      const { runId } = await run.handle.describe();
      assert.deepEqual(await visibleKeys(stack.store, `pipelines/${name}/runs/${runId}/train/_checkpoints`), [], 'no checkpoint is committed after the outputs');
    }
    // The pool hands out the thread that ran last first: a thread the failed checkpoint had brought down would fail this run.
    const again = await stack.run(pipeline({ name: 'after-unawaited', nodes: [Resumable('train', { parameters: { steps: 1, journal }, retry: { maximumAttempts: 1 } })] }));
    assert.equal(again.status.nodes.train!.state, 'succeeded', again.status.nodes.train!.error);
  });

  it('an executor process that dies shows the end of its log in the failure', async () => {
    const journal = path.join(await tempDir('journal'), 'journal.txt');
    const step = ResumableProcess('train', { parameters: { steps: 3, journal, crashAtStep: 1 }, retry: { maximumAttempts: 1 } });
    const run = await stack.run(pipeline({ name: 'process-crashes', nodes: [step] }));
    assert.equal(run.status.nodes.train!.state, 'failed');
    const error = run.status.nodes.train!.error ?? '';
    assert.match(error, /executor process \d+ exited with code 17 before returning a result/);
    assert.match(error, /starting at step 0\ncrashing at step 1/, 'the end of its log, stdout and stderr in order');
  });
});
