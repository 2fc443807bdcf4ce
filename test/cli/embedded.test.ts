import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { connectClient } from '../../client/pipeline-client';
import { openArtifactStore } from '../../artifacts/open-store';
import { loadConfig } from '../../config/config';
import { REPO_ROOT } from '../support/repo-root';
import { freePort } from '../../stack/free-port';
import { tempDir } from '../support/tmp';
import { CliProcess, describeResult, expectNoProcessesMentioning, parseJsonStdout, runCli } from './cli-process';

const PENGUINS = path.join(REPO_ROOT, 'dist', 'examples', 'penguins', 'pipeline.js');
const FAN_OUT = path.join(__dirname, 'fixtures', 'fan-out-pipeline.js');
const FAILING_PIPELINE = path.join(__dirname, '..', 'fixtures', 'failing-pipeline.js');
const TEST_COMPONENTS = path.join(__dirname, '..', 'fixtures', 'test-components.js');
// A first start on a fresh SQLite file (and MinIO formatting its drive) is slow on a busy two-core machine.
const STACK_UP_MS = 120_000;
const RUN_MS = 120_000;
const STOP_MS = 30_000;

const RunJsonSchema = z.object({
  workflowId: z.string(),
  runId: z.string(),
  status: z.string(),
  nodes: z.record(z.string(), z.object({ status: z.string(), outputs: z.record(z.string(), z.string()) })),
});

const allOutputUris = (run: z.infer<typeof RunJsonSchema>) => Object.values(run.nodes).flatMap((n) => Object.values(n.outputs));

describe('the embedded stack (mlpipe run with nothing configured, mlpipe dev)', function () {
  this.timeout(300_000);
  const started: CliProcess[] = [];
  const start = (args: string[], opts: ConstructorParameters<typeof CliProcess>[1]) => {
    const proc = new CliProcess(args, { ...opts, processGroup: true });
    started.push(proc);
    return proc;
  };
  after(() => {
    for (const proc of started) proc.kill();
  });

  async function runJson(args: string[], cwd: string, env: Record<string, string>) {
    const full = ['run', ...args, '--json'];
    const r = await runCli(full, { cwd, env, timeoutMs: RUN_MS });
    assert.equal(r.code, 0, describeResult(full, r));
    const run = RunJsonSchema.parse(parseJsonStdout(full, r));
    assert.equal(run.status, 'succeeded', describeResult(full, r));
    return run;
  }

  it('mlpipe run with no Temporal configured starts the stack itself, succeeds, and leaves nothing running', async () => {
    const cwd = await tempDir('embedded-run');
    const home = path.join(cwd, 'state');
    const run = await runJson([PENGUINS], cwd, { MLPIPE_HOME: home });
    assert.deepEqual(Object.keys(run.nodes).sort(), ['evaluator', 'example_gen', 'example_validator', 'infra_validator', 'pusher', 'schema_gen', 'statistics_gen', 'trainer', 'transform']);
    assert.ok(existsSync(path.join(home, 'models', 'penguins', '1', 'model.onnx')), 'the example pushes to the model repository under MLPIPE_HOME');
    for (const uri of allOutputUris(run)) {
      assert.ok(uri.startsWith(`file://${path.join(home, 'artifacts')}/`), `${uri} lies in the local artifact directory under MLPIPE_HOME`);
      assert.ok(existsSync(new URL(uri).pathname), `${uri} exists on disk`);
    }
    assert.ok(existsSync(path.join(home, 'temporal.db')), 'Temporal state lives in a SQLite file under MLPIPE_HOME');
    assert.ok(existsSync(path.join(home, 'metadata.db')), 'the metadata database lives under MLPIPE_HOME');
    assert.ok(!existsSync(path.join(home, 'dev-stack.json')), 'a run-scoped stack does not announce itself as `mlpipe dev`');
    await expectNoProcessesMentioning(home, 5_000);
  });

  it("a failing node on its own stack: mlpipe's words on the terminal, the Temporal SDK's log lines in a file it names", async () => {
    const cwd = await tempDir('embedded-fail');
    const home = path.join(cwd, 'state');
    const args = ['run', FAILING_PIPELINE];
    const r = await runCli(args, { cwd, env: { MLPIPE_HOME: home }, timeoutMs: RUN_MS });
    assert.equal(r.code, 1, describeResult(args, r));
    const told = r.stdout + r.stderr;
    assert.match(r.stdout, /^failing-pipeline: failed at node 'train'$/m, describeResult(args, r));
    assert.doesNotMatch(told, /\[WARN\]|taskToken|sdkComponent/, `no SDK log lines on the terminal\n${describeResult(args, r)}`);
    const [, logFile] = /^Temporal SDK log of this run: (\S+)$/m.exec(r.stdout) ?? [];
    assert.ok(logFile?.startsWith(path.join(home, 'logs') + path.sep), `the log lies under MLPIPE_HOME/logs\n${describeResult(args, r)}`);
    assert.match(readFileSync(logFile!, 'utf8'), /\[WARN\] Activity failed .*"activityId":"train".*"type":"UserInputError"/, 'the log holds what the SDK said');
    assert.match(r.stdout, /^ {2}\(this run's embedded stack stops now; `mlpipe dev` serves the UI again .*, or run with --keep-stack\)$/m);

    const verbose = await runCli([...args, '--verbose'], { cwd, env: { MLPIPE_HOME: home }, timeoutMs: RUN_MS });
    assert.equal(verbose.code, 1, describeResult([...args, '--verbose'], verbose));
    assert.match(verbose.stderr, /\[INFO\] Worker state changed/, `--verbose prints the SDK's lines\n${describeResult(args, verbose)}`);
    assert.doesNotMatch(verbose.stdout, /Temporal SDK log of this run/);
    await expectNoProcessesMentioning(home, 5_000);
  });

  it('mlpipe run --keep-stack keeps the stack and its Temporal UI up after the run, until Ctrl-C', async () => {
    const cwd = await tempDir('embedded-keep');
    const home = path.join(cwd, 'state');
    const run = start(['run', FAN_OUT, '--param', 'ms=0', '--keep-stack'], { cwd, env: { MLPIPE_HOME: home } });
    const [, page] = await run.waitForStdout(/^Temporal UI: (http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/\S+)$/m, RUN_MS, 'the UI link');
    await run.waitForStdout(/fan-out\S*: succeeded/, 5_000, 'the outcome');
    const deadline = Date.now() + 10_000;
    while (!run.stderr.includes('Ctrl-C stops it') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.match(run.stderr, /the embedded stack stays up .*Ctrl-C stops it/);
    assert.equal((await fetch(page!)).status, 200, `the UI still answers at ${page} after the run`);
    const exit = await run.stop('SIGINT', STOP_MS);
    assert.equal(exit.code, 0, describeResult(run.args, exit));
    await expectNoProcessesMentioning(home, 5_000);
  });

  it('a dev-stack.json left behind by a killed `mlpipe dev` is ignored: mlpipe run starts its own stack', async () => {
    const cwd = await tempDir('embedded-stale');
    const home = path.join(cwd, 'state');
    mkdirSync(home, { recursive: true });
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid;
    const stale = { pid: deadPid, temporalAddress: '127.0.0.1:1', uiUrl: null, artifactRoot: 'file:///nonexistent/artifacts' };
    writeFileSync(path.join(home, 'dev-stack.json'), JSON.stringify(stale));
    const run = await runJson([FAN_OUT, '--param', 'ms=0'], cwd, { MLPIPE_HOME: home });
    for (const uri of allOutputUris(run)) assert.ok(uri.startsWith(`file://${path.join(home, 'artifacts')}/`), uri);
    await expectNoProcessesMentioning(home, 5_000);
  });

  it('mlpipe dev: prints the UI URL; `mlpipe run` and `mlpipe worker` in other processes use it; Ctrl-C stops everything', async () => {
    const cwd = await tempDir('embedded-dev');
    const home = path.join(cwd, 'state');
    const env = { MLPIPE_HOME: home };
    const dev = start(['dev', '--port', '0', '--ui-port', '0', '--components', TEST_COMPONENTS], { cwd, env });
    const [, uiUrl] = await dev.waitForStdout(/Temporal UI:\s+(http:\/\/127\.0\.0\.1:\d+)\s*$/m, STACK_UP_MS, 'the Temporal UI URL');
    const [, address] = await dev.waitForStdout(/Temporal:\s+(127\.0\.0\.1:\d+) \(namespace default\)/, 1_000, 'the Temporal address');
    await dev.waitForStdout(/Ctrl-C stops everything/, 5_000, 'the hint how to stop it');
    const ui = await fetch(uiUrl!);
    assert.equal(ui.status, 200, `the Temporal Web UI answers at ${uiUrl}`);
    assert.ok(existsSync(path.join(home, 'dev-stack.json')), 'mlpipe dev announces itself in MLPIPE_HOME/dev-stack.json');

    const run = await runJson([PENGUINS], cwd, env);
    for (const uri of allOutputUris(run)) assert.ok(uri.startsWith(`file://${path.join(home, 'artifacts')}/`), uri);
    const { client, close } = await connectClient({ ...loadConfig({ env: {}, cwd }), temporalAddress: address! });
    try {
      const described = await client.workflow.getHandle(run.workflowId).describe();
      assert.equal(described.status.name, 'COMPLETED', 'the run went through the dev stack’s Temporal');
    } finally {
      await close();
    }

    const worker = start(['worker', '--queues', 'cpu', '--components', TEST_COMPONENTS, '--identity', 'extra-cpu-worker'], { cwd, env });
    await worker.waitForStdout(new RegExp(`worker extra-cpu-worker polling mlpipe-cpu on ${address!.replace(/\./g, '\\.')}`), 60_000, 'the worker banner');
    const fanOut = await runJson([FAN_OUT, '--param', 'ms=2000'], cwd, env);
    const shown = await runCli(['runs', 'show', fanOut.workflowId, '--json'], { cwd, env });
    assert.equal(shown.code, 0, describeResult(['runs', 'show'], shown));
    const detail = z.object({ executions: z.array(z.object({ nodeId: z.string(), worker: z.string().nullable() })) }).parse(parseJsonStdout(['runs', 'show'], shown));
    const workers = detail.executions.map((e) => e.worker);
    assert.ok(
      workers.includes('extra-cpu-worker'),
      `while the dev stack's cpu worker (concurrency 1) ran one node, the extra worker ran the other: ${JSON.stringify(detail.executions)}`,
    );

    const workerExit = await worker.stop('SIGINT', STOP_MS);
    assert.equal(workerExit.code, 0, describeResult(worker.args, workerExit));

    const devExit = await dev.stop('SIGINT', STOP_MS);
    assert.equal(devExit.code, 0, describeResult(dev.args, devExit));
    assert.match(devExit.stdout, /stopped\.\s*$/);
    assert.ok(!existsSync(path.join(home, 'dev-stack.json')), 'dev-stack.json is removed so later commands do not use a stopped stack');
    await expectNoProcessesMentioning(home, 5_000);
  });

  it('mlpipe run with an s3:// root on a local endpoint nobody serves starts that MinIO for the run', async () => {
    const cwd = await tempDir('embedded-s3-config');
    const home = path.join(cwd, 'state');
    const port = await freePort();
    const s3 = { endpoint: `http://127.0.0.1:${port}`, accessKey: 'configured', secretKey: 'configured-secret-1' };
    const env = {
      MLPIPE_HOME: home,
      MLPIPE_ARTIFACT_ROOT: 's3://configured-bucket/art',
      MLPIPE_S3_ENDPOINT: s3.endpoint,
      MLPIPE_S3_ACCESS_KEY: s3.accessKey,
      MLPIPE_S3_SECRET_KEY: s3.secretKey,
    };
    const run = await runJson([PENGUINS], cwd, env);
    const uris = allOutputUris(run);
    assert.ok(uris.length > 0 && uris.every((u) => u.startsWith('s3://configured-bucket/art/')), uris.join('\n'));
    assert.ok(existsSync(path.join(home, 'minio')), 'the MinIO data lives under MLPIPE_HOME');
    await expectNoProcessesMentioning(home, 5_000);
  });

  it('mlpipe dev --minio stores artifacts in a local MinIO (s3://) and never prints the secret', async () => {
    const cwd = await tempDir('embedded-minio');
    const home = path.join(cwd, 'state');
    const env = { MLPIPE_HOME: home };
    const dev = start(['dev', '--minio', '--port', '0', '--ui-port', '0', '--minio-port', '0'], { cwd, env });
    const [, endpoint] = await dev.waitForStdout(/MinIO:\s+(http:\/\/127\.0\.0\.1:\d+)/, STACK_UP_MS, 'the MinIO endpoint');
    await dev.waitForStdout(/Ctrl-C stops everything/, 5_000, 'the hint how to stop it');

    const run = await runJson([PENGUINS], cwd, env);
    const state = z
      .object({ artifactRoot: z.string(), s3: z.object({ endpoint: z.string(), accessKey: z.string(), secretKey: z.string(), region: z.string() }) })
      .parse(JSON.parse(readFileSync(path.join(home, 'dev-stack.json'), 'utf8')));
    assert.equal(state.s3.endpoint, endpoint);
    const store = await openArtifactStore(state.artifactRoot, state.s3, { cacheDir: path.join(cwd, 'cache') });
    try {
      for (const uri of allOutputUris(run)) {
        assert.match(uri, /^s3:\/\//);
        assert.ok(await store.readManifest(uri), `${uri} is committed in MinIO`);
      }
    } finally {
      await store.close();
    }

    const devExit = await dev.stop('SIGINT', STOP_MS);
    assert.equal(devExit.code, 0, describeResult(dev.args, devExit));
    assert.ok(!devExit.stdout.includes(state.s3.secretKey), `mlpipe dev printed the MinIO secret key:\n${devExit.stdout}`);
    await expectNoProcessesMentioning(home, 5_000);
  });
});

