import * as tf from '@tensorflow/tfjs';
import type { TrainArgs } from '../../components/trainer/contract';

/**
 * The penguins' species classifier, a training loop as a TypeScript user writes it (TFX's run_fn): one
 * input per transformed feature, concatenated, two small dense layers, softmax over the species. The
 * Trainer gives the data, checkpoints every epoch through `fitCallbacks()`, and after a crash calls
 * `train` again with the restored `args.model` and the epoch to continue from.
 */
export async function train(args: TrainArgs): Promise<tf.LayersModel> {
  const model = args.model ?? build(args);
  await model.fitDataset(args.trainDataset, {
    epochs: args.epochs,
    initialEpoch: args.initialEpoch,
    validationData: args.evalDataset,
    callbacks: args.fitCallbacks(),
    verbose: 0,
  });
  return model;
}

function build(args: TrainArgs): tf.LayersModel {
  const { hidden = 16, learningRate = 0.01 } = args.hyperparameters as { hidden?: number; learningRate?: number };
  const inputs = args.features.map((feature) => tf.input({ shape: [feature.width], name: feature.name }));
  const features = tf.layers.concatenate().apply(inputs) as tf.SymbolicTensor;
  const h1 = tf.layers.dense({ units: hidden, activation: 'relu' }).apply(features) as tf.SymbolicTensor;
  const h2 = tf.layers.dense({ units: hidden / 2, activation: 'relu' }).apply(h1) as tf.SymbolicTensor;
  const species = tf.layers.dense({ units: args.classes!.length, activation: 'softmax', name: 'probabilities' }).apply(h2) as tf.SymbolicTensor;
  const model = tf.model({ inputs, outputs: species });
  model.compile({ optimizer: tf.train.adam(learningRate), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}
