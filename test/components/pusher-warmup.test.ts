import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Pusher } from '../../components/pusher/spec';
import { startModelServer } from '../../serving/server';
import { runExecutorForTest, type TestArtifact } from '../support/executor-harness';
import { tempDir } from '../support/tmp';
import { blessing, servingModel, TRAINER_CONFIG } from './pusher-fixture';

interface WarmupConfig {
  model_warmup: Array<{ inputs: Record<string, { input_data_file: string }> }>;
}

/** An InfraBlessing whose warm-up request reads one row of the fixture MLP's 4 floats from warmup/row0_input. */
async function infraWithRow(row: number[]): Promise<TestArtifact> {
  const dir = await tempDir('infra-warmup-row');
  const warmup = [{ name: 'row_0', batch_size: 1, count: 1, inputs: { input: { data_type: 'TYPE_FP32', dims: [4], input_data_file: 'row0_input' } } }];
  await writeFile(path.join(dir, 'config.json'), JSON.stringify({ ...TRAINER_CONFIG, model_warmup: warmup }));
  await mkdir(path.join(dir, 'warmup'));
  await writeFile(path.join(dir, 'warmup', 'row0_input'), Buffer.from(Float32Array.from(row).buffer));
  await writeFile(path.join(dir, 'INFRA_BLESSED'), '');
  return { localDir: dir, properties: { blessed: true } };
}

describe("Pusher: the InfraValidator's warm-up files in the repository every version shares", function () {
  this.timeout(60_000);

  it('each push keeps its own rows under content-addressed names, so an earlier version (a rollback) still warms with its own; the server loads the newest', async () => {
    const work = await tempDir('pusher-warmup');
    const repoDir = path.join(work, 'models');
    const modelRegistry = { metadataUrl: `sqlite://${path.join(work, 'metadata.db')}`, s3Sources: { named: {} } };
    const rows = [
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ];
    for (const [k, row] of rows.entries()) {
      const model = await servingModel(k + 1);
      const pushed = await runExecutorForTest(Pusher, {
        parameters: { repository: `file://${repoDir}`, modelName: 'penguins' },
        inputs: { model: [model.dir], blessing: [await blessing(true)], infraBlessing: [await infraWithRow(row)] },
        modelRegistry,
      });
      assert.equal(pushed.result.properties?.pushedModel?.version, k + 1);
    }

    const warmupDir = path.join(repoDir, 'penguins', 'warmup');
    assert.equal((await readdir(warmupDir)).length, 2, 'one file per distinct row, none overwritten');
    const rowOf = async (configFile: string) => {
      const config = JSON.parse(await readFile(configFile, 'utf8')) as WarmupConfig;
      const file = config.model_warmup[0]!.inputs.input!.input_data_file;
      assert.match(file, /^[0-9a-f]{16}-row0_input$/);
      return [...new Float32Array(new Uint8Array(await readFile(path.join(warmupDir, file))).buffer)];
    };
    // serving-config.json is what a rollback to that version publishes again.
    assert.deepEqual(await rowOf(path.join(repoDir, 'penguins', '1', 'serving-config.json')), rows[0]);
    assert.deepEqual(await rowOf(path.join(repoDir, 'penguins', '2', 'serving-config.json')), rows[1]);
    assert.deepEqual(await rowOf(path.join(repoDir, 'penguins', 'config.json')), rows[1]);

    const server = await startModelServer({ repository: `file://${repoDir}`, httpPort: 0, grpcPort: 0, pollIntervalMs: 0 }, () => undefined);
    try {
      assert.deepEqual(server.repository.servingVersions('penguins'), [2]);
    } finally {
      await server.stop();
    }
  });
});
