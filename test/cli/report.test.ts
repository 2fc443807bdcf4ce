import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { chmod, cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { outputKey } from '../../activities/run-layout';
import { openMetadataStore } from '../../artifacts/metadata/metadata-store';
import { openArtifactStore } from '../../artifacts/open-store';
import type { S3Settings } from '../../artifacts/s3-client';
import type { ArtifactStore } from '../../artifacts/store';
import { ExampleGen } from '../../components/example-gen/spec';
import { ExampleValidator } from '../../components/example-validator/spec';
import { ANOMALIES_REPORT_FILE_NAME } from '../../components/reports/anomalies-report';
import { STATISTICS_REPORT_FILE_NAME } from '../../components/reports/statistics-report';
import { SchemaGen } from '../../components/schema-gen/spec';
import { StatisticsGen } from '../../components/statistics-gen/spec';
import { loadConfig, resolveConfig } from '../../config/config';
import { runExecutorForTest } from '../support/executor-harness';
import { testMinio } from '../support/servers';
import { tempDir } from '../support/tmp';
import { vegaFile } from '../components/vega-data';
import { describeResult, runCli, type CliResult } from './cli-process';

const PIPELINE = 'penguins';

/** A node's outputs as its executor wrote them: output key → (artifact type, local directory). */
type NodeOutputs = Record<string, { type: string; dir: string }>;

/**
 * Records a finished run the way the control activities do, without Temporal: each output committed
 * to the store at its run-layout URI, each node an execution with its outputs, the run named by a
 * workflow id too.
 */
async function recordRun(home: string, store: ArtifactStore, runId: string, nodes: Record<string, { component: string; outputs: NodeOutputs }>): Promise<void> {
  const metadata = await openMetadataStore(resolveConfig(loadConfig({ env: { MLPIPE_HOME: home }, cwd: home })).metadataUrl);
  try {
    await metadata.putContext('run', runId, { workflowId: `wf-${runId}` }, { pipeline: PIPELINE });
    for (const [nodeId, node] of Object.entries(nodes)) {
      const id = await metadata.startExecution({ pipeline: PIPELINE, runId, nodeId, component: node.component, componentVersion: '1', fingerprint: createHash('sha256').update(`${runId}/${nodeId}`).digest('hex') });
      const outputs: Record<string, Array<{ type: string; uri: string; contentHash: string }>> = {};
      for (const [key, { type, dir }] of Object.entries(node.outputs)) {
        const staging = await store.createStaging();
        await cp(dir, staging.localDir, { recursive: true });
        const uri = store.uriFor(outputKey(PIPELINE, runId, nodeId, key));
        const manifest = await store.commit(staging, uri);
        outputs[key] = [{ type, uri, contentHash: manifest.contentHash }];
      }
      await metadata.finishExecution(id, { state: 'succeeded', outputs });
    }
  } finally {
    await metadata.close();
  }
}

/** A directory with a stand-in for the desktop's opener that writes down what it was asked to open. */
async function fakeOpener(exitCode: number): Promise<{ bin: string; log: string }> {
  const bin = await tempDir('opener');
  const log = path.join(bin, 'opened.txt');
  const script = `#!/bin/sh\necho "$1" >> '${log}'\n${exitCode === 0 ? '' : 'echo "xdg-open: no method available for opening it" >&2\n'}exit ${exitCode}\n`;
  for (const name of ['xdg-open', 'open']) {
    await writeFile(path.join(bin, name), script);
    await chmod(path.join(bin, name), 0o755);
  }
  return { bin, log };
}

describe('mlpipe report <run>: the paths of the HTML reports a run wrote, and --open', function () {
  this.timeout(90_000);
  let nodes: Record<string, { component: string; outputs: NodeOutputs }>;
  let expected: { statistics: Buffer; anomalies: Buffer };
  let fileHome: string;
  let fileRoot: string;
  const runId = `run-${randomUUID().slice(0, 8)}`;

  before(async () => {
    const examples = await runExecutorForTest(ExampleGen, { parameters: { input: vegaFile('penguins.json') } });
    const statistics = await runExecutorForTest(StatisticsGen, { inputs: { examples: [examples.artifact('examples')] } });
    const schema = await runExecutorForTest(SchemaGen, { inputs: { statistics: [statistics.artifact('statistics')] } });
    const anomalies = await runExecutorForTest(ExampleValidator, { inputs: { statistics: [statistics.artifact('statistics')], schema: [schema.artifact('schema')] } });
    nodes = {
      example_gen: { component: 'ExampleGen', outputs: { examples: { type: 'Examples', dir: examples.outputDirs.examples! } } },
      statistics_gen: { component: 'StatisticsGen', outputs: { statistics: { type: 'ExampleStatistics', dir: statistics.outputDirs.statistics! } } },
      schema_gen: { component: 'SchemaGen', outputs: { schema: { type: 'Schema', dir: schema.outputDirs.schema! } } },
      example_validator: { component: 'ExampleValidator', outputs: { anomalies: { type: 'ExampleAnomalies', dir: anomalies.outputDirs.anomalies! } } },
    };
    expected = {
      statistics: await readFile(path.join(statistics.outputDirs.statistics!, STATISTICS_REPORT_FILE_NAME)),
      anomalies: await readFile(path.join(anomalies.outputDirs.anomalies!, ANOMALIES_REPORT_FILE_NAME)),
    };
    fileHome = await tempDir('report-file');
    fileRoot = path.join(fileHome, 'artifacts');
    const store = await openArtifactStore(`file://${fileRoot}`);
    await recordRun(fileHome, store, runId, nodes);
    await store.close();
  });

  const report = (args: string[], env: Record<string, string>, cwd = fileHome): Promise<CliResult> => runCli(['report', ...args], { cwd, env });
  const fileEnv = () => ({ MLPIPE_HOME: fileHome });
  const lines = (r: CliResult) => r.stdout.split('\n').filter(Boolean);

  it('file:// store: the reports inside the store, in node order, by run id or workflow id; --json names node, output and file', async () => {
    const r = await report([runId], fileEnv());
    assert.equal(r.code, 0, describeResult(['report', runId], r));
    const want = [
      path.join(fileRoot, outputKey(PIPELINE, runId, 'statistics_gen', 'statistics'), STATISTICS_REPORT_FILE_NAME),
      path.join(fileRoot, outputKey(PIPELINE, runId, 'example_validator', 'anomalies'), ANOMALIES_REPORT_FILE_NAME),
    ];
    assert.deepEqual(lines(r), want);
    assert.deepEqual([await readFile(want[0]!), await readFile(want[1]!)], [expected.statistics, expected.anomalies]);
    assert.equal(r.stderr, '');

    const byWorkflow = await report([`wf-${runId}`], fileEnv());
    assert.deepEqual(lines(byWorkflow), want, describeResult(['report', `wf-${runId}`], byWorkflow));
    const json = await report([runId, '--json'], fileEnv());
    assert.deepEqual(
      (JSON.parse(json.stdout) as Array<Record<string, string>>).map((x) => [x.node, x.output, x.file, x.path]),
      [
        ['statistics_gen', 'statistics', STATISTICS_REPORT_FILE_NAME, want[0]],
        ['example_validator', 'anomalies', ANOMALIES_REPORT_FILE_NAME, want[1]],
      ],
    );
  });

  it('s3:// store: downloaded (and checked against the manifest) into MLPIPE_HOME/cache, byte for byte what the executors wrote', async () => {
    const minio = await testMinio();
    const s3: S3Settings = { endpoint: minio.endpoint, accessKey: minio.accessKey, secretKey: minio.secretKey, region: 'us-east-1' };
    const home = await tempDir('report-s3');
    const root = `s3://report-${randomUUID().slice(0, 8)}/art`;
    const store = await openArtifactStore(root, s3, { cacheDir: await tempDir('report-s3-writer') });
    const s3Run = `run-${randomUUID().slice(0, 8)}`;
    await recordRun(home, store, s3Run, nodes);
    await store.close();
    const env = { MLPIPE_HOME: home, MLPIPE_ARTIFACT_ROOT: root, MLPIPE_S3_ENDPOINT: s3.endpoint, MLPIPE_S3_ACCESS_KEY: s3.accessKey, MLPIPE_S3_SECRET_KEY: s3.secretKey };
    const r = await report([s3Run], env, home);
    assert.equal(r.code, 0, describeResult(['report', s3Run], r));
    const paths = lines(r);
    assert.deepEqual(paths.map((p) => path.basename(p)), [STATISTICS_REPORT_FILE_NAME, ANOMALIES_REPORT_FILE_NAME]);
    assert.ok(paths.every((p) => p.startsWith(path.join(home, 'cache') + path.sep)), paths.join('\n'));
    assert.deepEqual([await readFile(paths[0]!), await readFile(paths[1]!)], [expected.statistics, expected.anomalies]);
    assert.ok(!r.stdout.includes(s3.secretKey) && !r.stderr.includes(s3.secretKey));
  });

  it('--open hands each report to xdg-open; without one, or when it fails, it says so and still prints the paths (exit 0)', async () => {
    const ok = await fakeOpener(0);
    const opened = await report([runId, '--open'], { ...fileEnv(), PATH: ok.bin });
    assert.equal(opened.code, 0, describeResult(['report', runId, '--open'], opened));
    assert.equal(opened.stderr, '');
    assert.deepEqual((await readFile(ok.log, 'utf8')).split('\n').filter(Boolean).sort(), lines(opened).sort());

    const none = await report([runId, '--open'], { ...fileEnv(), PATH: await tempDir('empty-path') });
    assert.equal(none.code, 0, describeResult(['report', runId, '--open'], none));
    assert.equal(lines(none).length, 2);
    assert.match(none.stderr, /^mlpipe: not opened: no (xdg-)?open on PATH to open a browser with; open the files above in a browser\n$/);

    const failing = await fakeOpener(3);
    const failed = await report([runId, '--open'], { ...fileEnv(), PATH: failing.bin });
    assert.equal(failed.code, 0, describeResult(['report', runId, '--open'], failed));
    assert.match(failed.stderr, /not opened: .*open .*statistics\.html exited with 3: xdg-open: no method available/);
  });

  it('an unknown run (exit 2), a run without reports (exit 1), artifacts outside the configured store (exit 2): one line each', async () => {
    const unknown = await report(['no-such-run'], fileEnv());
    assert.equal(unknown.code, 2, describeResult(['report', 'no-such-run'], unknown));
    assert.equal(unknown.stderr, "mlpipe: no run 'no-such-run' in the metadata store (try `mlpipe runs list`)\n");

    const store = await openArtifactStore(`file://${fileRoot}`);
    const bare = `run-${randomUUID().slice(0, 8)}`;
    await recordRun(fileHome, store, bare, { example_gen: nodes.example_gen! });
    await store.close();
    const none = await report([bare], fileEnv());
    assert.equal(none.code, 1, describeResult(['report', bare], none));
    assert.match(none.stderr, new RegExp(`^mlpipe: run '${bare}' has no HTML reports`));
    assert.equal(none.stdout, '');

    const elsewhere = path.join(await tempDir('other-root'), 'artifacts');
    await mkdir(elsewhere, { recursive: true });
    const moved = await report([runId], { ...fileEnv(), MLPIPE_ARTIFACT_ROOT: `file://${elsewhere}` });
    assert.equal(moved.code, 2, describeResult(['report', runId], moved));
    assert.match(moved.stderr, new RegExp(`outside the configured artifact store file://${elsewhere}: point MLPIPE_ARTIFACT_ROOT at the store the run used\\n$`));
  });
});
