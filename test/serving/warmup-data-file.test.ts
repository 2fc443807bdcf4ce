import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { openArtifactStore } from '../../artifacts/open-store';
import { writeModelVersion } from '../../bench/serving/models';
import { attribute, encodeModel, floatInitializer, OnnxElementType, tensorValueInfo } from '../../onnx/graph';
import { tensorDataToRaw } from '../../serving/datatypes';
import { ModelConfigError, parseModelConfig } from '../../serving/model-config';
import { startModelServer } from '../../serving/server';
import { decodeWarmupFile, warmupFeeds } from '../../serving/warmup-data';
import { testMinio } from '../support/servers';
import { tempDir } from '../support/tmp';
import { postJson, request, startTestServer } from './serving-fixture';

/**
 * y = x * ceil(1 / min(x)), through Range(0, 1, min(x)): onnxruntime refuses a Range whose delta is 0,
 * so a warm-up batch holding a zero (zero_data, or a file sample not repeated over the whole batch)
 * fails the load, and only the file's own non-zero values warm it up.
 */
function rejectsZerosModel(): Uint8Array {
  return encodeModel(
    {
      name: 'rejects_zeros',
      node: [
        { opType: 'ReduceMin', input: ['x'], output: ['smallest'], attribute: [attribute.int('keepdims', 0)] },
        { opType: 'Range', input: ['zero', 'one', 'smallest'], output: ['steps'] },
        { opType: 'Size', input: ['steps'], output: ['count'] },
        { opType: 'Cast', input: ['count'], output: ['factor'], attribute: [attribute.int('to', OnnxElementType.FLOAT)] },
        { opType: 'Mul', input: ['x', 'factor'], output: ['y'] },
      ],
      initializer: [floatInitializer('zero', [], new Float32Array([0])), floatInitializer('one', [], new Float32Array([1]))],
      input: [tensorValueInfo('x', OnnxElementType.FLOAT, ['batch'])],
      output: [tensorValueInfo('y', OnnxElementType.FLOAT, ['batch'])],
    },
    { producerName: 'mlpipe-test' },
  );
}

const fp32 = (values: number[]) => tensorDataToRaw('FP32', Float32Array.from(values));
const warmupConfig = (input: Record<string, unknown>, batchSize = 3) => ({
  max_batch_size: 8,
  model_warmup: [{ name: 'real rows', batch_size: batchSize, count: 2, inputs: { x: { data_type: 'TYPE_FP32', dims: [], ...input } } }],
});

async function writeModel(repo: string, model: string, config: Record<string, unknown>, warmup: Record<string, Buffer> = {}): Promise<void> {
  await writeModelVersion(repo, model, 1, rejectsZerosModel(), config);
  await mkdir(path.join(repo, model, 'warmup'), { recursive: true });
  for (const [file, bytes] of Object.entries(warmup)) await writeFile(path.join(repo, model, 'warmup', file), bytes);
}

interface IndexEntry {
  name: string;
  version: string;
  state: string;
  reason: string;
}
const indexOf = async (http: string) => (await postJson(`${http}/v2/repository/index`, {})).json as IndexEntry[];

describe('serving: model_warmup input_data_file (a sample from the model warmup/ directory)', function () {
  this.timeout(60_000);

  it('warms each version with the file sample repeated to batch_size, where zeros would fail the load', async () => {
    const t = await startTestServer(async (repo) => {
      await writeModel(repo, 'from_file', warmupConfig({ input_data_file: 'x_sample' }), { x_sample: fp32([0.5]) });
      await writeModel(repo, 'from_zeros', warmupConfig({ zero_data: true }));
    });
    try {
      const index = await indexOf(t.http);
      assert.deepEqual(
        index.map((e) => [e.name, e.state]),
        [
          ['from_file', 'READY'],
          ['from_zeros', 'UNAVAILABLE'],
        ],
      );
      assert.match(index[1]!.reason, /delta in Range operator can not be zero/, 'the model cannot warm up on zeros: the file sample is what made from_file load');
      const reply = await postJson(`${t.http}/v2/models/from_file/infer`, { inputs: [{ name: 'x', shape: [2], datatype: 'FP32', data: [0.25, 1] }] });
      assert.equal(reply.status, 200, reply.body.toString());
      assert.deepEqual((reply.json as { outputs: Array<{ data: number[] }> }).outputs[0]!.data, [0.25 * 4, 1 * 4]);
      const config = (await request(`${t.http}/v2/models/from_file/config`)).json as { model_warmup: unknown };
      assert.deepEqual(config.model_warmup, [
        { name: 'real rows', batch_size: 3, count: 2, inputs: { x: { data_type: 'TYPE_FP32', dims: [], input_data_file: 'x_sample' } } },
      ]);
    } finally {
      await t.stop();
    }
  });

  it('fails the load of a version whose file is not one sample, naming model, warm-up, input, file and the byte counts', async () => {
    const t = await startTestServer(async (repo) => {
      await writeModel(repo, 'two_samples', warmupConfig({ input_data_file: 'x_rows' }), { x_rows: fp32([0.5, 0.25]) });
      await writeModel(repo, 'no_file', warmupConfig({ input_data_file: 'absent' }));
    });
    try {
      const reasons = Object.fromEntries((await indexOf(t.http)).map((e) => [e.name, e.reason]));
      assert.equal(
        reasons['two_samples'],
        "model 'two_samples' config.json: model_warmup[0] 'real rows' input 'x': input_data_file two_samples/warmup/x_rows: " +
          'holds 8 bytes, expected 4 (one sample of dims [] in TYPE_FP32; batch_size repeats it)',
      );
      assert.match(reasons['no_file']!, /^model 'no_file' model_warmup: cannot read input_data_file no_file\/warmup\/absent: ENOENT/);
      const infer = await postJson(`${t.http}/v2/models/two_samples/infer`, { inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }] });
      assert.notEqual(infer.status, 200, 'a version that failed its warm-up takes no traffic');
    } finally {
      await t.stop();
    }
  });

  it('reads the file from an s3:// repository, and reloads the version when the file changes', async () => {
    const minio = await testMinio();
    const s3 = { endpoint: minio.endpoint, accessKey: minio.accessKey, secretKey: minio.secretKey, region: 'us-east-1' };
    const root = `s3://warmup-${randomUUID().slice(0, 8)}/models`;
    const pusher = await openArtifactStore(root, s3, { cacheDir: await tempDir('s3-warmup') });
    await pusher.putObject('m/config.json', JSON.stringify(warmupConfig({ input_data_file: 'x_sample' })));
    await pusher.putObject('m/warmup/x_sample', fp32([0.5]));
    await pusher.putObject('m/1/model.onnx', Buffer.from(rejectsZerosModel()));
    const server = await startModelServer({ repository: root, s3, httpPort: 0, grpcPort: 0, pollIntervalMs: 0 }, () => undefined);
    const http = `http://127.0.0.1:${server.httpPort}`;
    try {
      assert.deepEqual((await indexOf(http)).map((e) => [e.name, e.state]), [['m', 'READY']]);
      await pusher.putObject('m/warmup/x_sample', fp32([0]));
      await server.repository.pollNow();
      const [entry] = await indexOf(http);
      assert.equal(entry!.state, 'READY', 'the version loaded before goes on serving');
      assert.match(entry!.reason, /^serving the files loaded before, as reloading failed: .*delta in Range operator can not be zero/);
    } finally {
      await server.stop();
      await pusher.close();
    }
  });

  it('refuses a warm-up input with two sources or a file outside the warmup directory, naming the field', () => {
    const refused = (input: Record<string, unknown>, message: RegExp) =>
      assert.throws(() => parseModelConfig('m', JSON.stringify(warmupConfig(input))), (err: unknown) => err instanceof ModelConfigError && message.test(err.message));
    refused({ zero_data: true, input_data_file: 'x' }, /field model_warmup\[0\]\.inputs\.x: set exactly one of zero_data, random_data \(true\) or input_data_file/);
    refused({ input_data_file: '../1/model.onnx' }, /field model_warmup\[0\]\.inputs\.x\.input_data_file: expected a file name in the model's warmup directory \(no path\)/);
  });

  it("decodes BYTES samples (a 4-byte little-endian length, then the bytes) and repeats them to the batch", () => {
    const raw = tensorDataToRaw('BYTES', ['Adelie', 'Torgersen']);
    const sample = decodeWarmupFile('p', 'BYTES', [2], raw, 'p warm-up');
    const [feed] = warmupFeeds({ name: 'w', batchSize: 3, count: 1, inputs: [{ name: 's', datatype: 'BYTES', dims: [2], values: { kind: 'file', file: 'f', sample } }] });
    assert.deepEqual(feed, { name: 's', type: 'string', dims: [3, 2], data: ['Adelie', 'Torgersen', 'Adelie', 'Torgersen', 'Adelie', 'Torgersen'] });
    assert.throws(
      () => decodeWarmupFile('p', 'BYTES', [1], raw, 'p warm-up'),
      (err: unknown) => err instanceof ModelConfigError && err.message === 'p warm-up: 13 bytes left after 1 BYTES elements (one sample of dims [1] in TYPE_STRING)',
    );
  });
});
