import * as tf from '@tensorflow/tfjs';
import type { TrainArgs } from '../../components/trainer/contract';

/**
 * The flight delay classifier: one input per transformed feature (hour, day of week and month as
 * numbers, the distance's z-score, origin and destination one-hot), concatenated, two dense layers,
 * softmax over 'on time' and 'delayed'. Every layer has a gradient on the wasm backend, so the Trainer
 * trains it there; Embedding layers for the airports would move it to cpu. As penguins' trainer, it
 * continues from `args.model` at `args.initialEpoch` after a crash.
 */
export async function train(args: TrainArgs): Promise<tf.LayersModel> {
  const model = args.model ?? build(args);
  await model.fitDataset(args.trainDataset, {
    epochs: args.epochs,
    initialEpoch: args.initialEpoch,
    // `validate: false` leaves out the eval pass after each epoch (bench/trainer-flights.ts times training alone).
    validationData: args.hyperparameters.validate === false ? undefined : args.evalDataset,
    callbacks: args.fitCallbacks(),
    verbose: 0,
  });
  return model;
}

function build(args: TrainArgs): tf.LayersModel {
  const { hidden = 32, learningRate = 0.003 } = args.hyperparameters as { hidden?: number; learningRate?: number };
  const inputs = args.features.map((feature) => tf.input({ shape: [feature.width], name: feature.name }));
  const features = tf.layers.concatenate().apply(inputs) as tf.SymbolicTensor;
  const h1 = tf.layers.dense({ units: hidden, activation: 'relu' }).apply(features) as tf.SymbolicTensor;
  const h2 = tf.layers.dense({ units: hidden / 2, activation: 'relu' }).apply(h1) as tf.SymbolicTensor;
  const delayed = tf.layers.dense({ units: args.classes!.length, activation: 'softmax', name: 'probabilities' }).apply(h2) as tf.SymbolicTensor;
  const model = tf.model({ inputs, outputs: delayed });
  model.compile({ optimizer: tf.train.adam(learningRate), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}
