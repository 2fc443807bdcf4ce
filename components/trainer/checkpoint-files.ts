import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { ComponentError } from '../../dsl/executor';

/**
 * A training checkpoint in the node's checkpoint directory: the model as tfjs saves it with its
 * optimizer (`model.json`: topology, training config, weight specs, the optimizer's last; `weights.bin`:
 * the weights, then the optimizer's, as `model.save(..., { includeOptimizer: true })` lays them out) and
 * the metrics of every epoch so far. `tf.loadLayersModel` reads it back compiled, optimizer state set.
 */

const MODEL_FILE = 'model.json';
const WEIGHTS_FILE = 'weights.bin';
const METRICS_FILE = 'metrics.json';

/** One epoch's logs: the loss and the model's metrics, train and `val_` eval, as `fit` reports them. */
export const EpochMetricsSchema = z.object({ epoch: z.number().int().min(0) }).catchall(z.number());
export type EpochMetrics = z.infer<typeof EpochMetricsSchema>;

/** The state each checkpoint commits with its files: the last epoch they finished. */
export const TrainerCheckpointStateSchema = z.object({ trainer: z.literal(1), epoch: z.number().int().min(0) }).strict();
export type TrainerCheckpointState = z.infer<typeof TrainerCheckpointStateSchema>;

const SavedModelSchema = z
  .object({
    modelTopology: z.record(z.string(), z.unknown()),
    format: z.string().optional(),
    generatedBy: z.string().optional(),
    convertedBy: z.string().nullable().optional(),
    trainingConfig: z.record(z.string(), z.unknown()).optional(),
    weightSpecs: z.array(z.object({ name: z.string(), shape: z.array(z.number()), dtype: z.string() }).loose()),
  })
  .loose();

/** Replaces a file whole, so a crash mid-write leaves the previous one. */
async function replaceFile(file: string, data: string | Uint8Array): Promise<void> {
  await writeFile(`${file}.partial`, data);
  await rename(`${file}.partial`, file);
}

function bytesOf(data: tf.io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  return new Uint8Array(new tf.io.CompositeArrayBuffer(data).slice());
}

export async function saveCheckpoint(dir: string, model: tf.LayersModel, metrics: EpochMetrics[]): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const { weightData, ...json } = artifacts;
      await replaceFile(path.join(dir, WEIGHTS_FILE), bytesOf(weightData));
      await replaceFile(path.join(dir, MODEL_FILE), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
    { includeOptimizer: true },
  );
  await replaceFile(path.join(dir, METRICS_FILE), JSON.stringify(metrics));
}

export interface RestoredCheckpoint {
  model: tf.LayersModel;
  metrics: EpochMetrics[];
}

/** The model and metrics a checkpoint holds; a missing or unreadable file is an error naming it (a retry cannot mend it). */
export async function restoreCheckpoint(dir: string): Promise<RestoredCheckpoint> {
  const read = async (name: string) => {
    try {
      return await readFile(path.join(dir, name));
    } catch (err) {
      throw new ComponentError(`the training checkpoint in ${dir} lacks ${name}: ${(err as Error).message}`);
    }
  };
  const saved = SavedModelSchema.parse(JSON.parse((await read(MODEL_FILE)).toString('utf8')));
  const weights = await read(WEIGHTS_FILE);
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength);
  const model = await tf.loadLayersModel(tf.io.fromMemory({ ...(saved as tf.io.ModelArtifacts), weightData }));
  const metrics = z.array(EpochMetricsSchema).parse(JSON.parse((await read(METRICS_FILE)).toString('utf8')));
  return { model, metrics };
}
