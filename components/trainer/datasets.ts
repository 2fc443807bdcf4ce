import { readSync, writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import duckdb from '@duckdb/node-bindings';
import { DuckDBInstance, type DuckDBDataChunk, type DuckDBType } from '@duckdb/node-api';
import * as tf from '@tensorflow/tfjs';
import { UserInputError } from '../../dsl/executor';
import { doubleValues } from '../data/duckdb-vectors';
import { splitParquetFiles, type SplitLocation } from '../data/examples-layout';
import { sqlIdentifier, sqlString } from '../data/sql';
import { outputWidth } from '../transform/graph-columns';
import type { TensorSpec, TransformSignature } from '../transform/signature';
import type { Batch, FeatureInfo, TrainDataset } from './contract';
import { floatRows, readsAsFloatRows } from './float-rows';
import { permutation, seededUint32, shuffleInPlace, shuffleStream } from './seeded-random';

/**
 * Transformed Examples (Parquet, one column per transform output) as batches of tensors, in bounded
 * memory.
 *
 * Each split is read once per attempt, by DuckDB in chunks, into one local file per column of float32
 * rows (`width` values a row), checked as it goes (a feature that is NaN, a label that is no class).
 * No JavaScript value is made per row: FLOAT and FLOAT[] columns (the Transform's float32 outputs) come
 * from DuckDB's vectors as they are (float-rows.ts), other numbers as DOUBLEs narrowed in one typed-array
 * conversion. An epoch then reads the files in windows:
 * - the rows fall in blocks of `blockRows` consecutive rows; epoch e's generator, (seed, e) alone,
 *   orders the blocks, and consecutive blocks of that order make a window of at most `windowBytes`
 *   (ShuffleShape; 256 rows and 64 MiB);
 * - a window's rows are read (one read per block and column) and permuted with the same generator,
 *   then cut into batches (a batch may span two windows; only the epoch's last one is short).
 * A split that fits in a window (penguins: all of it) is a uniform permutation of its rows; a larger
 * one is shuffled as tf.data's shuffle buffer over interleaved shards does, with no order kept
 * between neighbouring rows beyond sharing a window. Memory: one window and one batch.
 */

/** How an epoch's shuffle cuts the split: blocks of consecutive rows, windows of whole blocks. */
export interface ShuffleShape {
  blockRows: number;
  windowBytes: number;
}

const DEFAULT_SHAPE: ShuffleShape = { blockRows: 256, windowBytes: 64 * 2 ** 20 };
/** Whole numbers up to this are exact in float32. */
const FLOAT32_EXACT = 2 ** 24;

/** A column as it is cached: `width` float32 values per row. */
interface ColumnSpec {
  name: string;
  width: number;
  kind: FeatureInfo['kind'];
}

/** How the label column is checked and batched. */
type LabelSpec = { name: string; classes: string[] } | { name: string; classes: undefined };

/** What the datasets deliver: the features in signature order, the label, and its classes. */
export interface DataLayout {
  features: FeatureInfo[];
  label: LabelSpec;
}

/**
 * The features and the label from the transform's training signature: every output but the label is a
 * feature; a string output cannot be one, and the label must be a scalar (a labelIds output's classes
 * make it a classification).
 */
export function dataLayout(signature: TransformSignature, label: string): DataLayout {
  const outputs = signature.training.outputs;
  const labelOutput = outputs.find((o) => o.name === label);
  if (!labelOutput) {
    throw new UserInputError(`Trainer label "${label}" is not an output of the transform (its outputs: ${outputs.map((o) => o.name).join(', ')})`);
  }
  if (labelOutput.dtype === 'string' || outputWidth(labelOutput) !== 1 || labelOutput.shape.length !== 1) {
    throw new UserInputError(`Trainer label "${label}" is ${labelOutput.dtype} [${labelOutput.shape.join(', ')}]; a label is one number per row (labelIds for classes)`);
  }
  const mapping = signature.labels.find((l) => l.output === label);
  const features = outputs
    .filter((o) => o.name !== label)
    .map((o: TensorSpec): FeatureInfo => {
      if (o.dtype === 'string') {
        throw new UserInputError(`transform output "${o.name}" is a string, which a model cannot take: encode it in the transform (vocabulary ids or one-hot, hashStrings) or leave it out`);
      }
      return { name: o.name, width: outputWidth(o), kind: o.dtype === 'int64' ? 'ids' : 'number' };
    });
  return { features, label: mapping ? { name: label, classes: mapping.classes } : { name: label, classes: undefined } };
}

/**
 * The SQL that reads a column: as it is when it is FLOAT (FLOAT[] for a vector), which float-rows.ts
 * reads from DuckDB's vectors; otherwise as DOUBLEs, NULL as NaN, a vector as DOUBLE[width].
 */
function columnExpression(column: ColumnSpec, type: DuckDBType): string {
  const name = sqlIdentifier(column.name);
  if (readsAsFloatRows(type, column.width)) return name;
  if (column.width === 1) return `coalesce(CAST(${name} AS DOUBLE), 'NaN'::DOUBLE)`;
  const nans = `list_resize([]::DOUBLE[], ${column.width}, 'NaN'::DOUBLE)`;
  return `CAST(list_transform(coalesce(CAST(${name} AS DOUBLE[]), ${nans}), lambda v: coalesce(v, 'NaN'::DOUBLE)) AS DOUBLE[${column.width}])`;
}

function badFeature(file: string, row: number, column: ColumnSpec, value: number): UserInputError {
  if (column.kind === 'ids' && Number.isFinite(value)) {
    return new UserInputError(`${file} row ${row}: transformed feature "${column.name}" is ${value}, beyond the ids float32 holds exactly (±${FLOAT32_EXACT}); use fewer buckets`);
  }
  return new UserInputError(
    `${file} row ${row}: transformed feature "${column.name}" is ${value}, and a model trains on numbers only: fill missing values in the transform (fillMissing) so every row has one`,
  );
}

function badLabel(file: string, row: number, label: LabelSpec, value: number): UserInputError {
  if (label.classes) {
    return new UserInputError(
      `${file} row ${row}: label "${label.name}" is ${value}, not a class id 0..${label.classes.length - 1} (-1 is a missing or unseen class): drop such rows before the Transform or name its classes`,
    );
  }
  return new UserInputError(`${file} row ${row}: label "${label.name}" is ${value}; a number label must be finite`);
}

/** One cached column: a file of float32 rows. */
class ColumnFile {
  private written = 0;
  private constructor(readonly spec: ColumnSpec, private readonly handle: FileHandle) {}

  static async create(dir: string, index: number, spec: ColumnSpec): Promise<ColumnFile> {
    return new ColumnFile(spec, await open(path.join(dir, `column-${index}.f32`), 'w+'));
  }

  /**
   * Synchronous, so `values` may be a view over a DuckDB chunk's memory, written before the chunk goes:
   * a chunk's column is at most half a megabyte, into the page cache, where an await per chunk and
   * column cost more than the write.
   */
  append(values: Float32Array): void {
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    for (let done = 0; done < bytes.byteLength; ) done += writeSync(this.handle.fd, bytes, done, bytes.byteLength - done, this.written + done);
    this.written += values.byteLength;
  }

  /**
   * Rows [start, start + count) into `into` from row `at`. Synchronous: a window takes thousands of
   * block-sized reads, mostly from the page cache, where awaiting each cost more than reading it (the
   * flights model's batching took about a quarter less time without); a whole window (64 MiB at most)
   * blocks the event loop for tens of milliseconds, once per window.
   */
  read(start: number, count: number, into: Float32Array, at: number): void {
    const w = this.spec.width;
    const bytes = new Uint8Array(into.buffer, into.byteOffset + at * w * 4, count * w * 4);
    const bytesRead = readSync(this.handle.fd, bytes, 0, bytes.byteLength, start * w * 4);
    if (bytesRead !== bytes.byteLength) throw new Error(`cached column "${this.spec.name}": read ${bytesRead} of ${bytes.byteLength} bytes at row ${start}`);
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** What a column's values must be: finite numbers, ids float32 holds exactly, or class ids 0..classes-1. */
type ValueRule = { kind: 'finite' } | { kind: 'exactId' } | { kind: 'classId'; classes: number };

/**
 * The index of the first value that breaks `rule`, or -1. A loop per rule: a split is hundreds of
 * millions of values, and a check passed in as a function was a call per value that V8 did not inline.
 */
function firstFailing(values: Float32Array, rule: ValueRule): number {
  const n = values.length;
  if (rule.kind === 'finite') {
    for (let i = 0; i < n; i++) if (!Number.isFinite(values[i]!)) return i;
  } else if (rule.kind === 'exactId') {
    for (let i = 0; i < n; i++) if (!(Math.abs(values[i]!) <= FLOAT32_EXACT)) return i;
  } else {
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      if (!(Number.isInteger(v) && v >= 0 && v < rule.classes)) return i;
    }
  }
  return -1;
}

export interface CacheProgress {
  split: string;
  rows: number;
}

/** A split read into column files (see the module's comment). */
export class CachedSplit {
  private constructor(
    readonly name: string,
    readonly rows: number,
    private readonly features: ColumnFile[],
    private readonly label: ColumnFile,
    readonly layout: DataLayout,
  ) {}

  static async read(options: {
    split: SplitLocation;
    layout: DataLayout;
    dir: string;
    signal: AbortSignal;
    onProgress?: (p: CacheProgress) => void;
  }): Promise<CachedSplit> {
    const { split, layout, dir, signal } = options;
    const featureSpecs: ColumnSpec[] = layout.features;
    const labelSpec: ColumnSpec = { name: layout.label.name, width: 1, kind: layout.label.classes ? 'ids' : 'number' };
    const specs = [...featureSpecs, labelSpec];
    const files = await Promise.all(specs.map((s, i) => ColumnFile.create(dir, i, s)));
    const classes = layout.label.classes?.length;
    const rules = specs.map((s, i): ValueRule => {
      if (i < featureSpecs.length) return s.kind === 'ids' ? { kind: 'exactId' } : { kind: 'finite' };
      return classes === undefined ? { kind: 'finite' } : { kind: 'classId', classes };
    });
    const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
    const connection = await instance.connect();
    const onAbort = () => connection.interrupt();
    signal.addEventListener('abort', onAbort, { once: true });
    let rows = 0;
    try {
      for (const file of await splitParquetFiles(split)) {
        signal.throwIfAborted();
        const columns = await connection.runAndReadAll(`SELECT * FROM read_parquet(${sqlString(file)}) LIMIT 0`);
        const present = columns.columnNames();
        const missing = specs.find((s) => !present.includes(s.name));
        if (missing) {
          throw new UserInputError(`${file}: no column "${missing.name}", which the transform signature lists (the file's columns: ${present.join(', ')})`);
        }
        const types = specs.map((s) => columns.columnTypes()[present.indexOf(s.name)]!);
        const direct = specs.map((s, k) => readsAsFloatRows(types[k]!, s.width));
        let fileRow = 0;
        let fetching: Promise<DuckDBDataChunk | null> | undefined;
        try {
          const result = await connection.stream(`SELECT ${specs.map((s, k) => columnExpression(s, types[k]!)).join(', ')} FROM read_parquet(${sqlString(file)})`);
          fetching = result.fetchChunk();
          for (;;) {
            const chunk = await fetching;
            fetching = undefined;
            signal.throwIfAborted();
            if (!chunk || chunk.rowCount === 0) break;
            // DuckDB decodes the next chunk, on a thread of its own, while this one is checked and written.
            fetching = result.fetchChunk();
            const n = chunk.rowCount;
            for (let k = 0; k < specs.length; k++) {
              const spec = specs[k]!;
              const vector = duckdb.data_chunk_get_vector(chunk.chunk, k);
              // DOUBLEs narrow to float32 as Math.fround does (round to nearest, beyond its range to ±Infinity).
              const doubles = direct[k] ? undefined : doubleValues(spec.width === 1 ? vector : duckdb.array_vector_get_child(vector), n * spec.width);
              const values = doubles ? new Float32Array(doubles) : floatRows(vector, n, spec.width, { column: spec.name, firstRow: fileRow });
              const bad = firstFailing(values, rules[k]!);
              if (bad >= 0) {
                const row = fileRow + Math.floor(bad / spec.width);
                const value = doubles ? doubles[bad]! : values[bad]!;
                throw k < featureSpecs.length ? badFeature(file, row, spec, value) : badLabel(file, row, layout.label, value);
              }
              files[k]!.append(values);
            }
            fileRow += n;
            rows += n;
            options.onProgress?.({ split: split.name, rows });
          }
        } catch (err) {
          // The connection closes on the way out, which must wait for a fetch still running.
          await fetching?.catch(() => undefined);
          if (err instanceof UserInputError || signal.aborted) throw err;
          throw new UserInputError(`${file}: the transformed columns do not read as the transform signature says (${specs.map((s) => `${s.name}: ${s.width === 1 ? 'a number' : `${s.width} numbers`}`).join(', ')}): ${(err as Error).message}`);
        }
      }
    } catch (err) {
      await Promise.all(files.map((f) => f.close()));
      signal.throwIfAborted();
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
      connection.closeSync();
      instance.closeSync();
    }
    if (rows === 0) {
      await Promise.all(files.map((f) => f.close()));
      throw new UserInputError(`split "${split.name}" (${split.dir}) has no rows to train or evaluate on`);
    }
    return new CachedSplit(split.name, rows, files.slice(0, featureSpecs.length), files[featureSpecs.length]!, layout);
  }

  /**
   * The split's batches: in stored order, or shuffled for (seed, epoch) as the module's comment says.
   * `inputs` picks the features `xs` holds (all when undefined).
   */
  async *batches(options: {
    batchSize: number;
    shuffle?: { seed: number; epoch: number };
    inputs?: ReadonlySet<string>;
    shape?: ShuffleShape;
    signal: AbortSignal;
  }): AsyncGenerator<Batch> {
    const { batchSize, shuffle, signal } = options;
    const { blockRows, windowBytes } = options.shape ?? DEFAULT_SHAPE;
    const picked = this.features.filter((f) => !options.inputs || options.inputs.has(f.spec.name));
    const columns = [...picked, this.label];
    const next = shuffle ? seededUint32(shuffle.seed, shuffleStream(shuffle.epoch)) : undefined;
    const blockCount = Math.ceil(this.rows / blockRows);
    const blocks = next ? permutation(blockCount, next) : Uint32Array.from({ length: blockCount }, (_, i) => i);
    const rowBytes = 4 * [...this.features, this.label].reduce((sum, c) => sum + c.spec.width, 0);
    const blocksPerWindow = Math.max(1, Math.floor(windowBytes / (blockRows * rowBytes)));
    const windowCapacity = Math.min(this.rows, blocksPerWindow * blockRows);
    const batch = new BatchBuilder(picked.map((c) => c.spec), this.layout.label, batchSize, windowCapacity);
    const orders = next ? new Uint32Array(windowCapacity) : undefined;

    for (let first = 0; first < blockCount; first += blocksPerWindow) {
      signal.throwIfAborted();
      const windowBlocks = blocks.subarray(first, Math.min(blockCount, first + blocksPerWindow));
      const rowsOf = (block: number) => Math.min(blockRows, this.rows - block * blockRows);
      const windowRows = windowBlocks.reduce((sum, b) => sum + rowsOf(b), 0);
      let at = 0;
      for (const block of windowBlocks) {
        columns.forEach((c, k) => c.read(block * blockRows, rowsOf(block), batch.window(k), at));
        at += rowsOf(block);
      }
      const order = orders && next ? windowOrder(orders.subarray(0, windowRows), next) : undefined;
      for (let i = 0; i < windowRows; i++) {
        batch.add(order ? order[i]! : i);
        if (batch.full) yield batch.take();
      }
    }
    if (batch.rows > 0) yield batch.take();
  }

  close(): Promise<void> {
    return Promise.all([...this.features, this.label].map((c) => c.close())).then(() => undefined);
  }
}

/** `permutation(order.length, next)`, drawn into an array reused across windows. */
function windowOrder(order: Uint32Array, next: () => number): Uint32Array {
  for (let i = 0; i < order.length; i++) order[i] = i;
  return shuffleInPlace(order, next);
}

/**
 * Whether the current backend's tensors keep the array they are made from (cpu does) rather than copy
 * it (wasm copies into its heap): only then must every batch get arrays of its own.
 */
function tensorsKeepTheirArray(): boolean {
  const probe = new Float32Array(1);
  const tensor = tf.tensor1d(probe, 'float32');
  probe[0] = 1;
  const kept = tensor.dataSync()[0] === 1;
  tensor.dispose();
  return kept;
}

/**
 * A window's columns and the batch being filled from them, in arrays made once per pass: each
 * feature's array holds the window's rows, then the batch's, so a row's `width` values move with one
 * copyWithin (a memmove, no view made per row); the label's window and batch are apart, as a class
 * label spreads into a one-hot row.
 */
class BatchBuilder {
  rows = 0;
  private readonly columns: Float32Array[];
  private readonly batchStart: number[];
  private readonly labelWindow: Float32Array;
  private readonly labels: Float32Array;
  private readonly labelWidth: number;
  private readonly keep = tensorsKeepTheirArray();

  constructor(private readonly specs: ColumnSpec[], private readonly label: LabelSpec, private readonly size: number, windowRows: number) {
    this.columns = specs.map((s) => new Float32Array((windowRows + size) * s.width));
    this.batchStart = specs.map((s) => windowRows * s.width);
    this.labelWindow = new Float32Array(windowRows);
    this.labelWidth = label.classes?.length ?? 1;
    this.labels = new Float32Array(size * this.labelWidth);
  }

  get full(): boolean {
    return this.rows === this.size;
  }

  /** Column k's window (the label's after the features'), for the window's rows to be read into from row 0. */
  window(k: number): Float32Array {
    return k < this.specs.length ? this.columns[k]! : this.labelWindow;
  }

  add(row: number): void {
    const r = this.rows;
    for (let k = 0; k < this.specs.length; k++) {
      const w = this.specs[k]!.width;
      const column = this.columns[k]!;
      const to = this.batchStart[k]! + r * w;
      if (w === 1) column[to] = column[row]!;
      else column.copyWithin(to, row * w, row * w + w);
    }
    const value = this.labelWindow[row]!;
    if (this.label.classes === undefined) this.labels[r] = value;
    else this.labels[r * this.labelWidth + value] = 1;
    this.rows++;
  }

  take(): Batch {
    const n = this.rows;
    const values = (array: Float32Array, start: number, end: number) => (this.keep ? array.slice(start, end) : array.subarray(start, end));
    const xs = Object.fromEntries(
      this.specs.map((s, k) => [s.name, tf.tensor2d(values(this.columns[k]!, this.batchStart[k]!, this.batchStart[k]! + n * s.width), [n, s.width], 'float32')]),
    );
    const ys = tf.tensor2d(values(this.labels, 0, n * this.labelWidth), [n, this.labelWidth], 'float32');
    if (this.label.classes !== undefined) this.labels.fill(0, 0, n * this.labelWidth);
    this.rows = 0;
    return { xs, ys };
  }
}

/** What the training loop tells the datasets: the epoch a pass yields, the model's inputs once known. */
export class DatasetControl {
  inputs: ReadonlySet<string> | undefined;
  constructor(public epoch: number) {}
}

/**
 * A tf.data.Dataset over an async generator: tfjs's `generator` awaits what the iterator's `next()`
 * returns, so an async generator serves, though its type names a synchronous iterator.
 */
function datasetOf(make: () => AsyncGenerator<Batch>): tf.data.Dataset<Batch> {
  return tf.data.generator(() => make() as unknown as Iterator<Batch>);
}

export function trainDataset(
  split: CachedSplit,
  control: DatasetControl,
  options: { seed: number; batchSize: number; shape?: ShuffleShape; signal: AbortSignal },
): TrainDataset {
  const epochOf = (epoch: number) => () => split.batches({ ...options, shuffle: { seed: options.seed, epoch }, inputs: control.inputs });
  return Object.assign(
    datasetOf(() => epochOf(control.epoch)()),
    { epoch: (e: number) => datasetOf(epochOf(e)) },
  );
}

/**
 * The eval split's batches, in stored order. The split may still be reading (it overlaps the first
 * epoch, as only that epoch's end needs it): each pass first awaits it, so a failed read surfaces
 * where the eval pass starts.
 */
export function evalDataset(
  split: CachedSplit | Promise<CachedSplit>,
  control: DatasetControl,
  options: { batchSize: number; signal: AbortSignal },
): tf.data.Dataset<Batch> {
  return datasetOf(async function* () {
    yield* (await split).batches({ ...options, inputs: control.inputs });
  });
}
