import { z } from 'zod';

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
