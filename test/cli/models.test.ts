import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { SMALL_MLP } from '../../bench/serving/models';
import { openMetadataStore } from '../../artifacts/metadata/metadata-store';
import type { ModelVersionRecord } from '../../artifacts/metadata/model-versions';
import { Pusher } from '../../components/pusher/spec';
import { blessing, servingModel, withEnv } from '../components/pusher-fixture';
import { runExecutorForTest } from '../support/executor-harness';
import { tempDir } from '../support/tmp';
import { assertClose, mlpReference } from '../serving/mlp-reference';
import { postJson, waitFor } from '../serving/serving-fixture';
import { servedPorts, serveProcess } from '../serving/serve-process';
import { describeResult, parseJsonStdout, runCli } from './cli-process';

const ROW = [5.1, 3.5, 1.4, 0.2];

describe('mlpipe models: list, show, rollback, with a running mlpipe serve', function () {
  this.timeout(90_000);

  it('the server serves each pushed version, and the earlier one again after a rollback', async () => {
    const cwd = await tempDir('models-cli');
    const repoDir = await tempDir('models-repo');
    const env = { MLPIPE_METADATA_URL: `sqlite://${path.join(cwd, 'metadata.db')}` };
    const models = { 1: await servingModel(1), 2: await servingModel(2) };
    const push = (seed: 1 | 2) =>
      withEnv(env, async () =>
        runExecutorForTest(Pusher, { parameters: { repository: `file://${repoDir}`, modelName: 'penguins' }, inputs: { model: [models[seed].dir], blessing: [await blessing(true)] } }),
      );
    const cli = async (args: string[], expectedCode = 0) => {
      const r = await runCli(args, { cwd, env });
      assert.equal(r.code, expectedCode, describeResult(args, r));
      return r;
    };

    await push(1);
    const server = serveProcess(['--repository', repoDir, '--http-port', '0', '--grpc-port', '0', '--poll-interval-ms', '100']);
    try {
      const { http } = await servedPorts(server);
      let last = { version: 0, outputs: [] as number[] };
      const ask = async () => {
        const reply = await postJson(`http://127.0.0.1:${http}/v2/models/penguins/infer`, { inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: ROW }] });
        if (reply.status !== 200) return last;
        const json = reply.json as { model_version: string; outputs: Array<{ data: number[] }> };
        last = { version: Number(json.model_version), outputs: json.outputs[0]!.data };
        return last;
      };
      // Each seed's weights answer the row otherwise: which model answered is checked by its numbers, not only its version.
      const servedBy = async (version: number, seed: number) => {
        await waitFor(async () => (await ask()).version === version, 30_000, `version ${version} served (last answer: version ${last.version})`);
        assertClose(last.outputs, mlpReference({ ...SMALL_MLP, seed })(ROW), `version ${version}: model of seed ${seed}`);
      };
      await servedBy(1, 1);
      const second = await push(2);
      await servedBy(2, 2);
      // What the control step records of a Pusher node in a run: its execution and PushedModel output.
      const metadata = await openMetadataStore(env.MLPIPE_METADATA_URL);
      try {
        const execution = await metadata.startExecution({ pipeline: 'penguins', runId: 'run-2', nodeId: 'Pusher', component: 'Pusher', componentVersion: '1', fingerprint: 'a'.repeat(64) });
        const pushedModel = { type: 'PushedModel', uri: pathToFileURL(second.outputDirs.pushedModel!).href, contentHash: 'b'.repeat(64), properties: second.result.properties!.pushedModel! };
        await metadata.finishExecution(execution, { state: 'succeeded', outputs: { pushedModel: [pushedModel] } });
      } finally {
        await metadata.close();
      }

      const listed = await cli(['models', 'list']);
      assert.match(listed.stdout, new RegExp(`file://${repoDir}\\s+penguins\\s+2\\s+published\\s+\\S+\\s+penguins/run-2\\s+[0-9a-f]{12}\\s+file://${models[2].dir}`));
      assert.match(listed.stdout, new RegExp(`penguins\\s+1\\s+published\\s+\\S+\\s+-\\s+[0-9a-f]{12}\\s+file://${models[1].dir}`));
      const shown = await cli(['models', 'show', 'penguins', '--version', '1']);
      assert.match(shown.stdout, /^penguins version 1 in file:\/\//);
      assert.match(shown.stdout, new RegExp(`model:\\s+file://${models[1].dir} `));
      assert.match(shown.stdout, /accuracy \(overall\): 0\.93/);
      assert.match((await cli(['models', 'show', 'penguins', '--version', '2'])).stdout, /run:\s+penguins\/run-2\n/);

      const rolled = await cli(['models', 'rollback', 'penguins', '--to', '1']);
      assert.match(rolled.stdout, /version 3 now serves version 1's model/);
      await servedBy(3, 1);
      const versions = parseJsonStdout(['models', 'list', '--json'], await cli(['models', 'list', '--json', '--repository', `file://${repoDir}/`])) as ModelVersionRecord[];
      assert.deepEqual(versions.map((v) => [v.version, v.details.kind, v.details.rollbackOf ?? null]), [[3, 'rollback', 1], [2, 'push', null], [1, 'push', null]]);
      assert.equal(versions[0]!.servedContentHash, versions[2]!.servedContentHash);

      // The model rolled back to is what serves now: pushing it again changes nothing.
      const again = await push(1);
      assert.equal(again.result.properties!.pushedModel!.pushed, false);
      assert.match(String(again.result.summary!.said), /already serving version 3\b/);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }

    const missing = await cli(['models', 'rollback', 'penguins', '--to', '9'], 2);
    assert.match(missing.stderr, /has no published version 9; it has 3, 2, 1/);
    const newest = await cli(['models', 'rollback', 'penguins', '--to', '3'], 2);
    assert.match(newest.stderr, /version 3 of 'penguins' is already the newest/);
    const unknown = await cli(['models', 'show', 'nope'], 2);
    assert.match(unknown.stderr, /no published version of model 'nope'/);
  });
});
