/**
 * The Trainer's "bring your own training script": `Trainer({ command: ['python3', 'train.py'] })` runs
 * the user's own program, in any language, as a child process. This is its whole contract.
 *
 * What the program gets, as environment variables (the worker's own `MLPIPE_*` configuration, store
 * keys among it, is not passed on; the rest of the worker's environment is):
 *
 *   MLPIPE_TRAIN_DIR, MLPIPE_EVAL_DIR  directories of Parquet files (`data-*.parquet`), the transformed
 *                                      features of the train and eval splits: one column per transform
 *                                      output, a one-hot as a fixed-size list of floats
 *   MLPIPE_SCHEMA                      the Schema artifact's `schema.json`
 *   MLPIPE_TRANSFORM_SIGNATURE         the transform's `signature.json`: its `serving.outputs` are the
 *                                      model's features in order; `labels` gives each label's classes in
 *                                      id order. A model taking one tensor takes these features
 *                                      concatenated in that order, one-hots expanded, as float32 [N, F]
 *   MLPIPE_LABEL                       the transformed feature to predict (a labelIds output: class ids)
 *   MLPIPE_HYPERPARAMETERS             the pipeline's hyperparameters as JSON text; the same JSON is in
 *                                      the file MLPIPE_HYPERPARAMETERS_FILE (`hyperparameters.json`)
 *   MLPIPE_EPOCHS, MLPIPE_BATCH_SIZE, MLPIPE_SEED   whole numbers, as the Trainer's parameters give them
 *   MLPIPE_OUTPUT_DIR                  where the program must write `model.onnx` (and anything else it
 *                                      wants published with the model)
 *   MLPIPE_CHECKPOINT_DIR              a directory that survives retries: a retried attempt, on any
 *                                      worker, starts with the files of the latest saved checkpoint in it,
 *                                      and the program resumes from what it finds there
 *   PYTHONUNBUFFERED=1                 (unless set) so a Python program's lines arrive as they are printed
 *
 * What it says, on stdout, one line each (every line of stdout and stderr is kept in the log):
 *
 *   {"epoch": 3, "loss": 0.21, "val_accuracy": 0.97}
 *       progress: a line holding a JSON object. `epoch` (optional) is the epoch just finished, a whole
 *       number (counting from 1 reads best: the node shows epoch / MLPIPE_EPOCHS); every other field
 *       holding a finite number is a metric; other fields are ignored. Python's `NaN` and `Infinity`
 *       are read as JSON's null, so a diverging loss is dropped rather than making the line text.
 *   {"checkpoint": true}
 *       the files in MLPIPE_CHECKPOINT_DIR are consistent: mlpipe saves them to the artifact store. The
 *       program must leave the directory alone until mlpipe answers on its stdin with the line
 *       `{"checkpointSaved": true}` (a checkpoint is small next to an epoch, so waiting costs little and
 *       no copy of the directory is needed). A program that never checkpoints never reads stdin.
 *   A JSON object line breaking these rules (`epoch` not a whole number ≥ 0, `checkpoint` not true)
 *   stops the run with an error naming the line, rather than being taken for text: such a program
 *   would wait forever for a checkpoint answer, or report progress no one sees.
 *
 * How it ends: exit 0 with `MLPIPE_OUTPUT_DIR/model.onnx` written. A non-zero exit or a death by a
 * signal fails the node (not retried) with the exit code and the last lines of its output; so does a
 * missing or empty `model.onnx`. Cancellation sends SIGTERM to the program's process group (what it
 * started too), then SIGKILL after a grace period; once the program exits, anything of its group still
 * running is killed, so nothing it left behind competes with a retry for the checkpoint directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { UserInputError } from '../../dsl/executor';
import { MODEL_FILE } from './payload';

export const HYPERPARAMETERS_FILE = 'hyperparameters.json';
/** What mlpipe writes to the program's stdin once a checkpoint it asked for is saved. */
export const CHECKPOINT_SAVED_LINE = JSON.stringify({ checkpointSaved: true });

/**
 * SIGTERM to SIGKILL: under the 2 s the process executor gives its own process after a cancellation
 * (activities/executor-runner.ts ABORT_GRACE_MS), so the program is killed before the process that
 * could kill it is.
 */
const KILL_GRACE_MS = 1500;
/** After the program exits, the time its output pipes get to drain: the kernel's buffers, read in a moment. */
const STDIO_DRAIN_MS = 1000;
/** Lines quoted in a failure: a Python traceback fits, and the message stays readable in the UI. */
const TAIL_LINES = 20;
const TAIL_LINE_CHARS = 500;

export interface TrainingScriptProgress {
  epoch?: number;
  metrics: Record<string, number>;
}

export interface TrainingScriptOptions {
  command: readonly string[];
  cwd?: string;
  /** The environment the program starts from, before the contract's variables; the worker's by default. */
  env?: NodeJS.ProcessEnv;
  trainDir: string;
  evalDir: string;
  schemaFile: string;
  transformSignatureFile: string;
  hyperparameters: Record<string, unknown>;
  epochs: number;
  batchSize: number;
  seed: number;
  label: string;
  outputDir: string;
  checkpointDir: string;
  /** Where `hyperparameters.json` is written: the executor's scratch space. */
  tmpDir: string;
  /** The program's stdout and stderr, line by line, appended. */
  logFile: string;
  signal: AbortSignal;
  onProgress(progress: TrainingScriptProgress): void;
  /** Saves the checkpoint directory (`ctx.checkpoint`); `epoch` is the checkpoint line's, else the latest progress'. */
  onCheckpointReady?(at: { epoch?: number }): Promise<void>;
}

export interface TrainingScriptResult {
  modelFile: string;
  /** Every progress line, in order: the per-epoch metrics. */
  progress: TrainingScriptProgress[];
  checkpointsSaved: number;
}

const ProgressLineSchema = z.object({ epoch: z.number().int().min(0).optional(), checkpoint: z.literal(true).optional() }).loose();
/** What a contract field must hold, said the same way whatever zod found wrong with it. */
const EXPECTED: Record<string, string> = {
  epoch: 'must be a whole number ≥ 0 (the epoch just finished)',
  checkpoint: 'must be true (the checkpoint directory is ready to save)',
};

type ScriptLine = { kind: 'text' } | { kind: 'checkpoint'; epoch?: number } | { kind: 'progress'; progress: TrainingScriptProgress };

/** Python's json.dumps writes NaN and ±Infinity bare; read as null they drop out of the metrics. */
const PYTHON_NON_FINITE = /(?<=[:,[]\s*)-?(?:NaN|Infinity)(?=\s*[,}\]])/g;

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  for (const candidate of [text, text.replace(PYTHON_NON_FINITE, 'null')]) {
    try {
      const value: unknown = JSON.parse(candidate);
      return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
    } catch {
      // Not JSON as written: try once more with Python's non-finite numbers as null, then it is text.
    }
  }
  return undefined;
}

/** One line of the program's stdout: text, a checkpoint request or progress; a JSON object breaking the contract throws. */
export function parseScriptLine(line: string, lineNumber: number): ScriptLine {
  const text = line.trim();
  if (!text.startsWith('{') || !text.endsWith('}')) return { kind: 'text' };
  const object = parseJsonObject(text);
  if (object === undefined) return { kind: 'text' };
  const parsed = ProgressLineSchema.safeParse(object);
  if (!parsed.success) {
    const field = String(parsed.error.issues[0]!.path[0]);
    throw new UserInputError(`the training command's stdout line ${lineNumber} (${clip(text)}): "${field}" ${EXPECTED[field]}, got ${JSON.stringify(object[field])}`);
  }
  const { epoch, checkpoint, ...rest } = parsed.data;
  if (checkpoint) return { kind: 'checkpoint', ...(epoch === undefined ? {} : { epoch }) };
  const metrics = Object.fromEntries(Object.entries(rest).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1])));
  if (epoch === undefined && Object.keys(metrics).length === 0) return { kind: 'text' };
  return { kind: 'progress', progress: { ...(epoch === undefined ? {} : { epoch }), metrics } };
}

function clip(line: string): string {
  return line.length > TAIL_LINE_CHARS ? `${line.slice(0, TAIL_LINE_CHARS)}…` : line;
}

/** The command as a user would type it, for messages. */
export function formatCommand(command: readonly string[]): string {
  return command.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : JSON.stringify(arg))).join(' ');
}

/** The worker's environment without its own configuration, then the contract's variables. */
function programEnv(options: TrainingScriptOptions, hyperparametersFile: string): NodeJS.ProcessEnv {
  const inherited = Object.entries(options.env ?? process.env).filter(([name]) => !name.startsWith('MLPIPE_'));
  return {
    PYTHONUNBUFFERED: '1',
    ...Object.fromEntries(inherited),
    MLPIPE_TRAIN_DIR: options.trainDir,
    MLPIPE_EVAL_DIR: options.evalDir,
    MLPIPE_SCHEMA: options.schemaFile,
    MLPIPE_TRANSFORM_SIGNATURE: options.transformSignatureFile,
    MLPIPE_LABEL: options.label,
    MLPIPE_HYPERPARAMETERS: JSON.stringify(options.hyperparameters),
    MLPIPE_HYPERPARAMETERS_FILE: hyperparametersFile,
    MLPIPE_EPOCHS: String(options.epochs),
    MLPIPE_BATCH_SIZE: String(options.batchSize),
    MLPIPE_SEED: String(options.seed),
    MLPIPE_OUTPUT_DIR: options.outputDir,
    MLPIPE_CHECKPOINT_DIR: options.checkpointDir,
  };
}

function startError(command: readonly string[], cwd: string, err: NodeJS.ErrnoException): Error {
  const program = command[0]!;
  const where = program.includes('/') ? path.resolve(cwd, program) : `on PATH (${process.env.PATH ?? ''})`;
  if (err.code === 'ENOENT') return new UserInputError(`cannot start the training command ${formatCommand(command)}: program "${program}" not found ${where}`);
  if (err.code === 'EACCES') return new UserInputError(`cannot start the training command ${formatCommand(command)}: program "${program}" is not executable (${where})`);
  return err;
}

async function checkCwd(cwd: string): Promise<void> {
  const found = await stat(cwd).catch(() => undefined);
  if (!found?.isDirectory()) throw new UserInputError(`the training command's working directory ${cwd} is not a directory`);
}

async function checkModel(command: readonly string[], modelFile: string): Promise<void> {
  const found = await stat(modelFile).catch(() => undefined);
  const problem = !found ? 'wrote no model' : !found.isFile() ? 'left something that is not a file where the model goes' : found.size === 0 ? 'wrote an empty model' : undefined;
  if (problem) throw new UserInputError(`the training command ${formatCommand(command)} exited with code 0 but ${problem}: expected ${modelFile} (MLPIPE_OUTPUT_DIR/${MODEL_FILE})`);
}

/** Signals the program's whole process group (it is the group's leader); one already gone is fine. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: the group has no process left.
  }
}

function endLog(log: WriteStream): Promise<void> {
  return new Promise((resolve) => log.end(resolve));
}

/** Runs the user's training program under the contract above; resolves once `model.onnx` is there. */
export async function runTrainingScript(options: TrainingScriptOptions): Promise<TrainingScriptResult> {
  const { command, signal } = options;
  if (command.length === 0) throw new UserInputError('the training command is empty: give the program and its arguments');
  signal.throwIfAborted();
  const cwd = options.cwd ?? process.cwd();
  await checkCwd(cwd);
  await mkdir(options.outputDir, { recursive: true });
  await mkdir(options.checkpointDir, { recursive: true });
  await mkdir(path.dirname(options.logFile), { recursive: true });
  const hyperparametersFile = path.join(options.tmpDir, HYPERPARAMETERS_FILE);
  await writeFile(hyperparametersFile, JSON.stringify(options.hyperparameters, null, 2));
  const modelFile = path.join(options.outputDir, MODEL_FILE);

  const log = createWriteStream(options.logFile, { flags: 'a' });
  const startedAt = Date.now();
  log.write(`mlpipe: $ ${formatCommand(command)}   (in ${cwd})\n`);
  const tail: string[] = [];
  const keep = (line: string) => {
    log.write(`${line}\n`);
    tail.push(clip(line));
    if (tail.length > TAIL_LINES) tail.shift();
  };

  // Its own process group, so cancellation reaches what a shell script or a launcher starts too.
  const child = spawn(command[0]!, command.slice(1), {
    cwd,
    env: programEnv(options, hyperparametersFile),
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  // The process executor exits when its worker dies; a program left running would compete with the retry.
  const killOnExit = () => signalGroup(child, 'SIGKILL');
  process.on('exit', killOnExit);
  // A program that exits, or never reads stdin, makes a checkpoint answer fail to arrive: nothing to do.
  child.stdin.on('error', () => undefined);

  const progress: TrainingScriptProgress[] = [];
  let checkpointsSaved = 0;
  let latestEpoch: number | undefined;
  let failure: Error | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (err: Error) => {
    failure ??= err;
    signalGroup(child, 'SIGTERM');
    killTimer ??= setTimeout(() => signalGroup(child, 'SIGKILL'), KILL_GRACE_MS);
  };
  // A log that cannot be written (a full disk) stops the run: its output would be lost. Retried.
  log.on('error', stop);
  const onAbort = () => stop(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
  signal.addEventListener('abort', onAbort, { once: true });

  // Checkpoints save one after another, in the order the program asked for them.
  let saving = Promise.resolve();
  const saveCheckpoint = (epoch: number | undefined) => {
    saving = saving.then(async () => {
      if (failure) return;
      try {
        await options.onCheckpointReady?.(epoch === undefined ? {} : { epoch });
      } catch (err) {
        stop(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      checkpointsSaved++;
      child.stdin.write(`${CHECKPOINT_SAVED_LINE}\n`);
    });
  };

  let stdoutLines = 0;
  const onStdoutLine = (line: string) => {
    keep(line);
    stdoutLines++;
    if (failure) return;
    let parsed: ScriptLine;
    try {
      parsed = parseScriptLine(line, stdoutLines);
    } catch (err) {
      stop(err as Error);
      return;
    }
    if (parsed.kind === 'checkpoint') saveCheckpoint(parsed.epoch ?? latestEpoch);
    if (parsed.kind === 'progress') {
      if (parsed.progress.epoch !== undefined) latestEpoch = parsed.progress.epoch;
      progress.push(parsed.progress);
      options.onProgress(parsed.progress);
    }
  };
  createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', onStdoutLine);
  createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', keep);

  const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null } | { startError: NodeJS.ErrnoException }>((resolve) => {
    child.on('error', (err: NodeJS.ErrnoException) => {
      // Only a failed start leaves no pid; a later error (a failed kill) is followed by 'exit'.
      if (child.pid === undefined) resolve({ startError: err });
    });
    child.once('exit', () => {
      // Whatever the program left running in its group would hold stdout open and outlive it; one
      // that left the group (setsid) is out of reach, so its pipes stop being waited for instead.
      signalGroup(child, 'SIGKILL');
      setTimeout(() => [child.stdout, child.stderr].forEach((s) => s.destroy()), STDIO_DRAIN_MS).unref();
    });
    child.once('close', (code, sig) => resolve({ code, signal: sig }));
  });
  process.off('exit', killOnExit);
  signal.removeEventListener('abort', onAbort);
  if (killTimer) clearTimeout(killTimer);
  await saving;

  if ('startError' in ended) {
    log.write(`mlpipe: could not start: ${ended.startError.message}\n`);
    await endLog(log);
    throw startError(command, cwd, ended.startError);
  }
  const how = ended.signal ? `was killed by ${ended.signal}` : `exited with code ${ended.code}`;
  log.write(`mlpipe: the training command ${how} after ${((Date.now() - startedAt) / 1000).toFixed(1)} s\n`);
  await endLog(log);
  if (failure) throw failure;
  if (ended.code !== 0) {
    throw new UserInputError(`the training command ${formatCommand(command)} ${how}; the last lines of its output (all of it in ${options.logFile}):\n${tail.join('\n')}`);
  }
  await checkModel(command, modelFile);
  return { modelFile, progress, checkpointsSaved };
}
