import { z } from 'zod';
import path from 'node:path';
import { defineComponent } from '../../dsl/component';
import type { ResolveContext, ResolvedInputs } from '../../dsl/resolve';
import { UserInputError } from '../../dsl/executor';

/** The resolved file sets keyed into the cache: the user's training module, or the files their command reads. */
export const MODULE_KEY = 'module';
export const SCRIPT_FILES_KEY = 'scriptFiles';

export const TrainerParametersSchema = z
  .object({
    /**
     * A TypeScript or JavaScript module exporting `train(args)` (contract.ts), as TFX's `run_fn`: its
     * content is part of the cache key. Exactly one of `module` and `command`.
     */
    module: z.string().min(1).optional(),
    /**
     * The user's own training program, any language: `['python3', 'train.py', '--depth', '3']`, run as a
     * child process with the contract of run-script.ts (environment variables naming the data, the
     * output directory where it writes `model.onnx`, the checkpoint directory, progress lines).
     */
    command: z.array(z.string().min(1)).min(1).optional(),
    /** Files (paths or globs) the command reads, keyed into the cache: the script itself at least. */
    scriptFiles: z.array(z.string().min(1)).default([]),
    /** The command's working directory (the worker's by default). */
    cwd: z.string().min(1).optional(),
    /**
     * How transformed features reach the model's inputs in the serving graph (serving-graph.ts):
     * `byName` (each output to the model input of its name: what a TypeScript model with one input per
     * feature takes, the default with `module`) or `concat` (every output as float32, one-hots
     * expanded, concatenated in the transform signature's order into the model's one input: what a
     * scikit-learn model takes, the default with `command`).
     */
    inputMode: z.enum(['byName', 'concat']).optional(),
    /** Whether the model's class scores are probabilities or logits, when its output's name or last op does not say. */
    scores: z.enum(['probabilities', 'logits']).optional(),
    /** The model output holding the class scores or the prediction, when it has several (skl2onnx: `probabilities`). */
    scoresOutput: z.string().min(1).optional(),
    /** Passed to the user's code as they are (`args.hyperparameters`, `MLPIPE_HYPERPARAMETERS`). */
    hyperparameters: z.record(z.string(), z.unknown()).default({}),
    epochs: z.number().int().min(1).default(10),
    batchSize: z.number().int().min(1).default(32),
    /** Shuffling of every epoch depends on (seed, epoch) only, so a resumed run sees the same batches. */
    seed: z.number().int().min(0).default(0),
    /** tfjs backend: `auto` is `tensorflow` when tfjs-node is installed, else `wasm` (backend.ts). */
    backend: z.enum(['auto', 'wasm', 'cpu', 'tensorflow']).default('auto'),
    trainSplit: z.string().min(1).default('train'),
    evalSplit: z.string().min(1).default('eval'),
    /** The transformed feature that is the label (a labelIds output or a number); its classes come from the transform signature. */
    label: z.string().min(1),
  })
  .strict()
  .superRefine((p, ctx) => {
    if ((p.module === undefined) === (p.command === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['module'], message: 'give exactly one of module (a TypeScript train(args)) and command (your own program)' });
    }
  });
export type TrainerParameters = z.output<typeof TrainerParametersSchema>;

/** The module or the script files, listed so their content is part of the cache key (an edited script trains again). */
async function resolveTrainerFiles(ctx: ResolveContext<TrainerParameters>): Promise<ResolvedInputs> {
  const { module, scriptFiles } = ctx.parameters;
  if (module !== undefined) {
    const set = await ctx.listFiles(path.resolve(module));
    if (set.files.length !== 1) throw new UserInputError(`Trainer module "${module}" names ${set.files.length} files: name the one module exporting train(args)`);
    return { files: { [MODULE_KEY]: set }, artifacts: {} };
  }
  if (scriptFiles.length === 0) return { files: {}, artifacts: {} };
  const sets = await Promise.all(scriptFiles.map((f) => ctx.listFiles(path.resolve(f))));
  return { files: Object.fromEntries(sets.map((set, i) => [`${SCRIPT_FILES_KEY}.${i}`, set])), artifacts: {} };
}

/**
 * Trainer: the user's training, as a TypeScript `train(args)` (contract.ts) or as their own program
 * (run-script.ts), on the transformed examples; exports the model to ONNX and composes the serving
 * graph (serving-graph.ts). Runs in an executor process of its own (a crash or a leak of tfjs or of the
 * user's program never takes the worker down); checkpoints every epoch, so a retry resumes.
 */
export const Trainer = defineComponent({
  type: 'Trainer',
  version: '1',
  description: "Runs the user's training (TypeScript train(args) or their own program), exports model.onnx and composes serving.onnx",
  parameters: TrainerParametersSchema,
  inputs: { examples: { type: 'Examples' }, transformGraph: { type: 'TransformGraph' }, schema: { type: 'Schema' } },
  outputs: { model: 'Model', servingModel: 'ServingModel' },
  defaultResource: 'cpu',
  executor: { module: require.resolve('./executor'), runIn: 'process', logTo: 'model' },
  resolve: resolveTrainerFiles,
});
