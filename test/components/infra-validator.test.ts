import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cp, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { INFRA_BLESSED_MARKER, INFRA_BLESSING_FILE, INFRA_CONFIG_FILE, INFRA_NOT_BLESSED_MARKER, InfraBlessingSchema, type InfraBlessing } from '../../components/infra-validator/payload';
import { InfraValidator } from '../../components/infra-validator/spec';
import { SERVING_CONFIG_FILE, SERVING_MODEL_FILE, SERVING_SIGNATURE_FILE } from '../../components/trainer/payload';
import { ServingSignatureSchema, type ServingSignature } from '../../components/trainer/serving-graph';
import { attribute, decodeModel, onnx } from '../../onnx/graph';
import { ModelConfigSchema } from '../../serving/model-config';
import { runExecutorForTest, type TestArtifact } from '../support/executor-harness';
import { tempDir } from '../support/tmp';
import { rejects } from '../support/user-input-errors';
import { readParquet } from './parquet-rows';
import { penguinsServingModel } from './penguins-serving-model';

type Row = Record<string, unknown>;

/** One raw value as Triton's raw tensor layout holds it; a missing one as the serving graph takes it (NaN, ''). */
function rawValue(dtype: string, value: unknown): Buffer {
  if (dtype === 'float32') return Buffer.from(Float32Array.of(value === null ? NaN : Number(value)).buffer);
  if (dtype === 'int64') return Buffer.from(BigInt64Array.of(BigInt(Number(value))).buffer);
  const text = Buffer.from(value === null ? '' : String(value), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(text.length);
  return Buffer.concat([length, text]);
}

/** `mlpipe serve` processes started by this test process and still running. */
function serverChildren(): string[] {
  let out: string;
  try {
    out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  } catch {
    return []; // ps exits 1 when the process has no children
  }
  return out.split('\n').filter((line) => line.includes(' serve --repository'));
}

describe('InfraValidator component (the penguins model served by mlpipe serve in its own process)', function () {
  let examples: TestArtifact;
  let servingModel: TestArtifact;
  let signature: ServingSignature;
  let evalRows: Row[];

  before(async () => {
    ({ examples, servingModel } = await penguinsServingModel(10));
    signature = ServingSignatureSchema.parse(JSON.parse(await readFile(path.join(servingModel.localDir, SERVING_SIGNATURE_FILE), 'utf8')));
    const evalDir = path.join(examples.localDir, 'Split-eval');
    evalRows = (await Promise.all((await readdir(evalDir)).sort().map((f) => readParquet(path.join(evalDir, f))))).flat();
  });

  const validate = (model: TestArtifact, parameters: Record<string, unknown> = {}) =>
    runExecutorForTest(InfraValidator, { parameters: { rows: 64, latencyRequests: 30, ...parameters }, inputs: { examples: [examples], model: [model] } });
  const read = async (dir: string): Promise<InfraBlessing> => InfraBlessingSchema.parse(JSON.parse(await readFile(path.join(dir, INFRA_BLESSING_FILE), 'utf8')));
  /** A copy of the ServingModel whose serving.onnx `change` rewrites. */
  const alteredModel = async (change: (bytes: Buffer) => Uint8Array): Promise<TestArtifact> => {
    const dir = await tempDir('infra-altered-model');
    await cp(servingModel.localDir, dir, { recursive: true });
    await writeFile(path.join(dir, SERVING_MODEL_FILE), change(await readFile(path.join(dir, SERVING_MODEL_FILE))));
    return { localDir: dir };
  };

  it('serves the candidate, finds its HTTP and gRPC answers equal to in-process onnxruntime on 64 eval rows, records latency and the warm-up config', async () => {
    const run = await validate(servingModel);
    const blessing = await read(run.outputDirs.infraBlessing!);
    assert.equal(blessing.infraBlessed, true, blessing.reason);
    assert.equal(run.result.block, undefined);
    const rows = Math.min(64, evalRows.length);
    const elementsPerRow = signature.outputs.reduce((n, o) => n + (o.shape.length === 2 ? o.shape[1]! : 1), 0);
    assert.deepEqual(
      blessing.checks,
      ['http', 'grpc'].map((protocol) => ({ protocol, rows, elements: rows * elementsPerRow, mismatch: null })),
    );
    const latency = blessing.latencyMs!;
    assert.equal(latency.requests, 30);
    assert.ok(latency.p50 > 0 && latency.p50 <= latency.p99 && latency.p99 <= latency.max, JSON.stringify(latency));
    assert.ok(latency.p99 < 1000, `a single-row request on loopback answers in well under a second (p99 ${latency.p99} ms)`);
    assert.equal(run.result.summary?.p50Ms, latency.p50);
    assert.equal(run.result.properties?.infraBlessing?.blessed, true);

    const files = await readdir(run.outputDirs.infraBlessing!);
    assert.ok(files.includes(INFRA_BLESSED_MARKER) && !files.includes(INFRA_NOT_BLESSED_MARKER));
    const published = ModelConfigSchema.parse(JSON.parse(await readFile(path.join(run.outputDirs.infraBlessing!, INFRA_CONFIG_FILE), 'utf8')));
    const trained = ModelConfigSchema.parse(JSON.parse(await readFile(path.join(servingModel.localDir, SERVING_CONFIG_FILE), 'utf8')));
    assert.deepEqual({ ...published, model_warmup: undefined }, { ...trained, model_warmup: undefined }, 'only model_warmup is added to the trained config');
    // One warm-up request per row, each input read from its file (Triton's input_data_file holds one sample).
    const trainedInputs = new Map(trained.input!.map((i) => [i.name, i.data_type]));
    assert.deepEqual(
      published.model_warmup,
      [0, 1, 2, 3].map((row) => ({
        name: `infra_validator_row_${row}`,
        batch_size: 1,
        count: 1,
        inputs: Object.fromEntries(signature.inputs.map((i) => [i.name, { data_type: trainedInputs.get(i.name), dims: [], input_data_file: `row${row}_${i.name}` }])),
      })),
    );
    // The files hold the first eval rows in Triton's raw layout; the server in the scratch repository
    // loads the candidate only once it has read them all (a missing or wrong-size file fails the load).
    const warmupDir = path.join(run.outputDirs.infraBlessing!, 'warmup');
    assert.equal((await readdir(warmupDir)).length, 4 * signature.inputs.length);
    for (const [row, evalRow] of evalRows.slice(0, 4).entries()) {
      for (const input of signature.inputs) {
        assert.deepEqual(await readFile(path.join(warmupDir, `row${row}_${input.name}`)), rawValue(input.dtype, evalRow[input.name]), `row ${row}, ${input.name}`);
      }
    }
    assert.deepEqual(serverChildren(), [], 'the server process was stopped');
  });

  it('does not infra-bless a model the server cannot load, names the load error, and stops the pipeline', async () => {
    const corrupted = await alteredModel(() => Buffer.from('this is not an ONNX model'));
    const run = await validate(corrupted);
    const blessing = await read(run.outputDirs.infraBlessing!);
    assert.equal(blessing.infraBlessed, false);
    assert.match(blessing.reason, /^the model server could not load the model: candidate \(version 1 failed: Load model from \S+ failed:Protobuf parsing failed\.\)$/);
    assert.equal(blessing.latencyMs, null);
    assert.deepEqual(blessing.checks, []);
    assert.equal(run.result.properties?.infraBlessing?.blessed, false);
    assert.equal(run.result.block?.reason, `the model is not infra-blessed: ${blessing.reason}`);
    assert.ok((await readdir(run.outputDirs.infraBlessing!)).includes(INFRA_NOT_BLESSED_MARKER));
    assert.deepEqual(serverChildren(), [], 'the server process was stopped');
  });

  it('does not infra-bless a model whose served answers differ from in-process ones (noise sampled at inference), naming the output and row', async () => {
    // Dropout left on at inference, in effect: probabilities plus fresh uniform noise on every run.
    const noisy = await alteredModel((bytes) => {
      const model = decodeModel(bytes);
      const graph = model.graph!;
      const producer = graph.node!.find((n) => n.output!.includes('probabilities'))!;
      producer.output = producer.output!.map((o) => (o === 'probabilities' ? 'probabilities_clean' : o));
      graph.node!.push(
        { opType: 'RandomUniformLike', input: ['probabilities_clean'], output: ['probabilities_noise'], attribute: [attribute.float('low', 0), attribute.float('high', 0.01)] },
        { opType: 'Add', input: ['probabilities_clean', 'probabilities_noise'], output: ['probabilities'] },
      );
      return onnx.ModelProto.encode(model).finish();
    });
    const run = await validate(noisy);
    const blessing = await read(run.outputDirs.infraBlessing!);
    assert.equal(blessing.infraBlessed, false);
    assert.match(blessing.reason, /^the served model answers differently from in-process onnxruntime over http: output "probabilities", row 0: the server answered [\d.e-]+, in-process onnxruntime [\d.e-]+$/);
    assert.equal(blessing.checks[0]!.mismatch !== null, true);
    assert.equal(blessing.latencyMs, null);
    assert.equal(run.result.block?.reason, `the model is not infra-blessed: ${blessing.reason}`);
    assert.deepEqual(serverChildren(), [], 'the server process was stopped');
  });

  it('refuses, naming what is wrong, a split that is not there, a signature input the rows lack, a config that omits an input or its data_type', async () => {
    await rejects(validate(servingModel, { split: 'test' }), /^split "test" is not in the examples/);
    const copy = async (file: string, edit: (json: Record<string, unknown>) => void): Promise<TestArtifact> => {
      const dir = await tempDir('infra-bad-model');
      await cp(servingModel.localDir, dir, { recursive: true });
      const json = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as Record<string, unknown>;
      edit(json);
      await writeFile(path.join(dir, file), JSON.stringify(json));
      return { localDir: dir };
    };
    const wider = await copy(SERVING_SIGNATURE_FILE, (j) => (j.inputs as unknown[]).push({ name: 'Wingspan', dtype: 'float32', shape: [-1] }));
    await rejects(validate(wider), /no column "Wingspan", which the transform graph reads as float32/);
    const first = signature.inputs[0]!.name;
    const narrower = await copy(SERVING_CONFIG_FILE, (j) => (j.input = (j.input as Array<{ name: string }>).filter((i) => i.name !== first)));
    await rejects(validate(narrower), new RegExp(`^the ServingModel's config.json declares no input "${first.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}", which its signature has$`));
    const untyped = await copy(SERVING_CONFIG_FILE, (j) => (j.input = (j.input as Array<{ name: string }>).map((i) => (i.name === first ? { name: first } : i))));
    await rejects(validate(untyped), /^the ServingModel's config\.json declares input "[^"]+" without its data_type$/);
  });

  it('does not infra-bless a model the server does not serve within the ready timeout', async () => {
    const run = await validate(servingModel, { readyTimeoutMs: 100 });
    const blessing = await read(run.outputDirs.infraBlessing!);
    assert.equal(blessing.infraBlessed, false);
    assert.equal(blessing.reason, 'the model server was not ready within 100 ms');
    assert.equal(run.result.block?.reason, 'the model is not infra-blessed: the model server was not ready within 100 ms');
    assert.deepEqual(serverChildren(), [], 'the server process was stopped');
  });

  it('stops the server when the run is cancelled while it sends rows', async () => {
    const controller = new AbortController();
    const run = runExecutorForTest(InfraValidator, {
      parameters: { rows: 64 },
      inputs: { examples: [examples], model: [servingModel] },
      signal: controller.signal,
      onProgress: (p) => {
        if (p.message?.startsWith('comparing')) {
          assert.equal(serverChildren().length, 1, 'the server runs while rows are sent');
          controller.abort(new Error('cancelled by the test'));
        }
      },
    });
    await assert.rejects(run, /cancelled by the test/);
    assert.deepEqual(serverChildren(), [], 'the server process was stopped');
  });
});
