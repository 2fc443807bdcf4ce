import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildServingModel, ServingSignatureSchema, type ServingModelOptions } from '../../components/trainer/serving-graph';
import { withDuckDb } from '../../components/data/duckdb-session';
import { sqlString } from '../../components/data/sql';
import { computeAnalyzers } from '../../components/transform/analyzers';
import { compileTransform, type CompiledTransform } from '../../components/transform/compile-graph';
import { fillMissing, labelIds, scaleTo01, scaleToZScore, transform, vocabulary } from '../../components/transform/dsl';
import type { TensorSpec } from '../../components/transform/signature';
import { composeGraphs } from '../../onnx/compose';
import { attribute, decodeModel, encodeModel, GraphBuilder, OnnxElementType, tensorValueInfo } from '../../onnx/graph';
import { openSession, Tensor, type OnnxFeeds } from '../../onnx/session';
import { parseModelConfig } from '../../serving/model-config';
import { postJson, request } from '../serving/serving-fixture';
import { servedPorts, serveProcess } from '../serving/serve-process';
import { sklearnPython } from '../support/test-tools';
import { tempDir } from '../support/tmp';
import { throwsUserInputError as refuses } from '../support/user-input-errors';
import { duckQuery } from './parquet-rows';
import { vegaFile } from './vega-data';
import { BEAK, DEPTH, FLIPPER, MASS, PENGUINS_SCHEMA } from './penguins-schema';

/**
 * The serving graph (components/trainer/serving-graph.ts): the penguins transform composed with a small
 * hand-built classifier, in both input modes, answers exactly what running the two graphs one after the
 * other answers; it refuses models that do not fit; and `mlpipe serve` answers a raw row sent as JSON
 * with the species name.
 */

const SCHEMA = PENGUINS_SCHEMA;
const KINDS = { Species: 'string', Island: 'string', [BEAK]: 'number', [DEPTH]: 'number', [FLIPPER]: 'number', [MASS]: 'number', Sex: 'string' } as const;
const IR = transform(
  ({ f }) => ({
    beak: scaleToZScore(fillMissing(f[BEAK], 'mean')),
    flipper: scaleTo01(fillMissing(f[FLIPPER], 'mean')),
    island: vocabulary(f.Island).oneHot(),
    sex: vocabulary(fillMissing(f.Sex, { constant: 'unknown' })).ids(),
    mass: scaleToZScore(fillMissing(f[MASS], 'mean')),
    species: labelIds(f.Species),
  }),
  KINDS,
);
/** beak 1 + flipper 1 + island 3 + sex 1 + mass 1, in the signature's order. */
const FEATURES = 7;

type RawRow = Record<string, string | number | null>;
type Outputs = Record<string, Float32Array | BigInt64Array | string[]>;

async function run(bytes: Uint8Array, feeds: OnnxFeeds): Promise<Outputs> {
  const session = await openSession(bytes);
  try {
    const result = await session.run(feeds);
    return Object.fromEntries(Object.entries(result).map(([name, t]) => [name, t.data as Float32Array | BigInt64Array | string[]]));
  } finally {
    await session.release();
  }
}

/** The raw rows as the transform's serving signature takes them: NaN and '' for missing. */
function rawFeeds(inputs: readonly TensorSpec[], rows: readonly RawRow[]): OnnxFeeds {
  return Object.fromEntries(
    inputs.map((spec) => {
      const values = rows.map((r) => r[spec.name] ?? null);
      return [
        spec.name,
        spec.dtype === 'string'
          ? new Tensor('string', values.map((v) => (v === null ? '' : String(v))), [rows.length])
          : new Tensor('float32', Float32Array.from(values, (v) => (v === null ? NaN : Number(v))), [rows.length]),
      ];
    }),
  );
}

/** Fixed weights, different in every cell, so a column out of place changes the answer. */
const weights = (rows: number, cols: number): number[] => Array.from({ length: rows * cols }, (_, i) => Math.sin(i * 1.7 + 0.3) * 0.8);

/** A scikit-learn-shaped classifier: one input [N, width], outputs `label` and `probabilities` (Softmax of a dense layer). */
function concatModel(width: number, opset: number): Uint8Array {
  const g = new GraphBuilder(new Set(['float_input', 'label', 'probabilities']));
  const logits = g.op('Add', [g.op('MatMul', ['float_input', g.floatConstant(weights(width, 3), [width, 3])]), g.floatConstant([0.1, -0.2, 0.05])]);
  const probabilities = g.op('Softmax', [logits], [attribute.int('axis', 1)]);
  const label = g.op('ArgMax', [probabilities], [attribute.int('axis', 1), attribute.int('keepdims', 0)]);
  const graph = g.build('dense', [tensorValueInfo('float_input', OnnxElementType.FLOAT, ['N', width])], [
    { name: 'label', source: label, elemType: OnnxElementType.INT64, dims: ['N'] },
    { name: 'probabilities', source: probabilities, elemType: OnnxElementType.FLOAT, dims: ['N', 3] },
  ]);
  return encodeModel(graph, { producerName: 'test', opset });
}

/** A model taking transform outputs by name, as a tfjs model with several inputs would: logits out. */
function byNameModel(inputNames: { beak: string }): Uint8Array {
  const g = new GraphBuilder(new Set([inputNames.beak, 'flipper', 'island', 'sex', 'logits']));
  const features = g.op('Concat', [inputNames.beak, g.op('Unsqueeze', ['flipper', g.int64Constant([1])]), 'island', 'sex'], [attribute.int('axis', 1)]);
  const logits = g.op('Add', [g.op('MatMul', [features, g.floatConstant(weights(6, 3), [6, 3])]), g.floatConstant([0, 0.3, -0.1])]);
  const graph = g.build(
    'by-name',
    [
      tensorValueInfo(inputNames.beak, OnnxElementType.FLOAT, ['N', 1]),
      tensorValueInfo('flipper', OnnxElementType.FLOAT, ['N']),
      tensorValueInfo('island', OnnxElementType.FLOAT, ['N', 3]),
      tensorValueInfo('sex', OnnxElementType.FLOAT, ['N', 1]),
    ],
    [{ name: 'logits', source: logits, elemType: OnnxElementType.FLOAT, dims: ['N', 3] }],
  );
  return encodeModel(graph, { producerName: 'test' });
}

/** The transform's outputs for the rows, flattened into [N, FEATURES] float32 in the signature's order, as a script would. */
function concatenated(outputs: readonly TensorSpec[], transformed: Outputs, n: number): Float32Array {
  const matrix = new Float32Array(n * FEATURES);
  for (let r = 0; r < n; r++) {
    let c = 0;
    for (const spec of outputs) {
      const width = spec.shape.length === 1 ? 1 : spec.shape[1]!;
      const data = transformed[spec.name]!;
      for (let k = 0; k < width; k++) matrix[r * FEATURES + c++] = Number(data[r * width + k]);
    }
  }
  return matrix;
}

const argmax = (p: Float32Array, row: number, width: number): number => {
  let best = 0;
  for (let k = 1; k < width; k++) if (p[row * width + k]! > p[row * width + best]!) best = k;
  return best;
};

function softmaxRows(logits: Float32Array, width: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let r = 0; r < logits.length / width; r++) {
    const row = logits.subarray(r * width, (r + 1) * width);
    const max = Math.max(...row);
    const exps = Array.from(row, (x) => Math.exp(x - max));
    const sum = exps.reduce((s, x) => s + x, 0);
    exps.forEach((e, k) => (out[r * width + k] = e / sum));
  }
  return out;
}

function assertSameFloats(got: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(got.length, expected.length, `${what}: length`);
  got.forEach((g, i) => assert.ok(Object.is(g, expected[i]), `${what}[${i}]: composed ${g}, one after the other ${expected[i]}`));
}

describe('Trainer: the serving graph (transform graph composed with the model)', function () {
  let compiled: CompiledTransform;
  let rows: RawRow[];
  let transformed: Outputs;
  let classes: string[];

  before(async () => {
    rows = JSON.parse(await readFile(vegaFile('penguins.json'), 'utf8')) as RawRow[];
    const dir = await tempDir('serving-graph');
    const parquet = path.join(dir, 'penguins.parquet');
    await duckQuery(`COPY (SELECT * FROM read_json(${sqlString(vegaFile('penguins.json'))})) TO ${sqlString(parquet)} (FORMAT parquet)`);
    const values = await withDuckDb({ tmpDir: dir, signal: new AbortController().signal }, (s) => computeAnalyzers(s, IR, [parquet]));
    compiled = compileTransform(IR, values, SCHEMA);
    classes = compiled.signature.labels.find((l) => l.output === 'species')!.classes;
    transformed = await run(compiled.serving, rawFeeds(compiled.signature.serving.inputs, rows));
  });

  const options = (model: Uint8Array, extra: Partial<ServingModelOptions> = {}): ServingModelOptions => ({
    transformServing: compiled.serving,
    transformSignature: compiled.signature,
    model,
    label: 'species',
    inputMode: 'concat',
    ...extra,
  });

  it("'concat': the model's one input gets every transform output as float32 columns in order; probabilities, class ids and names equal the two graphs run one after the other", async () => {
    assert.deepEqual(classes, ['Adelie', 'Chinstrap', 'Gentoo']);
    const model = concatModel(FEATURES, 21);
    const serving = buildServingModel(options(model));
    const n = rows.length;
    const expected = await run(model, { float_input: new Tensor('float32', concatenated(compiled.signature.serving.outputs, transformed, n), [n, FEATURES]) });
    const got = await run(serving.bytes, rawFeeds(serving.signature.inputs, rows));
    const probabilities = expected.probabilities as Float32Array;
    assertSameFloats(got.probabilities as Float32Array, probabilities, 'probabilities');
    const ids = Array.from({ length: n }, (_, r) => argmax(probabilities, r, 3));
    assert.deepEqual(Array.from(got.class_ids as BigInt64Array, Number), ids);
    assert.deepEqual(Array.from(got.classes as string[]), ids.map((id) => classes[id]));
    assert.deepEqual(new Set(ids).size, 3, 'the fixed weights pick every class for some penguin');

    // The transform (opset 13) moved to the model's 21; ai.onnx.ml kept for the LabelEncoders.
    const composed = decodeModel(serving.bytes);
    assert.deepEqual(Object.fromEntries((composed.opsetImport ?? []).map((o) => [o.domain, Number(o.version)])), { '': 21, 'ai.onnx.ml': 2 });
    assert.deepEqual((composed.graph!.input ?? []).map((i) => i.name), compiled.signature.serving.inputs.map((i) => i.name));
    assert.deepEqual(
      ServingSignatureSchema.parse(serving.signature),
      {
        version: 1,
        task: 'classification',
        label: 'species',
        classes,
        inputs: compiled.signature.serving.inputs,
        outputs: [
          { name: 'probabilities', dtype: 'float32', shape: [-1, 3] },
          { name: 'class_ids', dtype: 'int64', shape: [-1] },
          { name: 'classes', dtype: 'string', shape: [-1] },
        ],
      },
    );
  });

  it("'byName': each model input fed by the output of its name (int64 ids cast, a scalar given its column axis); logits through Softmax", async () => {
    const model = byNameModel({ beak: 'beak' });
    const serving = buildServingModel(options(model, { inputMode: 'byName', scores: 'logits' }));
    const n = rows.length;
    const column = (name: string) => Float32Array.from(transformed[name]!, Number);
    const expected = await run(model, {
      beak: new Tensor('float32', column('beak'), [n, 1]),
      flipper: new Tensor('float32', column('flipper'), [n]),
      island: new Tensor('float32', column('island'), [n, 3]),
      sex: new Tensor('float32', column('sex'), [n, 1]),
    });
    const got = await run(serving.bytes, rawFeeds(serving.signature.inputs, rows));
    const probabilities = got.probabilities as Float32Array;
    // Softmax in onnxruntime against plain TypeScript in doubles: equal to FP32 rounding.
    softmaxRows(expected.logits as Float32Array, 3).forEach((p, i) => assert.ok(Math.abs(probabilities[i]! - p) <= 1e-6, `probabilities[${i}]: ${probabilities[i]} vs ${p}`));
    const ids = Array.from({ length: n }, (_, r) => argmax(expected.logits as Float32Array, r, 3));
    assert.deepEqual(Array.from(got.class_ids as BigInt64Array, Number), ids);
    assert.deepEqual(Array.from(got.classes as string[]), ids.map((id) => classes[id]));
    // Without `scores`, logits are not taken for probabilities.
    refuses(() => buildServingModel(options(model, { inputMode: 'byName' })), /cannot tell whether the model's output 'logits' \(made by Add\) holds probabilities or logits/);
  });

  it('a regressor (no labelIds label): predictions [N, 1] as float32, equal to the model run on the transform output', async () => {
    const g = new GraphBuilder(new Set(['float_input', 'variable']));
    const prediction = g.op('MatMul', ['float_input', g.floatConstant(weights(FEATURES, 1), [FEATURES, 1])]);
    const model = encodeModel(g.build('linear', [tensorValueInfo('float_input', OnnxElementType.FLOAT, ['N', FEATURES])], [{ name: 'variable', source: prediction, elemType: OnnxElementType.FLOAT, dims: ['N', 1] }]), { producerName: 'test' });
    const serving = buildServingModel(options(model, { label: undefined }));
    assert.deepEqual([serving.signature.task, serving.signature.outputs], ['regression', [{ name: 'predictions', dtype: 'float32', shape: [-1, 1] }]]);
    assert.deepEqual(serving.config.output, [{ name: 'predictions', data_type: 'TYPE_FP32', dims: [1] }]);
    const n = rows.length;
    const expected = await run(model, { float_input: new Tensor('float32', concatenated(compiled.signature.serving.outputs, transformed, n), [n, FEATURES]) });
    const got = await run(serving.bytes, rawFeeds(serving.signature.inputs, rows));
    assertSameFloats(got.predictions as Float32Array, expected.variable as Float32Array, 'predictions');
  });

  it('refuses a model input no transform output is named as, a width that differs, and an opset change that alters an operator', () => {
    refuses(
      () => buildServingModel(options(byNameModel({ beak: 'bill' }), { inputMode: 'byName', scores: 'logits' })),
      /inputMode 'byName': the model's inputs 'bill' are no output of the transform \(it has 'beak', 'flipper', 'island', 'sex', 'mass'\)/,
    );
    refuses(
      () => buildServingModel(options(concatModel(FEATURES + 1, 13))),
      /inputMode 'concat': the model input 'float_input' takes 8 features, the transform gives 7 \(beak 1, flipper 1, island 3, sex 1, mass 1\)/,
    );
    refuses(() => buildServingModel(options(byNameModel({ beak: 'beak' }), { scores: 'logits' })), /inputMode 'concat' needs a model with one input, this one has 4/);
    // A graph at opset 13 whose ReduceMean carries its axes as an attribute means nothing at 18.
    const g = new GraphBuilder(new Set(['x', 'y']));
    const mean = g.op('ReduceMean', ['x'], [attribute.ints('axes', [1])]);
    const first = encodeModel(g.build('mean', [tensorValueInfo('x', OnnxElementType.FLOAT, ['N', 2])], [{ name: 'y', source: mean, elemType: OnnxElementType.FLOAT, dims: ['N', 1] }]), { producerName: 'test' });
    const h = new GraphBuilder(new Set(['y', 'z']));
    const second = encodeModel(h.build('relu', [tensorValueInfo('y', OnnxElementType.FLOAT, ['N', 1])], [{ name: 'z', source: h.op('Relu', ['y']), elemType: OnnxElementType.FLOAT, dims: ['N', 1] }]), { producerName: 'test', opset: 18 });
    refuses(() => composeGraphs(first, second, [{ from: 'y', to: 'y' }]), /the first graph: operator ReduceMean \(node 'ReduceMean_0'\) changed at the default ONNX domain version 18: its axes moved from an attribute to an input/);
    assert.ok(composeGraphs(second, second, [{ from: 'z', to: 'y' }]).length > 0, 'the same opset on both sides composes');
  });

  it('mlpipe serve, with the config.json written beside the version, answers one raw penguin sent as JSON with its species name', async () => {
    const model = concatModel(FEATURES, 13);
    const serving = buildServingModel(options(model));
    const repo = path.join(await tempDir('serving-graph-repo'), 'models');
    await mkdir(path.join(repo, 'penguins', '1'), { recursive: true });
    await writeFile(path.join(repo, 'penguins', '1', 'model.onnx'), serving.bytes);
    await writeFile(path.join(repo, 'penguins', 'config.json'), JSON.stringify(serving.config, null, 2));
    assert.deepEqual(parseModelConfig('penguins', JSON.stringify(serving.config)), serving.config);

    const row = rows[5]!;
    assert.ok(Object.values(row).every((v) => v !== null), 'a row without missing values, as a client sends plain JSON numbers');
    const expected = (await run(serving.bytes, rawFeeds(serving.signature.inputs, [row]))).classes as string[];
    const server = serveProcess(['--repository', repo, '--http-port', '0', '--grpc-port', '0', '--poll-interval-ms', '0']);
    try {
      const http = `http://127.0.0.1:${(await servedPorts(server)).http}`;
      const config = JSON.parse((await request(`${http}/v2/models/penguins/config`)).body.toString()) as { max_batch_size: number; input: Array<{ name: string; dims: number[] }> };
      assert.equal(config.max_batch_size, serving.config.max_batch_size);
      const body = {
        inputs: serving.signature.inputs.map((spec) => ({
          name: spec.name,
          shape: [1],
          datatype: spec.dtype === 'string' ? 'BYTES' : 'FP32',
          data: [row[spec.name]],
        })),
      };
      const reply = await postJson(`${http}/v2/models/penguins/infer`, body);
      assert.equal(reply.status, 200, reply.body.toString());
      const answer = JSON.parse(reply.body.toString()) as { outputs: Array<{ name: string; datatype: string; shape: number[]; data: unknown[] }> };
      const names = answer.outputs.find((o) => o.name === 'classes')!;
      assert.deepEqual({ datatype: names.datatype, shape: names.shape, data: names.data }, { datatype: 'BYTES', shape: [1], data: expected });
      assert.ok(classes.includes(names.data[0] as string), `${String(names.data[0])} is a species`);
    } finally {
      server.child.kill('SIGKILL');
    }
  });

  it('composes a scikit-learn LogisticRegression exported by skl2onnx (zipmap=False) that trained on the transformed penguins', async function () {
    const python = sklearnPython(this);
    const dir = await tempDir('serving-graph-sklearn');
    const n = rows.length;
    const features = concatenated(compiled.signature.serving.outputs, transformed, n);
    const labels = await run(compiled.training, rawFeeds(compiled.signature.training.inputs, rows));
    await writeFile(path.join(dir, 'train.json'), JSON.stringify({ x: Array.from(features), y: Array.from(labels.species as BigInt64Array, Number), width: FEATURES }));
    const script = [
      'import json, sys, numpy as np',
      'from sklearn.linear_model import LogisticRegression',
      'from skl2onnx import to_onnx',
      'd = json.load(open(sys.argv[1]))',
      "x = np.array(d['x'], dtype=np.float32).reshape(-1, d['width']); y = np.array(d['y'])",
      'keep = y >= 0',
      'clf = LogisticRegression(max_iter=1000).fit(x[keep], y[keep])',
      "onx = to_onnx(clf, x[:1], options={id(clf): {'zipmap': False}})",
      "open(sys.argv[2], 'wb').write(onx.SerializeToString())",
    ].join('\n');
    const modelFile = path.join(dir, 'model.onnx');
    await promisify(execFile)(python, ['-c', script, path.join(dir, 'train.json'), modelFile]);
    const model = await readFile(modelFile);
    const serving = buildServingModel(options(model));
    // skl2onnx imports the default domain at the newest version of the ops it uses (22 with onnx 1.23): the transform's 13 moves up to it.
    const defaultOpset = (bytes: Uint8Array) => Math.max(...(decodeModel(bytes).opsetImport ?? []).filter((o) => !o.domain).map((o) => Number(o.version)));
    assert.ok(defaultOpset(model) > 13, `skl2onnx wrote opset ${defaultOpset(model)}`);
    assert.equal(defaultOpset(serving.bytes), defaultOpset(model));
    const expected = await run(model, { [decodeModel(model).graph!.input![0]!.name!]: new Tensor('float32', features, [n, FEATURES]) });
    const got = await run(serving.bytes, rawFeeds(serving.signature.inputs, rows));
    assertSameFloats(got.probabilities as Float32Array, expected.probabilities as Float32Array, 'probabilities');
    const truth = Array.from(labels.species as BigInt64Array, Number);
    const names = got.classes as string[];
    const correct = truth.filter((id, r) => id >= 0 && classes[id] === names[r]).length;
    assert.ok(correct / truth.filter((id) => id >= 0).length >= 0.95, `training accuracy ${correct}/${n}`);
  });
});
