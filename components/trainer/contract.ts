import type * as tf from '@tensorflow/tfjs';
import type { SchemaPayload } from '../schema-gen/payload';
import type { TransformSignature } from '../transform/signature';

/**
 * The contract between the Trainer and a user's TypeScript training module (TFX's `run_fn`): the module
 * exports `train(args)` and returns a compiled, trained `tf.LayersModel`; the Trainer owns everything
 * around it (data, backend, checkpoints, resuming, export).
 *
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import type { TrainArgs } from 'mlpipe/trainer';             // this file's types (apart from the package root, so a
 *                                                              // pipeline that does not train never type-checks tfjs)
 *
 * export async function train(args: TrainArgs): Promise<tf.LayersModel> {
 *   const model = args.model ?? buildAndCompile(args);            // resuming: the restored model, compiled, optimizer state included
 *   await model.fitDataset(args.trainDataset, {
 *     epochs: args.epochs,
 *     initialEpoch: args.initialEpoch,                          // resuming: continue where the checkpoint ended
 *     validationData: args.evalDataset,
 *     callbacks: args.fitCallbacks(),                           // metrics, checkpoints and cancellation
 *   });
 *   return model;
 * }
 * ```
 *
 * Resuming. At the end of every epoch `fitCallbacks()` checkpoints the model's topology, weights and
 * optimizer state. When a worker dies mid-training, the retried attempt restores them and calls
 * `train` again with `args.model` (the restored model, already compiled with the saved optimizer and
 * its state: do not compile it again, which would start a fresh optimizer) and `args.initialEpoch` (the
 * first epoch not finished). If `args.model` is given, continue from it at `args.initialEpoch`.
 *
 * Reproducibility. The shuffle of epoch e depends only on (seed, e), and `Math.random` (which tfjs
 * uses for initializers, Dropout and `fit`'s shuffle when given no seed) restarts from (seed, e) at
 * every epoch's start, so a resumed run trains the same batches to the same weights as an
 * uninterrupted one.
 *
 * Your own loop. Instead of `fit`/`fitDataset`, call the callbacks yourself:
 * `const cb = args.fitCallbacks(); cb.setModel(model); await cb.onTrainBegin();` then for each epoch e
 * from `args.initialEpoch`: `await cb.onEpochBegin(e)`, iterate `args.trainDataset.epoch(e)` (dispose
 * each batch's tensors), `await cb.onEpochEnd(e, { loss })`; finally `await cb.onTrainEnd()`.
 */

/**
 * One batch: every transformed feature by its output's name, as float32 `[rows, width]` (width 1 for a
 * scalar, the vocabulary size for a one-hot), and the label: float32 `[rows, classes]` one-hot for a
 * classification label (a labelIds output), float32 `[rows, 1]` otherwise. Ids (vocabulary ids,
 * buckets, hashes, date parts) arrive as float32 holding whole numbers, which Embedding and Dense take
 * as they are; `tf.cast(x, 'int32')` for `tf.oneHot`.
 */
export type Batch = { xs: Record<string, tf.Tensor2D>; ys: tf.Tensor2D };

/**
 * The training split, batched and shuffled. A pass over it (what `fitDataset` makes once per epoch)
 * yields the epoch that `fitCallbacks()` last began, `initialEpoch` before any; `epoch(e)` yields epoch
 * e explicitly, for loops of your own. Once the callbacks know the model (`fit` and `fitDataset` tell
 * them), `xs` holds only the features the model takes as inputs (by name), so none is left undisposed.
 */
export type TrainDataset = tf.data.Dataset<Batch> & { epoch(e: number): tf.data.Dataset<Batch> };

/** A transformed feature as the datasets deliver it (the transform signature's order, the label left out). */
export interface FeatureInfo {
  name: string;
  /** Values per row: 1 for a scalar, the vocabulary size (plus OOV buckets) for a one-hot. */
  width: number;
  /** `ids` for the transform's int64 outputs (whole numbers: vocabulary ids, buckets, hashes, date parts). */
  kind: 'number' | 'ids';
}

export interface TrainArgs {
  trainDataset: TrainDataset;
  /** The eval split, batched, in its stored order (not shuffled); `validationData` for `fitDataset`. */
  evalDataset: tf.data.Dataset<Batch>;
  /** The pipeline's `hyperparameters`, as given. */
  hyperparameters: Record<string, unknown>;
  schema: SchemaPayload;
  transformSignature: TransformSignature;
  /** The transformed output that is the label. */
  label: string;
  /** The label's classes in id order for a classification label (the width of `ys`); undefined for a number. */
  classes: string[] | undefined;
  features: FeatureInfo[];
  epochs: number;
  batchSize: number;
  seed: number;
  /** The first epoch to train: 0, or the first one a previous attempt did not finish. */
  initialEpoch: number;
  /** Resuming: the model as the last checkpoint left it, compiled, with its optimizer's state. */
  model?: tf.LayersModel;
  /**
   * A fresh callback for `fit`/`fitDataset` (`callbacks: args.fitCallbacks()`, or in a list with your
   * own): reports each epoch's metrics, checkpoints weights and optimizer state at each epoch's end,
   * reseeds `Math.random` at each epoch's start, and stops training when the run is cancelled.
   */
  fitCallbacks(): tf.Callback;
  /** A line for the executor's log. */
  log(message: string): void;
}

export interface TrainModule {
  train(args: TrainArgs): Promise<tf.LayersModel>;
}
