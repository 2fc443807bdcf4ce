import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeModelVersion } from '../../bench/serving/models';
import { openMetadataStore } from '../../artifacts/metadata/metadata-store';
import { s3Client, type S3Settings } from '../../artifacts/s3-client';
import { Evaluator } from '../../components/evaluator/spec';
import { InfraValidator } from '../../components/infra-validator/spec';
import { Pusher } from '../../components/pusher/spec';
import { ServingSignatureSchema } from '../../components/trainer/serving-graph';
import { UserInputError } from '../../dsl/executor';
import { runExecutorForTest } from '../support/executor-harness';
import { testMinio } from '../support/servers';
import { tempDir } from '../support/tmp';
import { postJson } from '../serving/serving-fixture';
import { servedPorts, serveProcess } from '../serving/serve-process';
import { penguinsServingModel } from './penguins-serving-model';
import { blessing, infraBlessing, servingModel, TRAINER_CONFIG, withEnv } from './pusher-fixture';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('Pusher', function () {
  this.timeout(60_000);
  let metadataUrl: string;
  let repoDir: string;

  beforeEach(async () => {
    metadataUrl = `sqlite://${path.join(await tempDir('pusher-metadata'), 'metadata.db')}`;
    repoDir = await tempDir('pusher-repo');
  });

  const push = (seed: Awaited<ReturnType<typeof servingModel>>, options: { repository?: string; s3Source?: string; env?: Record<string, string>; infra?: Awaited<ReturnType<typeof infraBlessing>>; blessed?: boolean } = {}) =>
    withEnv({ MLPIPE_METADATA_URL: metadataUrl, ...options.env }, async () =>
      runExecutorForTest(Pusher, {
        parameters: { repository: options.repository ?? `file://${repoDir}`, modelName: 'penguins', ...(options.s3Source ? { s3Source: options.s3Source } : {}) },
        inputs: { model: [seed.dir], blessing: [await blessing(options.blessed ?? true)], ...(options.infra ? { infraBlessing: [options.infra] } : {}) },
      }),
    );

  it('pushes to a file:// repository in the server layout, and does not push identical content again', async () => {
    const model = await servingModel(1);
    const first = await push(model);
    const props = first.result.properties!.pushedModel!;
    assert.equal(props.pushed, true);
    assert.equal(props.version, 1);
    assert.equal(props.repository, `file://${repoDir}`);
    // The server's layout: the serving graph byte for byte, config.json beside the versions named as the model.
    assert.equal(sha256(await readFile(path.join(repoDir, 'penguins/1/model.onnx'))), sha256(model.onnx));
    const config = JSON.parse(await readFile(path.join(repoDir, 'penguins/config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(config, { ...TRAINER_CONFIG, name: 'penguins' });
    const manifest = JSON.parse(await readFile(path.join(repoDir, 'penguins/1/_MLPIPE_VERSION.json'), 'utf8')) as { state: string; files: Array<{ path: string }> };
    assert.equal(manifest.state, 'published');
    assert.deepEqual(manifest.files.map((f) => f.path), ['model.onnx', 'push.json', 'serving-config.json']);
    const record = JSON.parse(await readFile(path.join(repoDir, 'penguins/1/push.json'), 'utf8')) as { lineage: { servingModel: { uri: string } }; evaluation: { metrics: Array<{ metric: string; value: number }> }; modelVersion: number };
    assert.equal(record.modelVersion, 1);
    assert.equal(record.lineage.servingModel.uri, `file://${model.dir}`);
    assert.deepEqual(record.evaluation.metrics.map((m) => [m.metric, m.value]), [['accuracy', 0.93]]);
    assert.deepEqual(JSON.parse(await readFile(path.join(first.outputDirs.pushedModel!, 'push.json'), 'utf8')), record);

    const again = await push(model);
    assert.equal(again.result.properties!.pushedModel!.pushed, false);
    assert.equal(again.result.properties!.pushedModel!.version, 1);
    assert.match(String(again.result.summary!.said), /already serving version 1\b/);
    const metadata = await openMetadataStore(metadataUrl);
    try {
      assert.deepEqual((await metadata.listModelVersions()).map((v) => [v.model, v.version, v.state]), [['penguins', 1, 'published']]);
    } finally {
      await metadata.close();
    }

    const other = await push(await servingModel(2));
    assert.equal(other.result.properties!.pushedModel!.version, 2);
  });

  it("uses the InfraBlessing's config.json when wired, and refuses a model it does not bless", async () => {
    const model = await servingModel(3);
    await push(model, { infra: await infraBlessing(true) });
    const config = JSON.parse(await readFile(path.join(repoDir, 'penguins/config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(config.model_warmup, []);
    await assert.rejects(push(await servingModel(4), { infra: await infraBlessing(false) }), (err: Error) => err instanceof UserInputError && /InfraBlessing .* does not bless the model/.test(err.message));
  });

  it('refuses an unblessed model, naming the blessing and its verdict', async () => {
    await assert.rejects(
      push(await servingModel(5), { blessed: false }),
      (err: Error) => err instanceof UserInputError && /ModelBlessing file:\/\/\S+ does not bless the model \(not blessed: accuracy 0\.41 < 0\.9\)/.test(err.message),
    );
    const metadata = await openMetadataStore(metadataUrl);
    try {
      assert.deepEqual(await metadata.listModelVersions(), []);
    } finally {
      await metadata.close();
    }
  });

  it('refuses a blessing of another model, and a repository that is neither file:// nor s3://', async () => {
    const model = await servingModel(6);
    const other = { ...(await blessing(true)), properties: { blessed: true, model_content_hash: 'f'.repeat(64) } };
    await withEnv({ MLPIPE_METADATA_URL: metadataUrl }, () =>
      assert.rejects(
        runExecutorForTest(Pusher, { parameters: { repository: `file://${repoDir}`, modelName: 'penguins' }, inputs: { model: [model.dir], blessing: [other] } }),
        /blesses the ServingModel with content f{64}, not file:\/\//,
      ),
    );
    await assert.rejects(
      runExecutorForTest(Pusher, { parameters: { repository: repoDir, modelName: 'penguins' }, inputs: { model: [model.dir], blessing: [await blessing(true)] } }),
      /repository: expected file:\/\/\/absolute\/path or s3:\/\/bucket\[\/prefix\]/,
    );
  });

  it('never overwrites a version put in the repository by other means', async () => {
    const handMade = await servingModel(11);
    await writeModelVersion(repoDir, 'penguins', 7, handMade.onnx, { max_batch_size: 8 });
    const model = await servingModel(12);
    const run = await push(model);
    assert.equal(run.result.properties!.pushedModel!.version, 8);
    assert.equal(sha256(await readFile(path.join(repoDir, 'penguins/7/model.onnx'))), sha256(handMade.onnx));
    assert.equal(sha256(await readFile(path.join(repoDir, 'penguins/8/model.onnx'))), sha256(model.onnx));
  });

  it('two concurrent pushes take different versions', async () => {
    const [a, b] = await Promise.all([servingModel(7), servingModel(8)]);
    const runs = await Promise.all([push(a), push(b)]);
    const versions = runs.map((r) => r.result.properties!.pushedModel!.version).sort();
    assert.deepEqual(versions, [1, 2]);
    // Each version directory holds the model its push reported.
    for (const [run, model] of [[runs[0]!, a], [runs[1]!, b]] as const) {
      const version = run.result.properties!.pushedModel!.version;
      assert.equal(sha256(await readFile(path.join(repoDir, `penguins/${version}/model.onnx`))), sha256(model.onnx));
    }
  });

  it('the metadata store hands out each version number once to many writers on separate connections', async () => {
    const stores = await Promise.all([openMetadataStore(metadataUrl), openMetadataStore(metadataUrl), openMetadataStore(metadataUrl)]);
    try {
      const allocations = await Promise.all(
        Array.from({ length: 30 }, (_, i) => stores[i % 3]!.allocateModelVersion({ repository: 'file:///r', model: 'm', servedContentHash: String(i), details: { kind: 'push' } })),
      );
      assert.deepEqual(allocations.map((a) => a.version).sort((x, y) => x - y), Array.from({ length: 30 }, (_, i) => i + 1));
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('pushes to an s3:// repository (MinIO) with a named S3 source', async () => {
    const minio = await testMinio();
    const settings: S3Settings = { endpoint: minio.endpoint, accessKey: minio.accessKey, secretKey: minio.secretKey, region: 'us-east-1' };
    const bucket = `push-${randomUUID().slice(0, 8)}`;
    await s3Client(settings).makeBucket(bucket);
    const env = { MLPIPE_S3_SOURCE_MODELS_ENDPOINT: settings.endpoint, MLPIPE_S3_SOURCE_MODELS_ACCESS_KEY: settings.accessKey, MLPIPE_S3_SOURCE_MODELS_SECRET_KEY: settings.secretKey, MLPIPE_S3_SOURCE_MODELS_REGION: settings.region };
    const model = await servingModel(9);
    const run = await push(model, { repository: `s3://${bucket}/serving/`, s3Source: 'models', env });
    assert.equal(run.result.properties!.pushedModel!.version, 1);
    assert.equal(run.result.properties!.pushedModel!.repository, `s3://${bucket}/serving`);
    const client = s3Client(settings);
    const read = async (key: string) => Buffer.concat(await (await client.getObject(bucket, key)).toArray());
    assert.equal(sha256(await read('serving/penguins/1/model.onnx')), sha256(model.onnx));
    assert.equal((JSON.parse((await read('serving/penguins/config.json')).toString()) as { name: string }).name, 'penguins');
    assert.equal((JSON.parse((await read('serving/penguins/1/_MLPIPE_VERSION.json')).toString()) as { state: string }).state, 'published');
    await assert.rejects(push(await servingModel(10), { repository: `s3://${bucket}/serving`, s3Source: 'elsewhere', env }), /no S3 source 'elsewhere' is configured/);
  });
});

describe('Pusher after the real chain (penguins: Trainer → Evaluator → InfraValidator), served by mlpipe serve', function () {
  this.timeout(120_000);

  it("publishes the blessed model with the InfraValidator's warm-up config, and the server answers a raw penguin with its species", async () => {
    const { examples, servingModel: model } = await penguinsServingModel(10);
    const evaluation = await runExecutorForTest(Evaluator, {
      parameters: { label: 'Species', thresholds: [{ metric: 'accuracy', value: { lower: 0 } }], bootstrap: false, featureImportance: false, baseline: false },
      inputs: { examples: [examples], model: [model] },
    });
    const infra = await runExecutorForTest(InfraValidator, { parameters: { rows: 16, latencyRequests: 5 }, inputs: { examples: [examples], model: [model] } });
    const repoDir = await tempDir('pusher-chain-repo');
    const metadataUrl = `sqlite://${path.join(await tempDir('pusher-chain-metadata'), 'metadata.db')}`;
    const pushed = await withEnv({ MLPIPE_METADATA_URL: metadataUrl }, () =>
      runExecutorForTest(Pusher, {
        parameters: { repository: `file://${repoDir}`, modelName: 'penguins' },
        inputs: { model: [model], blessing: [evaluation.artifact('blessing')], infraBlessing: [infra.artifact('infraBlessing')] },
      }),
    );
    assert.equal(pushed.result.properties!.pushedModel!.version, 1);
    // The InfraValidator's config, its warm-up files named by their content as the repository holds them.
    const infraDir = infra.outputDirs.infraBlessing!;
    const warmConfig = JSON.parse(await readFile(path.join(infraDir, 'config.json'), 'utf8')) as { model_warmup: Array<{ inputs: Record<string, { input_data_file: string }> }> };
    for (const warmup of warmConfig.model_warmup) {
      for (const input of Object.values(warmup.inputs)) input.input_data_file = `${sha256(await readFile(path.join(infraDir, 'warmup', input.input_data_file))).slice(0, 16)}-${input.input_data_file}`;
    }
    assert.deepEqual(JSON.parse(await readFile(path.join(repoDir, 'penguins/config.json'), 'utf8')), { ...warmConfig, name: 'penguins' });

    const signature = ServingSignatureSchema.parse(JSON.parse(await readFile(path.join(model.localDir, 'signature.json'), 'utf8')));
    const gentoo: Record<string, string | number> = { Island: 'Biscoe', 'Beak Length (mm)': 48.6, 'Beak Depth (mm)': 16, 'Flipper Length (mm)': 230, 'Body Mass (g)': 5800, Sex: 'MALE' };
    const datatype = { float32: 'FP32', int64: 'INT64', string: 'BYTES' } as const;
    const server = serveProcess(['--repository', repoDir, '--http-port', '0', '--grpc-port', '0', '--poll-interval-ms', '0']);
    try {
      const { http } = await servedPorts(server);
      const reply = await postJson(`http://127.0.0.1:${http}/v2/models/penguins/infer`, {
        inputs: signature.inputs.map((spec) => ({ name: spec.name, shape: [1], datatype: datatype[spec.dtype], data: [gentoo[spec.name]!] })),
      });
      assert.equal(reply.status, 200, reply.body.toString());
      const answer = reply.json as { model_version: string; outputs: Array<{ name: string; data: number[] }> };
      assert.equal(answer.model_version, '1');
      const classId = answer.outputs.find((o) => o.name === 'class_ids')!.data[0]!;
      // Only Gentoo penguins have flippers this long and live on Biscoe at this weight: a trained model says so.
      assert.equal(signature.classes![classId], 'Gentoo', `class id ${classId} of ${JSON.stringify(signature.classes)}`);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});
