import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { ComponentRegistry } from '../../activities/component-registry';
import { builtinRegistry } from '../../activities/builtin-components';
import { formatRun } from '../../artifacts/metadata/runs-format';
import { s3Client } from '../../artifacts/s3-client';
import { compilePipeline, pipeline, PipelineCompileError } from '../../dsl/compile';
import { defineComponent, type ComponentSpec } from '../../dsl/component';
import type { ExecutorContext } from '../../dsl/executor';
import { CompareWithApproved, Gate, ReadFiles, ReadsExamples, WriteText } from '../fixtures/engine-components';
import { TestStep } from '../fixtures/test-components';
import { testMinio } from '../support/servers';
import { tempDir } from '../support/tmp';
import { startTestStack, testRegistry, type TestStack } from './harness';

const states = (s: { nodes: Record<string, { state: string }> }) => Object.fromEntries(Object.entries(s.nodes).map(([k, v]) => [k, v.state]));

/** A registry like the stack's, with WriteText at another version. */
function registryWithWriteText(version: string): ComponentRegistry {
  const registry = new ComponentRegistry([...testRegistry().values()].filter((s) => s.type !== 'WriteText'));
  registry.register({ ...(WriteText.spec as unknown as ComponentSpec), version });
  return registry;
}

describe('engine: components as units', function () {
  it('the same component through its sources and through its build is one; another executor under its type is refused', () => {
    const registry = builtinRegistry();
    const built = registry.get('ExampleGen')!;
    assert.match(built.executor.module, /dist\/components\/example-gen\/executor\.js$/);
    const fromSources = { ...built, executor: { module: built.executor.module.replace('/dist/', '/').replace(/\.js$/, '.ts') } };
    registry.register(fromSources);
    assert.equal(registry.get('ExampleGen'), built, 'the first registration stays');
    assert.throws(
      () => registry.register({ ...built, executor: { module: require.resolve('../fixtures/engine-executors') } }),
      /component type 'ExampleGen' is registered twice with different executors/,
    );
    assert.throws(() => registry.register({ ...built, version: `${built.version}-other` }), /registered twice/);
  });

  it("an executor's log may go only into one of its outputs, and only from an executor process", () => {
    const registry = new ComponentRegistry();
    const spec = WriteText.spec as unknown as ComponentSpec;
    assert.throws(
      () => registry.register({ ...spec, executor: { ...spec.executor, runIn: 'process', logTo: 'logs' } }),
      /component 'WriteText': executor.logTo 'logs' is not one of its outputs \(text\)/,
    );
    assert.throws(() => registry.register({ ...spec, executor: { ...spec.executor, logTo: 'text' } }), /executor.logTo needs runIn: 'process'/);
    registry.register({ ...spec, executor: { ...spec.executor, runIn: 'process', logTo: 'text' } });
  });

  it('a misspelt runIn and an output key that is no path segment are refused where components are registered and compiled', () => {
    const spec = WriteText.spec as unknown as ComponentSpec;
    const misspelt = { ...spec, executor: { ...spec.executor, runIn: 'proces' as 'process' } };
    assert.throws(() => new ComponentRegistry().register(misspelt), /component 'WriteText': executor.runIn is 'proces'; expected 'thread' or 'process'/);
    const odd = defineComponent({ ...spec, type: 'OddOutputs', outputs: { _checkpoints: 'Text' } });
    assert.throws(() => new ComponentRegistry().register(odd.spec as unknown as ComponentSpec), /output key '_checkpoints' must start with a letter/);
    assert.throws(
      () => compilePipeline(pipeline({ name: 'odd', nodes: [odd('odd')] })),
      /node 'odd': component OddOutputs declares output '_checkpoints': output keys start with a letter/,
    );
  });

  it("an executor's context is typed by its spec", () => {
    // Compiled with the rest of the tests: each @ts-expect-error fails the build if the types let the mistake through.
    const typed = (ctx: ExecutorContext<typeof WriteText.spec>) => {
      // @ts-expect-error WriteText has no output 'model'
      void ctx.outputDirs.model;
      // @ts-expect-error WriteText has no input 'examples'
      void ctx.inputs.examples;
      // @ts-expect-error its parameters have no 'epochs'
      void ctx.parameters.epochs;
      return [ctx.outputDirs.text, ctx.inputs.upstream.length, ctx.parameters.text.length];
    };
    assert.equal(typeof typed, 'function');
  });

  it('a component may declare an artifact type of its own; the compiler checks each input gets the type it declares', () => {
    const registry = testRegistry();
    const text = WriteText('text', { parameters: { text: 'hello' } });
    const ok = compilePipeline(pipeline({ name: 'open-types', nodes: [text, Gate('gate', { inputs: { upstream: text.outputs.text } })] }), registry);
    assert.deepEqual(ok.nodes.map((n) => n.outputs), [{ text: 'Text' }, { verdict: 'Text' }]);
    assert.throws(
      () => compilePipeline(pipeline({ name: 'wrong-type', nodes: [text, ReadsExamples('reads', { inputs: { examples: text.outputs.text } })] }), registry),
      (err: Error) => err instanceof PipelineCompileError && /node 'reads' inputs\.examples: expects Examples, but 'text\.text' is Text/.test(err.message),
    );
    const badName = { ...(WriteText.spec as unknown as ComponentSpec), type: 'BadName', outputs: { text: 'plain-text' } };
    registry.register(badName);
    assert.throws(
      () => compilePipeline(pipeline({ name: 'bad-type-name', nodes: [{ id: 'n', spec: badName, options: {}, outputs: {} }] }), registry),
      /component BadName declares outputs\.text of type 'plain-text': artifact types are PascalCase names/,
    );
  });
});

describe('engine: resolve steps, gates and the cache key', function () {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({ queues: ['control', 'cpu'] });
  });
  after(async () => stack?.stop());

  it('resolved files are keyed by content and reach the executor: equal size and mtime, new bytes, runs again', async () => {
    const dir = await tempDir('resolve-files');
    await mkdir(path.join(dir, 'part'));
    await writeFile(path.join(dir, 'part', 'a.csv'), 'x\n1\n');
    await writeFile(path.join(dir, 'part', 'b.csv'), 'x\n2\n');
    // A whole second, so that setting it back below restores it exactly.
    const mtime = new Date('2026-01-01T00:00:00Z');
    await utimes(path.join(dir, 'part', 'b.csv'), mtime, mtime);
    await writeFile(path.join(dir, 'part', 'notes.txt'), 'not data');
    const p = pipeline({ name: 'resolve-files', nodes: [ReadFiles('read', { parameters: { location: path.join(dir, 'part', '*.csv') } })] });

    const first = await stack.run(p);
    assert.equal(first.status.state, 'succeeded', first.error);
    assert.deepEqual(first.status.nodes.read!.summary, { files: ['a.csv', 'b.csv'] }, 'exactly the files the glob matched');
    const copied = new URL(first.status.nodes.read!.outputs!.copy![0]!).pathname;
    const listing = JSON.parse(readFileSync(path.join(copied, 'listing.json'), 'utf8')) as Array<{ path: string; contentHash: string }>;
    const sha = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;
    assert.deepEqual(listing.map((f) => [f.path, f.contentHash]), [['a.csv', sha('x\n1\n')], ['b.csv', sha('x\n2\n')]]);
    const execution = (await stack.metadata.getRun((await first.handle.describe()).runId))!.executions[0]!;
    assert.equal((execution.resolved as { files: { data: { files: unknown[] } } }).files.data.files.length, 2, 'what was resolved is recorded with the execution');

    assert.equal(states((await stack.run(p)).status).read, 'cached');

    // Same size, mtime set back: only the content (and the ctime no tool can set) differs.
    const file = path.join(dir, 'part', 'b.csv');
    const before = await stat(file);
    await writeFile(file, 'x\n3\n');
    await utimes(file, mtime, mtime);
    assert.equal((await stat(file)).size, before.size);
    assert.equal((await stat(file)).mtimeMs, before.mtimeMs);
    const refreshed = await stack.run(p);
    assert.equal(states(refreshed.status).read, 'succeeded', 'a rewritten file of equal size and mtime runs the node again');
    assert.equal(readFileSync(path.join(new URL(refreshed.status.nodes.read!.outputs!.copy![0]!).pathname, 'b.csv'), 'utf8'), 'x\n3\n');

    await writeFile(path.join(dir, 'part', 'c.csv'), 'x\n4\n');
    const grown = await stack.run(p);
    assert.deepEqual(grown.status.nodes.read!.summary, { files: ['a.csv', 'b.csv', 'c.csv'] }, 'a new file matching the glob is read and keyed');
  });

  it('a resolved artifact (the newest approved Text) changes the key, reaches the executor and is recorded as an input', async () => {
    const approve = (text: string) => stack.run(pipeline({ name: 'resolve-baseline', nodes: [WriteText('release', { parameters: { text, approved: true } })] }));
    const compare = () => {
      const candidate = WriteText('candidate', { parameters: { text: 'candidate' } });
      return stack.run(pipeline({ name: 'resolve-baseline', nodes: [candidate, CompareWithApproved('compare', { inputs: { candidate: candidate.outputs.text } })] }));
    };
    const v1 = (await approve('v1')).status.nodes.release!.outputs!.text![0]!;
    const first = await compare();
    assert.equal(first.status.nodes.compare!.summary?.baseline, v1, 'the executor saw the baseline the resolve step found');
    assert.equal(states((await compare()).status).compare, 'cached', 'same baseline, same key');

    const v2 = (await approve('v2')).status.nodes.release!.outputs!.text![0]!;
    const second = await compare();
    assert.equal(states(second.status).compare, 'succeeded', 'a new baseline is a new key');
    assert.equal(second.status.nodes.compare!.summary?.baseline, v2);

    const run = await stack.metadata.getRun((await second.handle.describe()).runId);
    const execution = run!.executions.find((e) => e.nodeId === 'compare')!;
    assert.deepEqual(execution.inputs.baseline?.map((a) => a.uri), [v2], 'lineage: the baseline is an input of the execution');
    const lineage = await stack.metadata.lineage(v2, { direction: 'down', depth: 1 });
    assert.ok(lineage.executions.some((e) => e.id === execution.id), 'and the baseline shows what it fed');
  });

  it('a gate publishes its outputs, ends blocked with its reason, and what follows does not run, from the cache too', async () => {
    const gated = () => {
      const data = WriteText('data', { parameters: { text: 'rows' } });
      const validate = Gate('validate', { parameters: { block: '3 anomalies in split eval' }, inputs: { upstream: data.outputs.text } });
      const train = WriteText('train', { parameters: { text: 'model' }, inputs: { upstream: validate.outputs.verdict } });
      return pipeline({ name: 'gated', nodes: [data, validate, train] });
    };
    const first = await stack.run(gated());
    assert.equal(first.status.state, 'failed');
    assert.deepEqual(states(first.status), { data: 'succeeded', validate: 'blocked', train: 'skipped' });
    assert.equal(first.status.nodes.validate!.error, '3 anomalies in split eval');
    assert.equal(first.status.nodes.train!.error, "blocked by 'validate'");
    assert.match(first.error ?? '', /node 'validate' blocked: 3 anomalies in split eval/);
    const verdict = first.status.nodes.validate!.outputs!.verdict![0]!;
    assert.ok(await stack.store.readManifest(verdict), 'the gate\'s output is committed');
    assert.equal(readFileSync(path.join(new URL(verdict).pathname, 'verdict.txt'), 'utf8'), 'blocked: 3 anomalies in split eval');
    const run = await stack.metadata.getRun((await first.handle.describe()).runId);
    const execution = run!.executions.find((e) => e.nodeId === 'validate')!;
    assert.equal(execution.state, 'succeeded');
    assert.equal(execution.blocked, '3 anomalies in split eval');
    assert.deepEqual(execution.outputs.verdict?.map((a) => a.uri), [verdict], 'and recorded');
    assert.equal(run!.run.state, 'failed');
    const shown = formatRun(run!);
    assert.match(shown, /^validate\s+Gate\s+blocked\s/m, shown);
    assert.match(shown, /Blocked by a gate:\n {2}validate \(execution #\d+\): 3 anomalies in split eval/);

    const again = await stack.run(gated());
    assert.deepEqual(states(again.status), { data: 'cached', validate: 'blocked', train: 'skipped' }, 'a cached gate blocks as the original did');
  });

  it("a deterministic node run with its cache off makes the same content, so the node after it is a cache hit", async () => {
    const chain = () => {
      const upstream = WriteText('upstream', { parameters: { text: 'same bytes every time' }, cache: false });
      const downstream = WriteText('downstream', { parameters: { text: 'after' }, inputs: { upstream: upstream.outputs.text } });
      return pipeline({ name: 'deterministic', nodes: [upstream, downstream] });
    };
    assert.deepEqual(states((await stack.run(chain())).status), { upstream: 'succeeded', downstream: 'succeeded' });
    assert.deepEqual(states((await stack.run(chain())).status), { upstream: 'succeeded', downstream: 'cached' });
  });

  it('a pipeline given as JSON IR (defaults left out) and the same pipeline from TypeScript share a key', async () => {
    const definition = pipeline({ name: 'ir-vs-ts', nodes: [WriteText('only', { parameters: { text: 'ir' } })] });
    const spec = stack.compile(definition);
    assert.equal(spec.nodes[0]!.parameters.approved, false, 'the TypeScript compiler writes the default');
    assert.equal((await stack.run(definition)).status.state, 'succeeded');
    const raw = { ...spec, nodes: spec.nodes.map((n) => ({ ...n, parameters: { text: 'ir' } })) };
    assert.equal(states((await stack.run(raw)).status).only, 'cached', 'raw parameters are parsed before they are hashed');
  });

  it('a component that breaks its contract fails at once, as a component error, not as bad input', async () => {
    const broken = { ...(WriteText.spec as unknown as ComponentSpec), type: 'NoSuchExport', executor: { module: WriteText.spec.executor.module, export: 'nope' } };
    stack.registry.register(broken);
    const { status } = await stack.run(pipeline({ name: 'component-error', nodes: [{ id: 'broken', spec: broken, options: { parameters: { text: 'x' } }, outputs: {} }] }));
    assert.equal(status.nodes.broken!.state, 'failed');
    assert.equal(status.nodes.broken!.failureKind, 'component-error');
    assert.match(status.nodes.broken!.error ?? '', /engine-executors\.js does not export an executor function named 'nope'/);
  });

  it("an executor's failure keeps its stack in the failure's details", async () => {
    const failing = TestStep('broken', { parameters: { label: `stack-${randomUUID()}`, fail: 'disk on fire' }, retry: { maximumAttempts: 1 } });
    const { handle, status } = await stack.run(pipeline({ name: 'stack-details', nodes: [failing] }));
    assert.equal(status.nodes.broken!.error, 'TestStep executor failed: disk on fire');
    const history = historyToJSON(await handle.fetchHistory());
    const failed = (JSON.parse(history) as { events: Array<{ activityTaskFailedEventAttributes?: { failure?: { applicationFailureInfo?: { details?: { payloads?: Array<{ data: string }> } } } } }> })
      .events.map((e) => e.activityTaskFailedEventAttributes)
      .find(Boolean);
    const payload = failed?.failure?.applicationFailureInfo?.details?.payloads?.[0]?.data;
    assert.ok(payload, 'the failure carries details');
    const { stack: trace } = JSON.parse(Buffer.from(payload, 'base64').toString('utf8')) as { stack: string };
    assert.match(trace, /Error: disk on fire\n\s+at .*test-executors\.js/, 'the executor thread\'s own stack');
  });
});

describe('engine: the component version in the key is the control worker\'s', function () {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack();
  });
  after(async () => stack?.stop());

  async function runWith(control: string, executor: string, text: string) {
    const workers = [await stack.addWorkers(['control'], { registry: registryWithWriteText(control) }), await stack.addWorkers(['cpu'], { registry: registryWithWriteText(executor) })];
    try {
      const { status } = await stack.run(pipeline({ name: 'versions', nodes: [WriteText('w', { parameters: { text } })] }));
      return status.nodes.w!.state;
    } finally {
      for (const w of workers) await w.shutdown();
    }
  }

  it('a version bump on the workers runs the node again; an executor of another version re-keys what it produced', async () => {
    assert.equal(await runWith('1', '1', 'bump'), 'succeeded');
    assert.equal(await runWith('1', '1', 'bump'), 'cached');
    assert.equal(await runWith('2', '2', 'bump'), 'succeeded', 'the pipeline compiled against version 1 does not hit version 1\'s cache once workers run version 2');

    assert.equal(await runWith('3', '4', 'skew'), 'succeeded');
    const [skewed] = await stack.metadata.listRuns({ pipeline: 'versions', limit: 1 });
    const execution = (await stack.metadata.getRun(skewed!.runId))!.executions[0]!;
    assert.equal(execution.componentVersion, '4', 'the execution records the version that ran');
    assert.equal(await runWith('4', '4', 'skew'), 'cached', 'outputs are keyed by the version that produced them (4)');
    assert.equal(await runWith('3', '3', 'skew'), 'succeeded', 'not by the version the key was first made with (3)');
  });
});

describe('engine: where cached outputs and inputs live', function () {
  this.timeout(180_000);

  it('a cached artifact in another artifact store is a cache miss, recorded as such, not an error', async () => {
    const metadataUrl = `sqlite://${path.join(await tempDir('switch-store'), 'metadata.db')}`;
    const p = pipeline({ name: 'switch-store', nodes: [WriteText('w', { parameters: { text: `moved ${randomUUID()}` } })] });
    const local = await startTestStack({ queues: ['control', 'cpu'], metadataUrl });
    try {
      assert.equal((await local.run(p)).status.state, 'succeeded');
    } finally {
      await local.stop();
    }
    const minio = await testMinio();
    const s3 = { endpoint: minio.endpoint, accessKey: minio.accessKey, secretKey: minio.secretKey, region: 'us-east-1' };
    const remote = await startTestStack({ queues: ['control', 'cpu'], metadataUrl, artifactRoot: `s3://switch-${randomUUID().slice(0, 8)}/art`, s3 });
    try {
      const started = Date.now();
      const moved = await remote.run(p);
      assert.equal(moved.status.state, 'succeeded', moved.error);
      assert.equal(moved.status.nodes.w!.state, 'succeeded', 'the node ran again, into the current store');
      assert.ok(Date.now() - started < 30_000, 'no retries of an error that retrying cannot fix');
      const run = await remote.metadata.getRun((await moved.handle.describe()).runId);
      assert.match(run!.executions[0]!.cacheMiss ?? '', /output file:\/\/\S+ of execution #\d+ is not in the current artifact store s3:\/\//);
    } finally {
      await remote.stop();
    }
  });

  it('an s3:// input is keyed by its objects\' ETags', async () => {
    const minio = await testMinio();
    const s3 = { endpoint: minio.endpoint, accessKey: minio.accessKey, secretKey: minio.secretKey, region: 'us-east-1' };
    const bucket = `inputs-${randomUUID().slice(0, 8)}`;
    const client = s3Client(s3);
    await client.makeBucket(bucket);
    await client.putObject(bucket, 'day/1.csv', Buffer.from('x\n1\n'));
    await client.putObject(bucket, 'day/2.csv', Buffer.from('x\n2\n'));
    const stack = await startTestStack({ queues: ['control', 'cpu'], artifactRoot: `s3://${bucket}/art`, s3 });
    try {
      const p = pipeline({ name: 's3-input', nodes: [ReadFiles('read', { parameters: { location: `s3://${bucket}/day/` } })] });
      const first = await stack.run(p);
      assert.equal(first.status.state, 'succeeded', first.error);
      assert.deepEqual(first.status.nodes.read!.summary, { files: ['1.csv', '2.csv'] });
      const listing = JSON.parse(await readFile(await stack.store.materialize(first.status.nodes.read!.outputs!.copy![0]!).then((d) => path.join(d, 'listing.json')), 'utf8')) as Array<{ contentHash: string }>;
      const md5 = (text: string) => createHash('md5').update(text).digest('hex');
      assert.deepEqual(listing.map((f) => f.contentHash), [`etag:${md5('x\n1\n')}`, `etag:${md5('x\n2\n')}`]);
      assert.equal(states((await stack.run(p)).status).read, 'cached');
      await client.putObject(bucket, 'day/2.csv', Buffer.from('x\n9\n'));
      assert.equal(states((await stack.run(p)).status).read, 'succeeded', 'a replaced object runs the node again');
    } finally {
      await stack.stop();
    }
  });
});
