import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buildMlpModel, SMALL_MLP } from '../../bench/serving/models';
import type { TestArtifact } from '../support/executor-harness';
import { tempDir } from '../support/tmp';

/** The serving config the fixture's Trainer "wrote" (named otherwise than the pushed model, as a Trainer does). */
export const TRAINER_CONFIG = { name: 'trainer-output', max_batch_size: 8, dynamic_batching: {} };

/** A ServingModel as the Trainer writes it, its graph an MLP whose weights come from `seed` (so each seed answers otherwise). */
export async function servingModel(seed: number): Promise<{ dir: string; onnx: Uint8Array }> {
  const dir = await tempDir(`serving-model-${seed}`);
  const onnx = buildMlpModel({ ...SMALL_MLP, seed });
  await writeFile(path.join(dir, 'serving.onnx'), onnx);
  await writeFile(path.join(dir, 'signature.json'), JSON.stringify({ inputs: [{ name: 'input' }], outputs: [{ name: 'probabilities' }] }));
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(TRAINER_CONFIG));
  return { dir, onnx };
}

/** A ModelBlessing as the Evaluator writes it: blessed or not, with one accuracy check. */
export async function blessing(blessed: boolean, accuracy = 0.93): Promise<TestArtifact> {
  const dir = await tempDir('blessing');
  const verdict = blessed ? 'blessed' : 'not blessed: accuracy 0.41 < 0.9';
  const check = { metric: 'accuracy', slice: {}, kind: 'value', threshold: { lower: 0.9 }, value: blessed ? accuracy : 0.41, passed: blessed, reason: 'accuracy >= 0.9' };
  await writeFile(path.join(dir, 'blessing.json'), JSON.stringify({ blessed, verdict, model: 'file:///m', baseline: null, checks: [check] }));
  await writeFile(path.join(dir, blessed ? 'BLESSED' : 'NOT_BLESSED'), '');
  return { localDir: dir, properties: { blessed } };
}

/** An InfraBlessing as the InfraValidator writes it: its marker, and a config.json with warm-up requests. */
export async function infraBlessing(blessed: boolean): Promise<TestArtifact> {
  const dir = await tempDir('infra-blessing');
  await writeFile(path.join(dir, 'config.json'), JSON.stringify({ ...TRAINER_CONFIG, model_warmup: [] }));
  await writeFile(path.join(dir, blessed ? 'INFRA_BLESSED' : 'INFRA_NOT_BLESSED'), '');
  return { localDir: dir, properties: { blessed } };
}

/** Runs `fn` with the MLPIPE_* variables set as a worker's environment would have them, restored after. */
export async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
