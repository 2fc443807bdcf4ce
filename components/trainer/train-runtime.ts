import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UserInputError, type Progress } from '../../dsl/executor';
import type { SchemaPayload } from '../schema-gen/payload';
import type { TransformSignature } from '../transform/signature';
import { chooseBackend, fallBackToCpu, missingKernel, type BackendChoice } from './backend';
import { restoreCheckpoint, saveCheckpoint, TrainerCheckpointStateSchema, type EpochMetrics, type TrainerCheckpointState } from './checkpoint-files';
import type { TrainArgs, TrainModule } from './contract';
import { CachedSplit, dataLayout, DatasetControl, evalDataset, trainDataset } from './datasets';
import { epochRandomStream, INIT_STREAM, SeededMathRandom } from './seeded-random';
import type { TrainerParameters } from './spec';

/**
 * Runs a user's TypeScript `train(args)` (contract.ts) to the end, in the executor's process: reads
 * the splits, picks the backend, restores the last checkpoint when the attempt resumes, checkpoints
 * every epoch's end, relays per-epoch metrics as progress, and falls back to cpu when the backend
 * lacks a kernel the model needs (the user's code runs again from the last checkpoint there).
 */

export interface TypeScriptTrainerOptions {
  /** The user's module, absolute; `.ts` loads through tsx. */
  modulePath: string;
  params: TrainerParameters;
  /** The transformed Examples' `Split-<trainSplit>/` and `Split-<evalSplit>/` directories. */
  trainDir: string;
  evalDir: string;
  schema: SchemaPayload;
  signature: TransformSignature;
  /** The node's checkpoint directory (ctx.checkpointDir) and its resume state (ctx.resumeState). */
  checkpointDir: string;
  resumeState: unknown;
  checkpoint(state: TrainerCheckpointState): Promise<void>;
  /** Scratch space for the splits' column files. */
  tmpDir: string;
  progress(progress: Progress): void;
  signal: AbortSignal;
  /** A line for the executor's log (stdout by default). */
  log?: (line: string) => void;
}

export interface TypeScriptTrainerResult {
  model: tf.LayersModel;
  /** The epochs this call trained (a resumed one starts after the checkpoint's). */
  epochsRun: number[];
  /** Every epoch's metrics, those of earlier attempts (from the checkpoint) included. */
  metrics: EpochMetrics[];
  backend: BackendChoice['backend'];
  reason: string;
}

let typescriptLoader = false;

/**
 * The module's `train`. A module with its own copy of @tensorflow/tfjs would build models the
 * worker's backends never see, so that is refused up front.
 */
function loadTrainModule(file: string): TrainModule['train'] {
  if (!existsSync(file)) throw new UserInputError(`Trainer module ${file} does not exist`);
  if (/\.[cm]?tsx?$/.test(file) && !typescriptLoader) {
    (require('tsx/cjs/api') as { register(): void }).register();
    typescriptLoader = true;
  }
  let mod: Record<string, unknown>;
  try {
    mod = require(file) as Record<string, unknown>;
  } catch (err) {
    throw new UserInputError(`Trainer module ${file} failed to load: ${(err as Error).message}`);
  }
  const fromDefault = typeof mod.default === 'object' && mod.default !== null ? (mod.default as Record<string, unknown>).train : undefined;
  const train = mod.train ?? fromDefault;
  if (typeof train !== 'function') {
    throw new UserInputError(`Trainer module ${file} exports no train(args) function (its exports: ${Object.keys(mod).join(', ') || 'none'})`);
  }
  const ours = require.resolve('@tensorflow/tfjs');
  let theirs: string | undefined;
  try {
    theirs = require.resolve('@tensorflow/tfjs', { paths: [path.dirname(file)] });
  } catch {
    theirs = undefined;
  }
  if (theirs !== undefined && theirs !== ours) {
    throw new UserInputError(`Trainer module ${file} loads @tensorflow/tfjs from ${theirs}, not the worker's ${ours}: remove that copy so the module uses the worker's`);
  }
  return train as TrainModule['train'];
}

type Logs = Parameters<tf.Callback['onEpochEnd']>[1];

async function numbersOf(logs: Logs): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(logs ?? {})) {
    out[key] = typeof value === 'number' ? value : (await value.data())[0]!;
  }
  return out;
}

/** `loss 0.2100, acc 0.9300, val_loss ...`: the train metrics first, as Keras prints them. */
function describeMetrics(m: EpochMetrics): string {
  return Object.entries(m)
    .filter(([k]) => k !== 'epoch')
    .sort(([a], [b]) => Number(a.startsWith('val_')) - Number(b.startsWith('val_')))
    .map(([k, v]) => `${k} ${v.toPrecision(4)}`)
    .join(', ');
}

/** What happens at epoch boundaries, shared by every callback `fitCallbacks()` makes. */
interface EpochHooks {
  modelKnown(model: tf.LayersModel): void;
  epochBegin(epoch: number): void;
  epochEnd(model: tf.LayersModel, epoch: number, logs: Logs): Promise<void>;
  signal: AbortSignal;
}

class TrainerCallback extends tf.Callback {
  constructor(private readonly hooks: EpochHooks) {
    super();
  }

  override setModel(model: Parameters<tf.Callback['setModel']>[0]): void {
    super.setModel(model);
    this.hooks.modelKnown(this.model);
  }

  override async onEpochBegin(epoch: number): Promise<void> {
    this.hooks.epochBegin(epoch);
  }

  override async onBatchEnd(): Promise<void> {
    this.hooks.signal.throwIfAborted();
  }

  override async onEpochEnd(epoch: number, logs?: Logs): Promise<void> {
    await this.hooks.epochEnd(this.model, epoch, logs);
  }
}

export async function runTypeScriptTrainer(options: TypeScriptTrainerOptions): Promise<TypeScriptTrainerResult> {
  const { params, signal } = options;
  const log = options.log ?? ((line: string) => console.log(line));
  const train = loadTrainModule(options.modulePath);
  const layout = dataLayout(options.signature, params.label);
  let state = options.resumeState === undefined ? undefined : TrainerCheckpointStateSchema.parse(options.resumeState);

  const cacheDir = path.join(options.tmpDir, 'trainer-columns');
  const readSplit = async (name: string, dir: string) => {
    const splitDir = path.join(cacheDir, name);
    await mkdir(splitDir, { recursive: true });
    const split = await CachedSplit.read({
      split: { name, dir },
      layout,
      dir: splitDir,
      signal,
      onProgress: (p) => options.progress({ message: `reading split ${p.split}: ${p.rows} rows`, counters: { rows: p.rows } }),
    });
    log(`split ${name}: ${split.rows} rows`);
    return split;
  };
  const trainSplit = await readSplit(params.trainSplit, options.trainDir);
  // Only the first epoch's end needs the eval split: its read (DuckDB works off the JavaScript thread) overlaps
  // that epoch instead of delaying it. Its error surfaces where the eval pass awaits it, or before the
  // result is returned; the handler here keeps a read that fails while nothing awaits it (training
  // failed first, or the module validates on nothing) from being an unhandled rejection.
  const evalSplit = readSplit(params.evalSplit, options.evalDir);
  evalSplit.catch(() => undefined);

  const random = new SeededMathRandom(params.seed);
  const epochsRun: number[] = [];
  try {
    let choice = await chooseBackend(params.backend);
    log(`backend ${choice.backend}: ${choice.reason}`);
    for (;;) {
      const restored = state ? await restoreCheckpoint(options.checkpointDir) : undefined;
      const initialEpoch = state ? state.epoch + 1 : 0;
      const metrics = restored?.metrics ?? [];
      if (restored) log(`resuming at epoch ${initialEpoch} from the checkpoint of epoch ${state!.epoch}`);
      if (initialEpoch >= params.epochs && restored) {
        await evalSplit;
        return { model: restored.model, epochsRun, metrics, backend: choice.backend, reason: choice.reason };
      }
      const control = new DatasetControl(initialEpoch);
      const hooks: EpochHooks = {
        signal,
        modelKnown: (model) => {
          const features = new Set(layout.features.map((f) => f.name));
          control.inputs = model.inputNames.every((n) => features.has(n)) ? new Set(model.inputNames) : undefined;
        },
        epochBegin: (epoch) => {
          control.epoch = epoch;
          random.reseed(epochRandomStream(epoch));
          options.progress({ fraction: epoch / params.epochs, message: `epoch ${epoch + 1}/${params.epochs} on ${choice.backend}` });
        },
        epochEnd: async (model, epoch, logs) => {
          const epochMetrics: EpochMetrics = { epoch, ...(await numbersOf(logs)) };
          metrics.push(epochMetrics);
          await saveCheckpoint(options.checkpointDir, model, metrics);
          const saved: TrainerCheckpointState = { trainer: 1, epoch };
          await options.checkpoint(saved);
          state = saved;
          epochsRun.push(epoch);
          const line = `epoch ${epoch + 1}/${params.epochs}: ${describeMetrics(epochMetrics)}`;
          log(line);
          options.progress({ fraction: (epoch + 1) / params.epochs, message: line, counters: { ...epochMetrics, epoch: epoch + 1 } });
        },
      };
      const args: TrainArgs = {
        trainDataset: trainDataset(trainSplit, control, { seed: params.seed, batchSize: params.batchSize, signal }),
        evalDataset: evalDataset(evalSplit, control, { batchSize: params.batchSize, signal }),
        hyperparameters: params.hyperparameters,
        schema: options.schema,
        transformSignature: options.signature,
        label: params.label,
        classes: layout.label.classes,
        features: layout.features,
        epochs: params.epochs,
        batchSize: params.batchSize,
        seed: params.seed,
        initialEpoch,
        model: restored?.model,
        fitCallbacks: () => new TrainerCallback(hooks),
        log,
      };
      random.reseed(INIT_STREAM);
      let model: unknown;
      try {
        model = await train(args);
      } catch (err) {
        const missing = missingKernel(err);
        if (!missing || choice.backend === 'cpu' || signal.aborted) throw err;
        choice = await fallBackToCpu(choice, missing);
        log(`backend cpu: ${choice.reason}; training again from ${state ? `the checkpoint of epoch ${state.epoch}` : 'the start'}`);
        continue;
      }
      signal.throwIfAborted();
      if (!(model instanceof tf.LayersModel)) {
        throw new UserInputError(`Trainer module ${options.modulePath}: train(args) must return a tf.LayersModel, and returned ${describeValue(model)}`);
      }
      if (epochsRun.length === 0) {
        throw new UserInputError(
          `Trainer module ${options.modulePath}: train(args) returned without ending an epoch through args.fitCallbacks(); pass callbacks: args.fitCallbacks() to fit/fitDataset (they checkpoint each epoch)`,
        );
      }
      await evalSplit;
      return { model, epochsRun, metrics, backend: choice.backend, reason: choice.reason };
    }
  } finally {
    random.restore();
    await Promise.all([trainSplit.close(), evalSplit.then((split) => split.close(), () => undefined)]);
  }
}

function describeValue(value: unknown): string {
  if (value === null || typeof value !== 'object') return String(value);
  return `an instance of ${value.constructor?.name ?? 'Object'}`;
}
