import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { UserInputError } from '../../dsl/executor';

export type BackendRequest = 'auto' | 'wasm' | 'cpu' | 'tensorflow';
export type BackendName = 'wasm' | 'cpu' | 'tensorflow';

export interface BackendChoice {
  backend: BackendName;
  /** Why this backend, for the log and the run summary. */
  reason: string;
}

/** The packages that register tfjs's `tensorflow` backend (libtensorflow, native), GPU build first. */
const TENSORFLOW_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

/**
 * Loads tfjs-node (GPU build first) if the worker has it installed: importing it registers the
 * `tensorflow` backend with the @tensorflow/tfjs this process uses (its documented use,
 * `require('@tensorflow/tfjs-node')`). Untested here: tfjs-node's installer downloads libtensorflow,
 * which our machines cannot reach. Returns the package loaded, or why none was.
 */
function loadTensorflowBackend(): { loaded: string } | { why: string } {
  const problems: string[] = [];
  for (const name of TENSORFLOW_PACKAGES) {
    try {
      require.resolve(name);
    } catch {
      continue;
    }
    try {
      require(name);
      return { loaded: name };
    } catch (err) {
      problems.push(`${name} is installed but does not load: ${(err as Error).message}`);
    }
  }
  return { why: problems.length > 0 ? problems.join('; ') : `neither ${TENSORFLOW_PACKAGES.join(' nor ')} is installed` };
}

async function activate(backend: BackendName): Promise<void> {
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend "${backend}" did not initialise`);
  await tf.ready();
}

/**
 * The backend a run starts on, made active: `auto` is `tensorflow` when tfjs-node loads (a GPU worker's
 * case), else `wasm`, the fastest that installs everywhere for dense nets (about 3.5x `cpu`).
 */
export async function chooseBackend(request: BackendRequest): Promise<BackendChoice> {
  let choice: BackendChoice;
  if (request === 'tensorflow' || request === 'auto') {
    const tensorflow = loadTensorflowBackend();
    if ('loaded' in tensorflow) {
      choice = { backend: 'tensorflow', reason: `${request === 'auto' ? 'auto: ' : ''}${tensorflow.loaded} is installed` };
    } else if (request === 'tensorflow') {
      throw new UserInputError(`Trainer backend "tensorflow" needs @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu on the worker: ${tensorflow.why}`);
    } else {
      choice = { backend: 'wasm', reason: `auto: ${tensorflow.why}, so wasm` };
    }
  } else {
    choice = { backend: request, reason: 'as the pipeline asked' };
  }
  await activate(choice.backend);
  return choice;
}

/** The kernel an error says the active backend lacks (`Kernel 'UnsortedSegmentSum' not registered for backend 'wasm'`). */
export function missingKernel(err: unknown): { kernel: string; backend: string } | undefined {
  const match = err instanceof Error ? /Kernel '([^']+)' not registered for backend '([^']+)'/.exec(err.message) : null;
  return match ? { kernel: match[1]!, backend: match[2]! } : undefined;
}

/**
 * Switches to `cpu`, which has every kernel tfjs defines, after `failed` met a missing one: the
 * model's variables on the old backend are dropped, since the caller builds or restores the model
 * again on cpu.
 */
export async function fallBackToCpu(failed: BackendChoice, missing: { kernel: string }): Promise<BackendChoice> {
  tf.disposeVariables();
  await activate('cpu');
  return {
    backend: 'cpu',
    reason: `${failed.backend} lacks the kernel ${missing.kernel} that this model's training needs (${failed.reason}); cpu has it`,
  };
}
