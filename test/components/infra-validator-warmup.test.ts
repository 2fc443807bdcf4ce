import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { FileArtifactStore } from '../../artifacts/file-store';
import { buildIdentityModel, OnnxElementType, writeModelVersion } from '../../bench/serving/models';
import { warmupFiles, withWarmupRows, writeWarmupFiles } from '../../components/infra-validator/warmup-files';
import { putWarmupFiles, repositoryConfig, warmupUploads } from '../../components/pusher/repository';
import type { ServingSignature } from '../../components/trainer/serving-graph';
import { parseModelConfig, type ModelConfig } from '../../serving/model-config';
import { postJson, startTestServer, type ServerUnderTest } from '../serving/serving-fixture';
import { tempDir } from '../support/tmp';

const signature: ServingSignature = {
  version: 1,
  task: 'regression',
  label: null,
  inputs: [
    { name: 'mass', dtype: 'float32', shape: [-1] },
    { name: 'year', dtype: 'int64', shape: [-1] },
    { name: 'island', dtype: 'string', shape: [-1] },
  ],
  outputs: [{ name: 'mass_out', dtype: 'float32', shape: [-1] }],
};
const trainedConfig = parseModelConfig(
  'm',
  JSON.stringify({
    max_batch_size: 8,
    input: [
      { name: 'mass', data_type: 'TYPE_FP32', dims: [] },
      { name: 'year', data_type: 'TYPE_INT64', dims: [] },
      { name: 'island', data_type: 'TYPE_STRING', dims: [] },
    ],
  }),
);
const columns = [Float32Array.of(3750, NaN, 4100), BigInt64Array.of(2007n, 2008n, 2009n), ['Torgersen', '', 'Biscoe']];

/**
 * A server over a repository the Pusher's way filled: the InfraBlessing's warm-up files first, then
 * version 1 with config.json naming them as published.
 */
async function servedAsPushed(infraDir: string, model: Uint8Array, config: ModelConfig, files: number): Promise<ServerUnderTest> {
  return startTestServer(async (repo) => {
    const uploads = await warmupUploads(infraDir);
    assert.equal(uploads.length, files);
    const store = await FileArtifactStore.open(`file://${repo}`);
    try {
      await putWarmupFiles(store, 'm', uploads);
    } finally {
      await store.close();
    }
    await writeModelVersion(repo, 'm', 1, model, JSON.parse(repositoryConfig(JSON.stringify(config), 'm', 'test config', uploads).toString('utf8')) as ModelConfig);
  });
}

// Raw column names become the serving inputs' names; a CSV header such as `speed/kmh` is ordinary.
const SLASH_INPUT = 'speed/kmh';
const slashSignature: ServingSignature = {
  version: 1,
  task: 'regression',
  label: null,
  inputs: [{ name: SLASH_INPUT, dtype: 'float32', shape: [-1] }],
  outputs: [{ name: 'out', dtype: 'float32', shape: [-1] }],
};
const slashTrainedConfig = parseModelConfig('m', JSON.stringify({ max_batch_size: 8, input: [{ name: SLASH_INPUT, data_type: 'TYPE_FP32', dims: [] }] }));

/** A row's value in Triton's raw layout, written here independently of the component's encoder. */
function raw(value: number | bigint | string): Buffer {
  if (typeof value === 'number') return Buffer.from(Float32Array.of(value).buffer);
  if (typeof value === 'bigint') return Buffer.from(BigInt64Array.of(value).buffer);
  const text = Buffer.from(value, 'utf8');
  return Buffer.concat([Buffer.from(Uint32Array.of(text.length).buffer), text]);
}

describe('InfraValidator warm-up files, and the Pusher publishing them beside config.json', () => {
  it('writes one warm-up request per row, each input from a file holding that row, which a server over the published repository reads', async () => {
    const { config, files } = withWarmupRows(trainedConfig, signature, columns, 2);
    assert.deepEqual(config.model_warmup, [
      {
        name: 'infra_validator_row_0',
        batch_size: 1,
        count: 1,
        inputs: {
          mass: { data_type: 'TYPE_FP32', dims: [], input_data_file: 'row0_mass' },
          year: { data_type: 'TYPE_INT64', dims: [], input_data_file: 'row0_year' },
          island: { data_type: 'TYPE_STRING', dims: [], input_data_file: 'row0_island' },
        },
      },
      {
        name: 'infra_validator_row_1',
        batch_size: 1,
        count: 1,
        inputs: {
          mass: { data_type: 'TYPE_FP32', dims: [], input_data_file: 'row1_mass' },
          year: { data_type: 'TYPE_INT64', dims: [], input_data_file: 'row1_year' },
          island: { data_type: 'TYPE_STRING', dims: [], input_data_file: 'row1_island' },
        },
      },
    ]);

    const infraDir = await tempDir('infra-warmup');
    await writeWarmupFiles(infraDir, files);
    const listed = await warmupFiles(infraDir);
    assert.deepEqual(
      listed.map((f) => f.name),
      ['row0_island', 'row0_mass', 'row0_year', 'row1_island', 'row1_mass', 'row1_year'],
    );
    assert.deepEqual(await warmupFiles(await tempDir('infra-no-warmup')), [], 'an InfraBlessing without warm-up files has none to publish');

    const model = buildIdentityModel([
      { name: 'mass', elemType: OnnxElementType.FLOAT, dims: [] },
      { name: 'year', elemType: OnnxElementType.INT64, dims: [] },
      { name: 'island', elemType: OnnxElementType.STRING, dims: [] },
    ]);
    const t = await servedAsPushed(infraDir, model, config, 6);
    try {
      const index = (await postJson(`${t.http}/v2/repository/index`, {})).json as Array<{ state: string; reason: string }>;
      assert.deepEqual(index.map((e) => [e.state, e.reason]), [['READY', '']], 'the server read every warm-up file and found each one sample');
    } finally {
      await t.stop();
    }
    const expected: Record<string, Buffer> = {
      row0_mass: raw(3750),
      row0_year: raw(2007n),
      row0_island: raw('Torgersen'),
      row1_mass: raw(NaN),
      row1_year: raw(2008n),
      row1_island: raw(''),
    };
    const published = await readdir(path.join(t.repo, 'm', 'warmup'));
    for (const [name, bytes] of Object.entries(expected)) {
      const file = published.find((f) => f.endsWith(`-${name}`));
      assert.ok(file, `${name} among ${published.join(', ')}`);
      assert.deepEqual(await readFile(path.join(t.repo, 'm', 'warmup', file)), bytes, name);
    }
  });

  it('an input named with a path separator (a raw column `speed/kmh`) gets one file in warmup/, which the server reads back as its sample', async () => {
    const { config, files } = withWarmupRows(slashTrainedConfig, slashSignature, [Float32Array.of(88.5)], 1);
    const file = config.model_warmup![0]!.inputs[SLASH_INPUT]!.input_data_file!;
    assert.doesNotMatch(file, /[/\\]/, 'a file name, not a path');
    const infraDir = await tempDir('warmup-slash-name');
    await writeWarmupFiles(infraDir, files);
    assert.deepEqual(await readFile(path.join(infraDir, 'warmup', file)), Buffer.from(Float32Array.of(88.5).buffer));

    const model = buildIdentityModel([{ name: SLASH_INPUT, elemType: OnnxElementType.FLOAT, dims: [] }]);
    const t = await servedAsPushed(infraDir, model, config, 1);
    try {
      const index = (await postJson(`${t.http}/v2/repository/index`, {})).json as Array<{ state: string; reason: string }>;
      assert.deepEqual(index.map((e) => [e.state, e.reason]), [['READY', '']]);
    } finally {
      await t.stop();
    }
  });
});
