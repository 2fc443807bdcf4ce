import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ComponentError } from '../../dsl/executor';
import { withDuckDb } from '../data/duckdb-session';
import { splitDataFileName } from '../data/examples-layout';
import { sqlString } from '../data/sql';
import { inputSelectList, outputWidth } from './graph-columns';
import type { MaterializeThreadData, PartTask, ThreadReply, ThreadRequest } from './materialize-protocol';
import type { GraphSignature } from './signature';

/**
 * TransformedExamples from Examples: one split's Parquet rows through the transform graph, written as
 * Parquet with one column per graph output (graph-columns.ts says how each input is read and each
 * output written).
 *
 * How, and why (bench/transform-materialize.ts; flights-3m on this 2-core machine):
 * - The split is cut into parts, ranges of rows of one input file, each written as its own output file
 *   `data-<part>.parquet`: output files in part order hold the rows in input order, and a part's bytes
 *   depend only on its rows, whatever number of threads ran.
 * - Parts run on worker threads (materialize-thread.ts), one per core, each with a one-thread DuckDB
 *   and onnxruntime session: onnxruntime-node runs a session synchronously on the thread that calls it,
 *   so on the caller's thread it would block the event loop for every batch and leave the reading and
 *   writing waiting. One thread per core overlaps the three and leaves the caller's event loop free
 *   for progress and cancellation. One onnxruntime session with two intra-op threads on one thread
 *   was measured no faster than one (the graph is element-wise ops over a batch, and the time goes in
 *   onnxruntime-node's conversion of string inputs, about 0.13 µs a value, which is one thread's work).
 * - DuckDB reads (file_row_number ranges prune row groups, so a part reads only its own) and converts
 *   the columns in SQL; numbers reach the batch as one typed-array copy, short strings through a cache
 *   of decoded values (duckdb-vectors.ts). Outputs go into DuckDB as whole vectors, then COPY TO
 *   Parquet per part. parquet-wasm (arrow-rs in WebAssembly, over apache-arrow tables) was measured as
 *   the alternative writer: no faster for scalar columns (166 ms against DuckDB's ~120 ms per 500 k
 *   rows of 8 columns) and slower for one-hot ones, so no dependency was added for it.
 * - Bounded memory: a thread holds one batch of inputs and outputs, and one part's outputs in DuckDB
 *   (PART_BYTES, spilling to `tmpDir` past DuckDB's memory limit).
 */

/** Rows per onnxruntime run: 16 k to 256 k rows ran the flights graph at the same speed; the smaller end kept one-hot outputs in cache. */
export const BATCH_ROWS = 16_384;

/** A part's outputs are about this many bytes (so a one-hot part has fewer rows than a scalar one)... */
const PART_BYTES = 32 * 1024 * 1024;
/** ...and no more than this many batches, so a split of a few million rows still makes parts for every core. */
const MAX_PART_BATCHES = 16;

export interface MaterializeProgress {
  rows: number;
  totalRows: number;
}

export interface MaterializeOptions {
  /** The transform graph: a path to `transform.onnx` or its bytes. */
  model: Uint8Array | string;
  signature: GraphSignature;
  /** One split's Parquet files, in row order. */
  inputFiles: string[];
  /** Receives data-00000.parquet, data-00001.parquet, ... */
  outDir: string;
  tmpDir: string;
  signal: AbortSignal;
  onProgress?: (progress: MaterializeProgress) => void;
  /** Threads that run parts; the machine's cores when not given. */
  threads?: number;
  /** Rows per onnxruntime run, batchRowsFor(signature) when not given; parts are whole batches, 1 to 16 of them. */
  batchRows?: number;
}

export interface MaterializeResult {
  rows: number;
  /** The written files, in row order. */
  files: string[];
}

/** Under tsx (tests, benches run from source) the thread is the .ts file and needs tsx's loader; from dist, the compiled .js beside this one. */
function threadEntry(): { file: string; execArgv: string[] } {
  const compiled = path.join(__dirname, 'materialize-thread.js');
  if (existsSync(compiled)) return { file: compiled, execArgv: [] };
  return { file: path.join(__dirname, 'materialize-thread.ts'), execArgv: ['--require', 'tsx/cjs'] };
}

/** Output bytes of one row, as DuckDB holds them before writing (a string counted as its 16-byte slot and a little more). */
function outputRowBytes(signature: GraphSignature): number {
  return signature.outputs.reduce((sum, o) => sum + outputWidth(o) * (o.dtype === 'float32' ? 4 : o.dtype === 'int64' ? 8 : 32), 0);
}

/**
 * BATCH_ROWS, or fewer where a row's outputs are wide (a one-hot of a large vocabulary), so that one
 * batch's outputs stay within PART_BYTES: onnxruntime, JavaScript and DuckDB each hold a batch's
 * outputs at once (16 k rows of a 20 000-wide one-hot are 1.2 GiB each; 9 GiB peak RSS was measured).
 */
export function batchRowsFor(signature: GraphSignature): number {
  return Math.max(1, Math.min(BATCH_ROWS, Math.floor(PART_BYTES / Math.max(1, outputRowBytes(signature)))));
}

export function partRows(signature: GraphSignature, batchRows: number): number {
  const batches = Math.floor(PART_BYTES / Math.max(1, outputRowBytes(signature)) / batchRows);
  return Math.min(MAX_PART_BATCHES, Math.max(1, batches)) * batchRows;
}

/**
 * The parts of a split: every file's columns checked against the graph's inputs (a UserInputError
 * names the file and column) and its rows cut into ranges. A split without rows still makes one part,
 * so its output file carries the output columns.
 */
async function planParts(options: MaterializeOptions, batchRows: number): Promise<{ tasks: PartTask[]; totalRows: number }> {
  const { inputFiles, signature, outDir } = options;
  if (inputFiles.length === 0) throw new ComponentError('materializeSplit: no input files');
  const perPart = partRows(signature, batchRows);
  return withDuckDb({ tmpDir: options.tmpDir, signal: options.signal }, async (db) => {
    const tasks: PartTask[] = [];
    let totalRows = 0;
    for (const file of inputFiles) {
      const select = inputSelectList(file, await db.columns(`read_parquet(${sqlString(file)})`), signature.inputs);
      const [meta] = (await db.query(`SELECT num_rows FROM parquet_file_metadata(${sqlString(file)})`)).getRowObjectsJS();
      const rows = Number(meta?.num_rows ?? 0);
      const add = (start: number, end: number) => {
        const index = tasks.length;
        tasks.push({ type: 'part', index, file, select, start, end, out: path.join(outDir, splitDataFileName(index)) });
      };
      for (let start = 0; start < rows; start += perPart) add(start, Math.min(rows, start + perPart));
      if (tasks.length === 0 && file === inputFiles.at(-1)) add(0, 0);
      totalRows += rows;
    }
    return { tasks, totalRows };
  });
}

/** Runs `tasks` on `count` threads; resolves once every part is written and every thread has ended. */
function runParts(tasks: PartTask[], count: number, threadData: (i: number) => MaterializeThreadData, signal: AbortSignal, onRows: (rows: number) => void): Promise<number> {
  const entry = threadEntry();
  return new Promise<number>((resolve, reject) => {
    const threads = Array.from({ length: count }, (_, i) => new Worker(entry.file, { workerData: threadData(i), execArgv: entry.execArgv }));
    const exited = threads.map((t) => new Promise<void>((done) => t.once('exit', () => done())));
    let next = 0;
    let finished = 0;
    let rows = 0;
    let settled = false;
    const send = (thread: Worker, request: ThreadRequest) => thread.postMessage(request);
    /** Ends every thread (interrupting its part), waits for them, then settles. */
    const settle = (outcome: () => void, request: ThreadRequest) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      for (const thread of threads) send(thread, request);
      // A thread stuck in native code past this is ended by force.
      const force = setTimeout(() => threads.forEach((t) => void t.terminate()), 10_000);
      void Promise.all(exited).then(() => {
        clearTimeout(force);
        outcome();
      });
    };
    const fail = (err: unknown) => settle(() => reject(err), { type: 'abort' });
    const onAbort = () => fail(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const dispatch = (thread: Worker) => {
      if (next < tasks.length) send(thread, tasks[next++]!);
    };
    threads.forEach((thread) => {
      thread.on('message', (reply: ThreadReply) => {
        if (settled) return;
        if (reply.type === 'progress') onRows(reply.rows);
        else if (reply.type === 'failed') fail(Object.assign(new Error(reply.message), { stack: reply.stack ?? reply.message }));
        else {
          rows += reply.rows;
          if (++finished === tasks.length) settle(() => resolve(rows), { type: 'close' });
          else dispatch(thread);
        }
      });
      thread.on('error', fail);
      thread.once('exit', (code) => fail(new Error(`a materialisation thread exited (code ${code}) before its parts were written`)));
      dispatch(thread);
    });
  });
}

/**
 * Transforms one split. Progress is reported after every batch; aborting `signal` interrupts the
 * threads within a batch and rejects with the signal's reason. On failure the files written so far
 * are removed.
 */
export async function materializeSplit(options: MaterializeOptions): Promise<MaterializeResult> {
  options.signal.throwIfAborted();
  const batchRows = options.batchRows ?? batchRowsFor(options.signature);
  const { tasks, totalRows } = await planParts(options, batchRows);
  await mkdir(options.outDir, { recursive: true });
  const count = Math.max(1, Math.min(options.threads ?? os.availableParallelism(), tasks.length));
  const threadData = (i: number): MaterializeThreadData => ({
    model: options.model,
    inputs: options.signature.inputs,
    outputs: options.signature.outputs,
    batchRows,
    tmpDir: path.join(options.tmpDir, `materialize-thread-${i}`),
  });
  let done = 0;
  options.onProgress?.({ rows: 0, totalRows });
  const files = tasks.map((t) => t.out);
  try {
    const rows = await runParts(tasks, count, threadData, options.signal, (rows) => {
      done += rows;
      options.onProgress?.({ rows: done, totalRows });
    });
    if (rows !== totalRows) throw new Error(`read ${rows} rows where the files' metadata counts ${totalRows}: an input file changed while it was read`);
    return { rows, files };
  } catch (err) {
    await Promise.all(files.map((f) => rm(f, { force: true })));
    throw err;
  }
}
