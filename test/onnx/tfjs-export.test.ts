import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../../bench/serving/models';
import { exportLayersModel } from '../../onnx/tfjs-export/export-layers-model';
import { SUPPORTED_LAYERS } from '../../onnx/tfjs-export/walk-layers';
import { vegaFile } from '../components/vega-data';
import { throwsUserInputError } from '../support/user-input-errors';
import { assertAgreement, assertClose, randomizeWeights, randomTensor, runExported } from './tfjs-agreement';

/** A Sequential model of `layers` on inputs of `inputShape`, its weights drawn from a generator seeded with `seed`. */
function sequential(inputShape: number[], layers: tf.layers.Layer[], seed: number): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.inputLayer({ inputShape }));
  layers.forEach((l) => model.add(l));
  randomizeWeights(model, mulberry32(seed));
  return model;
}

/** Checks a Sequential model of `layers` on a random batch of 6 (inputs uniform in [-scale, scale)). */
async function agreesOn(inputShape: number[], layers: tf.layers.Layer[], seed: number, scale = 2): Promise<void> {
  const model = sequential(inputShape, layers, seed);
  await assertAgreement(model, [randomTensor(mulberry32(seed + 1), [6, ...inputShape], scale)]);
}

describe('tfjs LayersModel exported to ONNX: onnxruntime agrees with tfjs predict', () => {
  let previousBackend: string;
  before(async () => {
    previousBackend = tf.getBackend();
    await tf.setBackend('cpu');
  });
  after(async () => {
    if (previousBackend !== undefined) await tf.setBackend(previousBackend);
  });

  const activations = ['linear', 'relu', 'relu6', 'sigmoid', 'tanh', 'softmax', 'elu', 'selu', 'softplus', 'softsign', 'hardSigmoid', 'swish', 'mish', 'gelu', 'gelu_new'] as const;
  for (const [i, activation] of activations.entries()) {
    it(`Dense with activation ${activation}`, async () => {
      await agreesOn([4], [tf.layers.dense({ units: 5, activation })], 100 + i, 3);
    });
  }

  it('Dense with activation logSoftmax (a tfjs activation its typings do not list)', async () => {
    await agreesOn([4], [tf.layers.dense({ units: 5, activation: 'logSoftmax' as 'softmax' })], 99, 3);
  });

  it('Dense without bias, and Dense on a rank-3 input (the kernel applies to the last axis)', async () => {
    await agreesOn([4], [tf.layers.dense({ units: 3, useBias: false })], 1);
    await agreesOn([3, 4], [tf.layers.dense({ units: 2, activation: 'tanh' })], 2);
  });

  it('activation layers: Activation, ReLU (with maxValue), LeakyReLU, ELU, Softmax, PReLU, ThresholdedReLU', async () => {
    await agreesOn([5], [tf.layers.activation({ activation: 'selu' })], 3);
    await agreesOn([5], [tf.layers.reLU()], 4);
    await agreesOn([5], [tf.layers.reLU({ maxValue: 0.7 })], 5);
    await agreesOn([5], [tf.layers.leakyReLU({ alpha: 0.1 })], 6);
    await agreesOn([5], [tf.layers.leakyReLU()], 7);
    await agreesOn([5], [tf.layers.elu()], 8);
    await agreesOn([5], [tf.layers.softmax()], 9);
    await agreesOn([2, 5], [tf.layers.softmax({ axis: -1 })], 10);
    await agreesOn([3, 5], [tf.layers.prelu()], 11);
    await agreesOn([5], [tf.layers.thresholdedReLU({ theta: 0.5 })], 12);
  });

  it('Dropout, SpatialDropout1D, AlphaDropout, GaussianDropout and GaussianNoise are the identity at inference', async () => {
    await agreesOn(
      [3, 4],
      [tf.layers.dropout({ rate: 0.5 }), tf.layers.spatialDropout1d({ rate: 0.5 }), tf.layers.alphaDropout({ rate: 0.5 }), tf.layers.gaussianDropout({ rate: 0.5 }), tf.layers.gaussianNoise({ stddev: 1 })],
      13,
    );
  });

  it('BatchNormalization with moving statistics: on features, on the channels of an image, without center or scale', async () => {
    await agreesOn([4], [tf.layers.batchNormalization()], 14);
    await agreesOn([5, 5, 3], [tf.layers.batchNormalization({ epsilon: 0.01 })], 15);
    await agreesOn([3, 4], [tf.layers.batchNormalization({ axis: 2 })], 16);
    await agreesOn([4], [tf.layers.batchNormalization({ center: false, scale: false })], 17);
  });

  it('refuses BatchNormalization on an axis other than the last, where tfjs does not normalize per channel', () => {
    const model = sequential([3, 4], [tf.layers.batchNormalization({ axis: 1, name: 'bn' })], 16);
    // tfjs's own kernel, the reason: channel statistics [0, 100, 1000] on axis 1 are applied along the flattened input.
    const x = tf.tensor([[[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]]);
    const applied = tf.batchNorm(x, tf.tensor([0, 100, 1000], [1, 3, 1]), tf.ones([1, 3, 1]), undefined, undefined, 0).dataSync();
    assert.deepEqual(Array.from(applied.slice(0, 4)), [1, 2 - 100, 3 - 1000, 4]);
    throwsUserInputError(() => exportLayersModel(model), /^layer 'bn' \(BatchNormalization\): axis 1 is not the last axis of its rank-3 input; .*normalize the last axis/);
  });

  it('LayerNormalization over the last axis, over two axes, without center or scale', async () => {
    await agreesOn([6], [tf.layers.layerNormalization()], 18);
    await agreesOn([3, 4], [tf.layers.layerNormalization({ axis: [1, 2], epsilon: 1e-5 })], 19);
    await agreesOn([3, 4], [tf.layers.layerNormalization({ center: false, scale: false })], 20);
  });

  it('Embedding of int32 ids (an INT64 graph input) and of float ids (truncated as tfjs casts them); ids outside the table are refused', async () => {
    const random = mulberry32(21);
    const ids = tf.tensor(Int32Array.from({ length: 18 }, () => Math.floor(random() * 7)), [6, 3], 'int32');
    const input = tf.input({ shape: [3], dtype: 'int32', name: 'island_id' });
    const embedded = tf.layers.embedding({ inputDim: 7, outputDim: 4, name: 'embed' }).apply(input) as tf.SymbolicTensor;
    const output = tf.layers.dense({ units: 2, name: 'score' }).apply(tf.layers.flatten().apply(embedded)) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: output });
    randomizeWeights(model, random);
    const exported = await assertAgreement(model, [ids]);
    assert.deepEqual(exported.inputs, [{ name: 'island_id', dtype: 'int64', shape: [-1, 3] }]);
    assert.deepEqual(exported.outputs, [{ name: 'score', dtype: 'float32', shape: [-1, 2] }]);

    const embeddingOnly = sequential([2], [tf.layers.embedding({ inputDim: 5, outputDim: 3 })], 23);
    const floatIds = tf.tensor([[0.9, -0.5], [4.99, 2]]);
    await assertAgreement(embeddingOnly, [floatIds]);
    for (const outside of [[[-1, 0]], [[5, 0]]]) {
      assert.throws(() => embeddingOnly.predict(tf.tensor(outside)), /not in \[0, 4\]/, 'tfjs refuses the id');
      await assert.rejects(runExported(exportLayersModel(embeddingOnly), [tf.tensor(outside)]), /out of (data )?bounds|out of range/i, 'onnxruntime refuses the id');
    }
  });

  it('Flatten (channelsLast and channelsFirst), Reshape with an inferred dim, Permute', async () => {
    await agreesOn([2, 3, 4], [tf.layers.flatten(), tf.layers.dense({ units: 3 })], 24);
    await agreesOn([2, 3, 4], [tf.layers.flatten({ dataFormat: 'channelsFirst' }), tf.layers.dense({ units: 3 })], 25);
    await agreesOn([12], [tf.layers.reshape({ targetShape: [-1, 4] }), tf.layers.dense({ units: 2 })], 26);
    await agreesOn([2, 3, 4], [tf.layers.permute({ dims: [3, 1, 2] }), tf.layers.dense({ units: 2 })], 27);
  });

  it('a functional model with two inputs concatenated, wired by input name; Add, Multiply, Average, Maximum, Minimum of branches', async () => {
    const bill = tf.input({ shape: [2], name: 'bill' });
    const flipper = tf.input({ shape: [3], name: 'flipper' });
    const joined = tf.layers.concatenate({ name: 'joined' }).apply([bill, flipper]) as tf.SymbolicTensor;
    const hidden = tf.layers.dense({ units: 4, activation: 'relu', name: 'hidden' }).apply(joined) as tf.SymbolicTensor;
    const other = tf.layers.dense({ units: 4, name: 'other' }).apply(flipper) as tf.SymbolicTensor;
    const merges = [tf.layers.add(), tf.layers.multiply(), tf.layers.average(), tf.layers.maximum(), tf.layers.minimum()].map((layer) => layer.apply([hidden, other]) as tf.SymbolicTensor);
    const species = tf.layers.dense({ units: 3, activation: 'softmax', name: 'species' }).apply(tf.layers.concatenate().apply(merges)) as tf.SymbolicTensor;
    const model = tf.model({ inputs: [bill, flipper], outputs: [species, joined] });
    randomizeWeights(model, mulberry32(28));
    const random = mulberry32(29);
    const exported = await assertAgreement(model, [randomTensor(random, [6, 2]), randomTensor(random, [6, 3])]);
    assert.deepEqual(exported.inputs, [
      { name: 'bill', dtype: 'float32', shape: [-1, 2] },
      { name: 'flipper', dtype: 'float32', shape: [-1, 3] },
    ]);
    assert.deepEqual(exported.outputs.map((o) => o.name), ['species', 'joined']);
  });

  it('merging inputs of different ranks expands the lower one at axis 1, as tfjs does ([3] · [3, 1] is [3, 3])', async () => {
    const row = tf.input({ shape: [3], name: 'row' });
    const column = tf.input({ shape: [3, 1], name: 'column' });
    const model = tf.model({ inputs: [row, column], outputs: tf.layers.multiply().apply([row, column]) as tf.SymbolicTensor });
    const exported = await assertAgreement(model, [tf.tensor([[1, 2, 3]]), tf.tensor([[[1], [10], [100]]])]);
    assert.deepEqual(exported.outputs[0]!.shape, [-1, 3, 3]);
  });

  it('a layer called twice (shared weights) and a Sequential model used as a layer', async () => {
    const shared = tf.layers.dense({ units: 3, activation: 'tanh' });
    const inner = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 4, activation: 'relu' }), tf.layers.dense({ units: 2 })] });
    const left = tf.input({ shape: [5], name: 'left' });
    const right = tf.input({ shape: [5], name: 'right' });
    const sum = tf.layers.add().apply([shared.apply(left) as tf.SymbolicTensor, shared.apply(right) as tf.SymbolicTensor]) as tf.SymbolicTensor;
    const model = tf.model({ inputs: [left, right], outputs: inner.apply(sum) as tf.SymbolicTensor });
    randomizeWeights(model, mulberry32(30));
    randomizeWeights(inner, mulberry32(31));
    const random = mulberry32(32);
    await assertAgreement(model, [randomTensor(random, [6, 5]), randomTensor(random, [6, 5])]);
  });

  it("Conv2D: 'same' and 'valid', strides, dilation, activation, channelsFirst", async () => {
    await agreesOn([7, 6, 3], [tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' })], 33);
    await agreesOn([7, 6, 3], [tf.layers.conv2d({ filters: 2, kernelSize: [3, 2], strides: 2, padding: 'same' })], 34);
    await agreesOn([8, 7, 2], [tf.layers.conv2d({ filters: 3, kernelSize: 3, strides: [2, 3], padding: 'valid', useBias: false })], 35);
    await agreesOn([9, 9, 2], [tf.layers.conv2d({ filters: 2, kernelSize: 3, dilationRate: 2, padding: 'same' })], 36);
    await agreesOn([2, 6, 5], [tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', dataFormat: 'channelsFirst' }), tf.layers.flatten()], 37);
  });

  it("Conv2D and pooling with 'same' padding on images of any size (padding computed when the graph runs)", async () => {
    const model = sequential(
      [null, null, 2] as unknown as number[],
      [tf.layers.conv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'same' }), tf.layers.maxPooling2d({ poolSize: 2, padding: 'same' }), tf.layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' })],
      52,
    );
    const random = mulberry32(53);
    for (const [h, w] of [[7, 6], [4, 9]]) {
      const exported = await assertAgreement(model, [randomTensor(random, [2, h!, w!, 2])]);
      assert.deepEqual(exported.inputs[0]!.shape, [-1, -1, -1, 2]);
    }
    const dilated = sequential([null, null, 2] as unknown as number[], [tf.layers.conv2d({ filters: 1, kernelSize: 3, dilationRate: 2, padding: 'same', name: 'wide' })], 54);
    throwsUserInputError(() => exportLayersModel(dilated), /^layer 'wide' \(Conv2D\): 'same' padding with dilationRate 2,2 needs the input's height and width known/);
  });

  it("MaxPooling2D and AveragePooling2D, 'same' (edge windows average only the cells inside) and 'valid', odd sizes", async () => {
    await agreesOn([7, 5, 2], [tf.layers.maxPooling2d({ poolSize: 2, padding: 'same' })], 38);
    await agreesOn([7, 5, 2], [tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'valid' })], 39);
    await agreesOn([7, 5, 2], [tf.layers.averagePooling2d({ poolSize: 2, padding: 'same' })], 40);
    await agreesOn([7, 5, 2], [tf.layers.averagePooling2d({ poolSize: [3, 2], strides: [2, 1], padding: 'same' })], 41);
    await agreesOn([7, 5, 2], [tf.layers.averagePooling2d({ poolSize: 2, padding: 'valid' })], 42);
  });

  it('UpSampling2D nearest and bilinear; GlobalAveragePooling2D and GlobalMaxPooling2D', async () => {
    await agreesOn([3, 4, 2], [tf.layers.upSampling2d({ size: [2, 3] })], 43);
    await agreesOn([3, 4, 2], [tf.layers.upSampling2d({ size: [2, 2], interpolation: 'bilinear' })], 44);
    await agreesOn([5, 4, 3], [tf.layers.globalAveragePooling2d({})], 45);
    await agreesOn([5, 4, 3], [tf.layers.globalMaxPooling2d({})], 46);
  });

  it("Conv2DTranspose: 'same' and 'valid', kernel larger and smaller than the stride", async () => {
    await agreesOn([4, 3, 2], [tf.layers.conv2dTranspose({ filters: 3, kernelSize: 3, strides: 2, padding: 'same' })], 47);
    await agreesOn([4, 3, 2], [tf.layers.conv2dTranspose({ filters: 3, kernelSize: 3, strides: 2, padding: 'valid', activation: 'sigmoid' })], 48);
    await agreesOn([4, 3, 2], [tf.layers.conv2dTranspose({ filters: 2, kernelSize: 2, strides: 3, padding: 'same' })], 49);
    await agreesOn([4, 3, 2], [tf.layers.conv2dTranspose({ filters: 2, kernelSize: [4, 1], strides: [1, 2], padding: 'valid' })], 50);
  });

  it('a small image model: Conv2D, BatchNormalization, MaxPooling2D, UpSampling2D, Conv2DTranspose, GlobalAveragePooling2D, softmax', async () => {
    await agreesOn(
      [8, 8, 3],
      [
        tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }),
        tf.layers.batchNormalization(),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.upSampling2d({}),
        tf.layers.conv2dTranspose({ filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'elu' }),
        tf.layers.globalAveragePooling2d({}),
        tf.layers.dense({ units: 3, activation: 'softmax' }),
      ],
      51,
    );
  });

  it("refuses a layer it cannot export, naming the layer, its class and what is supported", () => {
    const lstm = tf.sequential({ layers: [tf.layers.lstm({ inputShape: [4, 3], units: 2, name: 'lstm_1' }), tf.layers.dense({ units: 1 })] });
    throwsUserInputError(() => exportLayersModel(lstm), /^layer 'lstm_1' \(LSTM\) cannot be exported to ONNX yet; supported: .*\bConv2DTranspose\b.*\bDense\b/);
    const rnn = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4, 3], units: 3 }), tf.layers.simpleRNN({ units: 2, name: 'memory' })] });
    throwsUserInputError(() => exportLayersModel(rnn), /^layer 'memory' \(SimpleRNN\) cannot be exported to ONNX yet/);
    assert.ok(SUPPORTED_LAYERS.includes('Embedding') && !SUPPORTED_LAYERS.includes('LSTM'));
  });

  it('a penguin species classifier agrees with tfjs after training (predictions and the class each row gets)', async () => {
    type Penguin = Record<string, string | number | null>;
    const columns = ['Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Body Mass (g)'];
    const species = ['Adelie', 'Chinstrap', 'Gentoo'];
    const rows = (JSON.parse(readFileSync(vegaFile('penguins.json'), 'utf8')) as Penguin[]).filter((r) => columns.every((c) => typeof r[c] === 'number'));
    const stats = columns.map((c) => {
      const values = rows.map((r) => r[c] as number);
      const mean = values.reduce((a, b) => a + b, 0) / values.length;
      return { mean, std: Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length) };
    });
    const features = tf.tensor(rows.map((r) => columns.map((c, j) => ((r[c] as number) - stats[j]!.mean) / stats[j]!.std)));
    const labels = tf.oneHot(tf.tensor1d(rows.map((r) => species.indexOf(r.Species as string)), 'int32'), 3);
    const input = tf.input({ shape: [4], name: 'measurements' });
    const hidden = tf.layers.dense({ units: 16, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tf.SymbolicTensor;
    const normed = tf.layers.batchNormalization().apply(tf.layers.dropout({ rate: 0.2 }).apply(hidden)) as tf.SymbolicTensor;
    const deeper = tf.layers.dense({ units: 8, activation: 'gelu', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }).apply(normed) as tf.SymbolicTensor;
    const output = tf.layers.dense({ units: 3, activation: 'softmax', name: 'species', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }).apply(deeper) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: output });
    model.compile({ optimizer: tf.train.adam(0.02), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    await model.fit(features, labels, { epochs: 30, batchSize: 32, verbose: 0 });

    const exported = await assertAgreement(model, [features]);
    const onnxProbabilities = (await runExported(exported, [features])).species!.data as Float32Array;
    const tfjsProbabilities = (model.predict(features) as tf.Tensor).dataSync();
    assertClose(onnxProbabilities, tfjsProbabilities, 'species');
    const argmax = (p: ArrayLike<number>, row: number): number => [0, 1, 2].reduce((best, k) => (p[row * 3 + k]! > p[row * 3 + best]! ? k : best), 0);
    const onnxClasses = rows.map((_, i) => argmax(onnxProbabilities, i));
    assert.deepEqual(onnxClasses, rows.map((_, i) => argmax(tfjsProbabilities, i)));
    const accuracy = onnxClasses.filter((k, i) => species[k] === rows[i]!.Species).length / rows.length;
    assert.ok(accuracy >= 0.95, `trained accuracy ${accuracy} (the model did not learn: the comparison would be of an untrained net)`);
  });
});
