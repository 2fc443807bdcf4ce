import duckdb from '@duckdb/node-bindings';
import { DuckDBInstance } from '@duckdb/node-api';
import { UserInputError } from '../../dsl/executor';
import { openSession, Tensor, type OnnxFeeds } from '../../onnx/session';
import { columnOf } from '../data/column-kinds';
import { bigintValues, doubleValues, VarcharDecoder } from '../data/duckdb-vectors';
import { sqlIdentifier, sqlString } from '../data/sql';
import { inputSelectList } from '../transform/graph-columns';
import type { TensorSpec } from '../transform/signature';
import { permutation, seededUint32 } from '../trainer/seeded-random';

/**
 * Permutation feature importance per raw feature, as scikit-learn's `permutation_importance`: the
 * transform is inside the serving graph, so a raw column can be permuted and the whole model asked
 * again. On the first `maxRows` rows of the split with a label; each feature permuted `repeats` times
 * with a seeded shuffle; importance = how much the score gets worse (its mean and spread over repeats).
 * The graph runs in this thread's onnxruntime session on in-memory columns: one read of the sample,
 * then one run per (feature, repeat).
 */

type Column = Float32Array | string[] | BigInt64Array;

export interface ImportanceOptions {
  model: string;
  inputs: TensorSpec[];
  rawFiles: string[];
  /**
   * The raw label column, read beside the inputs and handed to `score` with each run's outputs; or the
   * labels of the split's first rows themselves (a label the transform derives), '' for missing.
   */
  label: string | string[];
  output: string;
  maxRows: number;
  repeats: number;
  seed: number;
  /** The score of one run: higher is better (turn a loss around before handing it here). */
  score(labels: string[], outputs: Float32Array): number | null;
  signal: AbortSignal;
}

export interface Importance {
  feature: string;
  mean: number;
  std: number;
  repeats: number;
}

/** The sample's columns as the graph takes them, and its labels as text ('' for missing). */
async function readSample(options: ImportanceOptions): Promise<{ columns: Column[]; labels: string[]; rows: number }> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await instance.connect();
  try {
    const relation = `read_parquet([${options.rawFiles.map(sqlString).join(', ')}])`;
    const described = await connection.runAndReadAll(`SELECT * FROM ${relation} LIMIT 0`);
    const types = described.columnTypes();
    const columns = described.columnNames().map((name, i) => columnOf(name, types[i]!));
    const select = inputSelectList(options.rawFiles[0]!, columns, options.inputs);
    const labelColumn = typeof options.label === 'string' ? `coalesce(CAST(${sqlIdentifier(options.label)} AS VARCHAR), '')` : `''`;
    const result = await connection.stream(`SELECT ${select}, ${labelColumn} FROM ${relation} LIMIT ${options.maxRows}`);
    const parts: Column[][] = options.inputs.map(() => []);
    const labels: string[] = [];
    const decoder = new VarcharDecoder();
    for (;;) {
      const chunk = await result.fetchChunk();
      options.signal.throwIfAborted();
      if (!chunk || chunk.rowCount === 0) break;
      const n = chunk.rowCount;
      options.inputs.forEach((input, k) => {
        const vector = duckdb.data_chunk_get_vector(chunk.chunk, k);
        if (input.dtype === 'float32') parts[k]!.push(Float32Array.from(doubleValues(vector, n)));
        else if (input.dtype === 'int64') parts[k]!.push(BigInt64Array.from(bigintValues(vector, n)));
        else {
          const out = new Array<string>(n);
          decoder.decodeInto(vector, n, 0, n, out, 0);
          parts[k]!.push(out);
        }
      });
      const labelOut = new Array<string>(n);
      decoder.decodeInto(duckdb.data_chunk_get_vector(chunk.chunk, options.inputs.length), n, 0, n, labelOut, 0);
      labels.push(...labelOut);
    }
    const columnsOut = parts.map((chunks, k) => join(options.inputs[k]!.dtype, chunks));
    return { columns: columnsOut, labels: typeof options.label === 'string' ? labels : options.label.slice(0, labels.length), rows: labels.length };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

function join(dtype: TensorSpec['dtype'], chunks: Column[]): Column {
  if (dtype === 'string') return (chunks as string[][]).flat();
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const out = dtype === 'float32' ? new Float32Array(total) : new BigInt64Array(total);
  let at = 0;
  for (const c of chunks) {
    (out as Float32Array).set(c as Float32Array, at);
    at += c.length;
  }
  return out;
}

function feeds(inputs: TensorSpec[], columns: Column[], rows: number): OnnxFeeds {
  return Object.fromEntries(
    inputs.map((input, k) => {
      const c = columns[k]!;
      return [input.name, input.dtype === 'string' ? new Tensor('string', c as string[], [rows]) : input.dtype === 'int64' ? new Tensor('int64', c as BigInt64Array, [rows]) : new Tensor('float32', c as Float32Array, [rows])];
    }),
  );
}

/** The column with its rows in the order `order` gives (a copy). */
function permuted(column: Column, order: Uint32Array): Column {
  if (Array.isArray(column)) return Array.from(order, (i) => column[i]!);
  const out = column.slice();
  order.forEach((from, to) => (out[to] = column[from]!));
  return out;
}

export async function permutationImportance(options: ImportanceOptions): Promise<Importance[]> {
  const sample = await readSample(options);
  if (sample.rows === 0) throw new UserInputError('feature importance: the split has no rows');
  const session = await openSession(options.model, { intraOpNumThreads: 1 });
  try {
    const run = async (columns: Column[]): Promise<number | null> => {
      const out = await session.run(feeds(options.inputs, columns, sample.rows), [options.output]);
      return options.score(sample.labels, out[options.output]!.data as Float32Array);
    };
    const reference = await run(sample.columns);
    if (reference === null) return [];
    const found: Importance[] = [];
    for (const [k, input] of options.inputs.entries()) {
      const drops: number[] = [];
      for (let r = 0; r < options.repeats; r++) {
        options.signal.throwIfAborted();
        // One stream per (input, repeat): every permutation is fixed by the seed, whatever ran before it.
        const order = permutation(sample.rows, seededUint32(options.seed, k * options.repeats + r));
        const columns = sample.columns.map((c, i) => (i === k ? permuted(c, order) : c));
        const score = await run(columns);
        if (score !== null) drops.push(reference - score);
      }
      if (drops.length === 0) continue;
      // A drop of a few ulps is a score unchanged, computed in another order: zero, not -3.7e-15.
      const average = drops.reduce((a, b) => a + b, 0) / drops.length;
      const mean = Math.abs(average) < 1e-12 ? 0 : average;
      const std = Math.sqrt(drops.reduce((a, b) => a + (b - mean) ** 2, 0) / drops.length);
      found.push({ feature: input.name, mean, std, repeats: drops.length });
    }
    return found.sort((a, b) => b.mean - a.mean);
  } finally {
    await session.release();
  }
}
