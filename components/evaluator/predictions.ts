import path from 'node:path';
import duckdb from '@duckdb/node-bindings';
import { DuckDBInstance } from '@duckdb/node-api';
import { UserInputError } from '../../dsl/executor';
import { doubleValues, VarcharDecoder } from '../data/duckdb-vectors';
import { readJsonPayload } from '../data/json-payload';
import { sqlIdentifier, sqlString } from '../data/sql';
import { SERVING_MODEL_FILE, SERVING_SIGNATURE_FILE } from '../trainer/payload';
import { ServingSignatureSchema, type ServingSignature } from '../trainer/serving-graph';
import { materializeSplit, type MaterializeProgress } from '../transform/materialize';
import type { TransformSignature } from '../transform/signature';
import { decodeModel, encodeModel, extraOpsetsOf } from '../../onnx/graph';
import { pruneGraph } from '../../onnx/prune-graph';

/**
 * The serving model's answers for a split's raw rows, and the columns the metrics read, each a typed
 * array in the split's row order. Predicting is materialize.ts run over `serving.onnx` (any graph over
 * Parquet, in parts, off the event loop), asked only for the output the metrics need: `probabilities`
 * for a classifier, `predictions` for a regressor.
 */

export interface ServingModelFiles {
  model: string;
  signature: ServingSignature;
}

export async function servingModelFiles(dir: string): Promise<ServingModelFiles> {
  return {
    model: path.join(dir, SERVING_MODEL_FILE),
    signature: await readJsonPayload(path.join(dir, SERVING_SIGNATURE_FILE), ServingSignatureSchema, 'Evaluator serving model signature'),
  };
}

/** The output the metrics read. */
export function scoresOutput(signature: ServingSignature): string {
  return signature.task === 'classification' ? 'probabilities' : 'predictions';
}

/** Runs the serving model over the raw rows; its scores land as Parquet in `outDir`, in row order. */
export async function predictSplit(options: {
  served: ServingModelFiles;
  inputFiles: string[];
  outDir: string;
  tmpDir: string;
  signal: AbortSignal;
  onProgress?: (progress: MaterializeProgress) => void;
}): Promise<string[]> {
  const { signature } = options.served;
  const wanted = scoresOutput(signature);
  const output = signature.outputs.find((o) => o.name === wanted);
  if (!output) throw new UserInputError(`the serving model has no "${wanted}" output (it has ${signature.outputs.map((o) => o.name).join(', ')})`);
  const done = await materializeSplit({
    model: options.served.model,
    signature: { inputs: signature.inputs, outputs: [output] },
    inputFiles: options.inputFiles,
    outDir: options.outDir,
    tmpDir: options.tmpDir,
    signal: options.signal,
    onProgress: options.onProgress,
  });
  return done.files;
}

/**
 * A label the transform derives (a labelIds output, e.g. 'delayed' from a delay in minutes): the
 * transform graph, pruned to that output, run over the raw rows, so the Evaluator's labels are the
 * Trainer's to the bit. Writes Parquet with the class ids (-1: missing or unknown) in row order.
 */
export async function transformLabels(options: {
  transformGraph: Uint8Array;
  signature: TransformSignature;
  label: string;
  inputFiles: string[];
  outDir: string;
  tmpDir: string;
  signal: AbortSignal;
}): Promise<string[]> {
  const model = decodeModel(options.transformGraph);
  const pruned = pruneGraph(model.graph!, [options.label]);
  const bytes = encodeModel(pruned, { producerName: 'mlpipe-evaluator', opset: opsetOf(model), extraOpsets: extraOpsetsOf(pruned) });
  const inputs = options.signature.training.inputs.filter((i) => pruned.input!.some((p) => p.name === i.name));
  const output = options.signature.training.outputs.find((o) => o.name === options.label)!;
  const done = await materializeSplit({ model: bytes, signature: { inputs, outputs: [output] }, inputFiles: options.inputFiles, outDir: options.outDir, tmpDir: options.tmpDir, signal: options.signal });
  return done.files;
}

function opsetOf(model: ReturnType<typeof decodeModel>): number {
  return Number(model.opsetImport.find((o) => (o.domain ?? '') === '')?.version ?? 13);
}

/** What the metrics read, every array in the split's row order, rows without a usable label left out. */
export interface EvaluationRows {
  rows: number;
  /** Class ids (classification) or target values (regression). */
  labels: Int32Array | Float64Array;
  /** Per model (candidate first, then the baseline): rows × width scores. */
  scores: Float32Array[];
  width: number;
  weights: Float64Array | undefined;
  /** Per slicing feature: each row's value ('' and NULL read as null). */
  sliceValues: Map<string, Array<string | number | null>>;
  /** Rows left out: the label missing, or a class the model does not know. */
  leftOut: { missingLabel: number; unknownClass: number };
}

interface ReadPlan {
  label: string;
  /** Parquet files holding the label's class ids (the transform's labelIds output), instead of the raw label column. */
  labelIdFiles?: string[];
  classes: string[] | undefined;
  weightFeature: string | undefined;
  sliceFeatures: string[];
  numericSlices: Set<string>;
}

/** One statement over many files, read chunk by chunk into typed arrays, in file order. */
async function streamColumns(
  sql: string,
  rows: number,
  onChunk: (chunk: duckdb.DataChunk, at: number, count: number) => void,
  signal: AbortSignal,
): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const connection = await instance.connect();
  const onAbort = () => connection.interrupt();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const result = await connection.stream(sql);
    let at = 0;
    for (;;) {
      const chunk = await result.fetchChunk();
      signal.throwIfAborted();
      if (!chunk || chunk.rowCount === 0) break;
      if (at + chunk.rowCount > rows) throw new UserInputError(`the predictions and the examples differ in row count (more than ${rows} rows)`);
      onChunk(chunk.chunk, at, chunk.rowCount);
      at += chunk.rowCount;
    }
    if (at !== rows) throw new UserInputError(`the predictions and the examples differ in row count (${at} vs ${rows})`);
  } finally {
    signal.removeEventListener('abort', onAbort);
    connection.closeSync();
    instance.closeSync();
  }
}

async function countRows(files: string[]): Promise<number> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    return Number((await connection.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM ${list(files)}`)).getRowObjectsJS()[0]!.n);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

const list = (files: string[]) => `read_parquet([${files.map(sqlString).join(', ')}])`;

/**
 * Reads the label, the weight and the slicing features of the raw rows, and each model's scores, then
 * drops the rows whose label is missing or a class the serving model does not know (counted).
 */
export async function readEvaluationRows(options: {
  rawFiles: string[];
  predictionFiles: string[][];
  width: number;
  scoresColumn: string;
  plan: ReadPlan;
  signal: AbortSignal;
}): Promise<EvaluationRows> {
  const { plan, width, signal } = options;
  const total = await countRows(options.rawFiles);

  const labelText: string[] = new Array<string>(total);
  const labelNumber = new Float64Array(total);
  const weights = plan.weightFeature ? new Float64Array(total) : undefined;
  const slices = plan.sliceFeatures.map(() => new Array<string>(total));
  const decoder = new VarcharDecoder();
  const labelIds = plan.labelIdFiles ? new Float64Array(total) : undefined;
  if (plan.labelIdFiles) {
    await streamColumns(
      `SELECT CAST(${sqlIdentifier(plan.label)} AS DOUBLE) FROM ${list(plan.labelIdFiles)}`,
      total,
      (chunk, at, count) => labelIds!.set(doubleValues(duckdb.data_chunk_get_vector(chunk, 0), count), at),
      signal,
    );
  }
  const columns = [
    plan.labelIdFiles ? 'NULL' : plan.classes ? `coalesce(CAST(${sqlIdentifier(plan.label)} AS VARCHAR), '')` : `coalesce(CAST(${sqlIdentifier(plan.label)} AS DOUBLE), 'nan'::DOUBLE)`,
    ...(plan.weightFeature ? [`coalesce(CAST(${sqlIdentifier(plan.weightFeature)} AS DOUBLE), 0)`] : []),
    ...plan.sliceFeatures.map((f) => `coalesce(CAST(${sqlIdentifier(f)} AS VARCHAR), '')`),
  ];
  await streamColumns(
    `SELECT ${columns.join(', ')} FROM ${list(options.rawFiles)}`,
    total,
    (chunk, at, count) => {
      let k = 0;
      const labelVector = duckdb.data_chunk_get_vector(chunk, k++);
      if (labelIds) return readRest(chunk, k, at, count);
      if (plan.classes) decoder.decodeInto(labelVector, count, 0, count, labelText, at);
      else labelNumber.set(doubleValues(labelVector, count), at);
      readRest(chunk, k, at, count);
    },
    signal,
  ).catch(describeReadError);
  function readRest(chunk: duckdb.DataChunk, first: number, at: number, count: number): void {
    let k = first;
    if (weights) weights.set(doubleValues(duckdb.data_chunk_get_vector(chunk, k++), count), at);
    for (const values of slices) decoder.decodeInto(duckdb.data_chunk_get_vector(chunk, k++), count, 0, count, values, at);
  }
  function describeReadError(err: unknown): never {
    if (err instanceof UserInputError || signal.aborted) throw err;
    throw new UserInputError(`the examples ${options.rawFiles[0]}…: cannot read the label "${plan.label}"${plan.weightFeature ? `, the weight "${plan.weightFeature}"` : ''} or the slicing features ${plan.sliceFeatures.join(', ')}: ${(err as Error).message}`);
  }

  const scores: Float32Array[] = [];
  for (const files of options.predictionFiles) {
    const out = new Float32Array(total * width);
    const expression = width === 1 ? `CAST(${sqlIdentifier(options.scoresColumn)} AS DOUBLE)` : `CAST(${sqlIdentifier(options.scoresColumn)} AS DOUBLE[${width}])`;
    await streamColumns(
      `SELECT ${expression} FROM ${list(files)}`,
      total,
      (chunk, at, count) => {
        const vector = duckdb.data_chunk_get_vector(chunk, 0);
        out.set(width === 1 ? doubleValues(vector, count) : doubleValues(duckdb.array_vector_get_child(vector), count * width), at * width);
      },
      signal,
    );
    scores.push(out);
  }

  const classIds = plan.classes ? new Map(plan.classes.map((c, i) => [c, i])) : undefined;
  const keep: number[] = [];
  const leftOut = { missingLabel: 0, unknownClass: 0 };
  for (let i = 0; i < total; i++) {
    if (labelIds) {
      if (labelIds[i]! < 0) leftOut.missingLabel++;
      else keep.push(i);
    } else if (classIds) {
      if (labelText[i] === '') leftOut.missingLabel++;
      else if (!classIds.has(labelText[i]!)) leftOut.unknownClass++;
      else keep.push(i);
    } else if (Number.isNaN(labelNumber[i])) leftOut.missingLabel++;
    else keep.push(i);
  }
  const labels = labelIds
    ? Int32Array.from(keep, (i) => labelIds[i]!)
    : classIds
      ? Int32Array.from(keep, (i) => classIds.get(labelText[i]!)!)
      : Float64Array.from(keep, (i) => labelNumber[i]!);
  const pick = (s: Float32Array): Float32Array => {
    const out = new Float32Array(keep.length * width);
    keep.forEach((row, j) => out.set(s.subarray(row * width, row * width + width), j * width));
    return out;
  };
  const sliceValues = new Map(
    plan.sliceFeatures.map((feature, f) => [
      feature,
      keep.map((row) => {
        const v = slices[f]![row]!;
        return v === '' ? null : plan.numericSlices.has(feature) ? Number(v) : v;
      }),
    ]),
  );
  return {
    rows: keep.length,
    labels,
    scores: scores.map(pick),
    width,
    weights: weights ? Float64Array.from(keep, (i) => weights[i]!) : undefined,
    sliceValues,
    leftOut,
  };
}
