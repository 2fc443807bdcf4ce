import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { FileArtifactStore } from '../../artifacts/file-store';
import { buildIdentityModel, OnnxElementType, writeModelVersion } from '../../bench/serving/models';
import { withWarmupRows, writeWarmupFiles } from '../../components/infra-validator/warmup-files';
import { putWarmupFiles, repositoryConfig, warmupUploads } from '../../components/pusher/repository';
import type { ServingSignature } from '../../components/trainer/serving-graph';
import { parseModelConfig } from '../../serving/model-config';
import { postJson, startTestServer } from '../serving/serving-fixture';
import { tempDir } from '../support/tmp';

// Raw column names become the serving inputs' names; a CSV header such as `speed/kmh` is ordinary.
const INPUT = 'speed/kmh';
const signature: ServingSignature = {
  version: 1,
  task: 'regression',
  label: null,
  inputs: [{ name: INPUT, dtype: 'float32', shape: [-1] }],
  outputs: [{ name: 'out', dtype: 'float32', shape: [-1] }],
};
const trainedConfig = parseModelConfig('m', JSON.stringify({ max_batch_size: 8, input: [{ name: INPUT, data_type: 'TYPE_FP32', dims: [] }] }));

describe('InfraValidator warm-up files of an input whose name holds a path separator', () => {
  it('are written as one file each in warmup/, which the server reads back as that input\'s sample', async () => {
    const { config, files } = withWarmupRows(trainedConfig, signature, [Float32Array.of(88.5)], 1);
    const file = config.model_warmup![0]!.inputs[INPUT]!.input_data_file!;
    assert.doesNotMatch(file, /[/\\]/, 'a file name, not a path');
    const infraDir = await tempDir('review-warmup-names');
    await writeWarmupFiles(infraDir, files);
    assert.deepEqual(await readFile(path.join(infraDir, 'warmup', file)), Buffer.from(Float32Array.of(88.5).buffer));

    const model = buildIdentityModel([{ name: INPUT, elemType: OnnxElementType.FLOAT, dims: [] }]);
    const t = await startTestServer(async (repo) => {
      const store = await FileArtifactStore.open(`file://${repo}`);
      const uploads = await warmupUploads(infraDir);
      assert.equal(uploads.length, 1);
      try {
        await putWarmupFiles(store, 'm', uploads);
      } finally {
        await store.close();
      }
      await writeModelVersion(repo, 'm', 1, model, JSON.parse(repositoryConfig(JSON.stringify(config), 'm', 'test config', uploads).toString('utf8')) as typeof config);
    });
    try {
      const index = (await postJson(`${t.http}/v2/repository/index`, {})).json as Array<{ state: string; reason: string }>;
      assert.deepEqual(index.map((e) => [e.state, e.reason]), [['READY', '']]);
    } finally {
      await t.stop();
    }
  });
});
