/**
 * TFRecord files of tf.Example as RecordSources sharing one set of columns, one per feature of any
 * of the files, in order of first appearance:
 *
 * | feature              | column                                                   |
 * | -------------------- | -------------------------------------------------------- |
 * | int64_list           | BIGINT                                                   |
 * | float_list           | FLOAT (tf.Example stores float32)                        |
 * | bytes_list           | VARCHAR when every value is valid UTF-8, otherwise BLOB  |
 * | any, >1 value in some record | LIST of the type above (every row a list)        |
 * | absent, kind unset or empty list in a record | NULL in that row                 |
 * | kind never set in any record | VARCHAR, all NULL                                |
 *
 * A feature whose kind differs between records is an error naming both places.
 *
 * The columns come from the first megabyte of each file, and every row is checked against them as it
 * is written: a record that does not fit (a feature unseen, a longer list, bytes that are not UTF-8, a
 * kind first set) throws ColumnsOutgrown, and the load starts over with columns learnt from every
 * record. A uniform input is so read once (a first pass over all of it cost a third of the load), and
 * any input ends with the columns a pass over all of it would give.
 *
 * Records are located in their bytes without decoding (tf-example-scan.ts) and their values written
 * straight into DuckDB vectors (tf-example-vectors.ts).
 */
import { BIGINT, BLOB, FLOAT, LIST, VARCHAR, type DuckDBDataChunk, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import { UserInputError } from '../../../dsl/executor';
import { ColumnsOutgrown, type ColumnBatch, type RecordSource, type SourceColumn } from './record-source';
import { decodeExample, type TfExample } from './tf-example';
import { KIND_BYTES, KIND_FLOAT, KIND_INT64, KIND_NONE, type FeatureSpans } from './tf-example-scan';
import { featureColumn, type FeatureColumn, type ValueKind } from './tf-example-vectors';
import { FeatureLocator, kindConflict, KIND_NAMES, learnFeatures, where, type FeatureNames, type FeatureShape, type RecordPlace } from './tfrecord-features';
import { isGzipPath, readTfRecordFrameBatches, type FrameBatch, type ReadCounter, type TfRecordFrame } from './tfrecord-frames';

/** One record as read, for a caller that derives a value of its own from it (e.g. a split index). */
export interface TfRecordRead {
  file: string;
  frame: TfRecordFrame;
  example: TfExample;
  gzip: boolean;
}

/** A column computed from each record, appended after the feature columns. */
export interface DerivedColumn {
  column: SourceColumn;
  valueOf(record: TfRecordRead): DuckDBValue;
}

export interface TfRecordOptions {
  /** Defaults to the file name ending in `.gz`. */
  gzip?: boolean;
  signal: AbortSignal;
  derived?: DerivedColumn[];
  /** Called once per file when the features are learnt from every record of the input. */
  onSchemaProgress?: (progress: { file: string; records: number }) => void;
}

/** DuckDB's vector size: each batch fills one data chunk. */
const BATCH_ROWS = 2048;

function valueKind(shape: FeatureShape): ValueKind {
  if (shape.kind === KIND_INT64) return 'int64';
  if (shape.kind === KIND_FLOAT) return 'float';
  return shape.kind === KIND_BYTES && !shape.utf8 ? 'blob' : 'varchar';
}

function columnType(shape: FeatureShape): DuckDBType {
  const scalar = { int64: BIGINT, float: FLOAT, blob: BLOB, varchar: VARCHAR }[valueKind(shape)];
  return shape.maxLength > 1 ? LIST(scalar) : scalar;
}

/** The features of an input as known so far: from samples, or `complete` (from every record). */
interface InputFeatures {
  names: FeatureNames;
  complete: boolean;
}

/** Why a record does not fit the columns: the load starts over, or (columns from every record) the file changed. */
function misfit(features: InputFeatures, place: RecordPlace, what: string): Error {
  if (!features.complete) return new ColumnsOutgrown(`${where(place)}: ${what} of the sample`);
  return new UserInputError(`${where(place)}: ${what} when the input was first read; the file changed while ExampleGen read it`);
}

/** The rows of a batch, written column by column as records are added. */
class RowBatch implements ColumnBatch {
  rowCount = 0;
  private readonly columns: FeatureColumn[];
  private readonly derivedValues: DuckDBValue[][];

  constructor(
    private readonly features: InputFeatures,
    private readonly derived: readonly DerivedColumn[],
  ) {
    this.columns = features.names.shapes.map((shape) => featureColumn(valueKind(shape), shape.maxLength > 1, BATCH_ROWS));
    this.derivedValues = derived.map(() => new Array<DuckDBValue>(BATCH_ROWS));
  }

  /** Adds records of `frames` from `k` on until the batch is full; returns the next record's index. */
  addRecords(frames: FrameBatch, k: number, locator: FeatureLocator, place: RecordPlace): number {
    let next = k;
    while (next < frames.count && this.rowCount < BATCH_ROWS) {
      place.index = frames.firstIndex + next;
      place.offset = frames.offsets[next]!;
      locator.locate(frames, next, place);
      this.add(locator.spans, place, frames, next);
      next++;
    }
    return next;
  }

  /** Adds the record located in `spans` (record `k` of `frames`) as the next row. */
  private add(spans: FeatureSpans, place: RecordPlace, frames: FrameBatch, k: number): void {
    const row = this.rowCount;
    const shapes = this.features.names.shapes;
    for (let j = 0; j < spans.count; j++) {
      const kind = spans.kind[j]!;
      const count = spans.valueCount[j]!;
      if (kind === KIND_NONE || count === 0) continue;
      const id = spans.ids[j]!;
      const shape = shapes[id]!;
      if (kind !== shape.kind) {
        if (shape.kind !== KIND_NONE) throw kindConflict(place, shape, kind);
        throw misfit(this.features, place, `feature "${shape.name}" is ${KIND_NAMES[kind]} here, but had no kind`);
      }
      if (count > 1 && shape.maxLength <= 1) throw misfit(this.features, place, `feature "${shape.name}" holds ${count} values here, but at most one`);
      if (!this.columns[id]!.set(row, spans, j)) throw misfit(this.features, place, `feature "${shape.name}" holds bytes that are not UTF-8 here, but only UTF-8`);
    }
    if (this.derived.length) {
      const data = frames.bytes.subarray(frames.dataStart[k], frames.dataEnd[k]);
      const read: TfRecordRead = { file: place.file, gzip: place.gzip, frame: { index: place.index, offset: place.offset, data }, example: decodeExample(data) };
      this.derived.forEach((d, i) => (this.derivedValues[i]![row] = d.valueOf(read)));
    }
    this.rowCount++;
  }

  writeTo(chunk: DuckDBDataChunk): void {
    const rows = this.rowCount;
    this.columns.forEach((column, c) => column.writeTo(duckdb.data_chunk_get_vector(chunk.chunk, c), rows));
    this.derivedValues.forEach((values, d) => {
      const vector = chunk.getColumnVector(this.columns.length + d);
      for (let i = 0; i < rows; i++) vector.setItem(i, values[i]!);
      vector.flush();
    });
    this.rowCount = 0;
  }
}

/** The rows of one file, a data chunk's worth at a time. */
async function* rowBatches(file: string, features: InputFeatures, options: TfRecordOptions, counter: ReadCounter, signal: AbortSignal): AsyncGenerator<ColumnBatch> {
  const batch = new RowBatch(features, options.derived ?? []);
  const locator = new FeatureLocator(features.names, (name, _bytes, place) => {
    throw misfit(features, place, `feature "${name}" appears here, but in no record`);
  });
  const place: RecordPlace = { file, gzip: options.gzip ?? isGzipPath(file), index: 0, offset: 0 };
  for await (const frames of readTfRecordFrameBatches(file, { gzip: place.gzip, signal, counter })) {
    for (let k = 0; k < frames.count; ) {
      k = batch.addRecords(frames, k, locator, place);
      if (batch.rowCount === BATCH_ROWS) yield batch;
    }
  }
  if (batch.rowCount > 0) yield batch;
}

/**
 * The files of one input as record sources sharing one set of columns, ready for loadRecords (which
 * starts over when they outgrow it).
 */
export async function openTfRecordSources(files: readonly string[], options: TfRecordOptions): Promise<RecordSource[]> {
  const derived = options.derived ?? [];
  const learn = async (sample: boolean): Promise<InputFeatures> => {
    const names = await learnFeatures(files, { ...options, sample, onFile: options.onSchemaProgress });
    const clash = derived.find((d) => names.idOf(d.column.name) !== undefined);
    if (clash) throw new UserInputError(`input feature "${clash.column.name}" uses a name reserved by ExampleGen; rename it`);
    return { names, complete: !sample };
  };
  let features = await learn(true);
  // A sample without a feature gives no table to load into: the whole input decides.
  if (features.names.shapes.length === 0) features = await learn(false);
  if (features.names.shapes.length === 0) {
    const what = files.length === 1 ? files[0]! : `${files.length} files (${files[0]}, ...)`;
    throw new UserInputError(`${what}: holds no rows: no TFRecord record has a feature (the files are empty or hold empty tf.Examples)`);
  }
  const widen = async () => {
    features = await learn(false);
  };
  return files.map((file) => {
    const counter: ReadCounter = { bytes: 0 };
    return {
      file,
      get columns(): SourceColumn[] {
        return [...features.names.shapes.map((shape) => ({ name: shape.name, type: columnType(shape) })), ...derived.map((d) => d.column)];
      },
      bytesRead: () => counter.bytes,
      batches: (signal: AbortSignal) => rowBatches(file, features, options, counter, signal),
      widen,
    };
  });
}

/** One TFRecord file as a record source (its columns inferred from it alone). */
export async function openTfRecordSource(file: string, options: TfRecordOptions): Promise<RecordSource> {
  const [source] = await openTfRecordSources([file], options);
  return source!;
}
