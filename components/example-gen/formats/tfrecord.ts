/**
 * TFRecord files of tf.Example as a RecordSource: a first streamed pass over all files of the input
 * finds each feature's kind and longest list, which fixes the columns; a second pass streams the rows.
 *
 * Column types (one per feature, in order of first appearance):
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
 */
import { isUtf8 } from 'node:buffer';
import { BIGINT, BLOB, FLOAT, LIST, VARCHAR, blobValue, listValue, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { UserInputError } from '../../../dsl/executor';
import type { RecordSource, SourceColumn } from './record-source';
import { decodeExample, ExampleDecodeError, featureLength, floatAt, type Feature, type FeatureKind, type TfExample } from './tf-example';
import { describeOffset, isGzipPath, readTfRecordFrames, type ReadCounter, type TfRecordFrame } from './tfrecord-frames';

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
  /** Called once per file after the schema pass has read it. */
  onSchemaProgress?: (progress: { file: string; records: number }) => void;
}

const BATCH_ROWS = 2048;

interface FeatureShape {
  kind: FeatureKind | null;
  maxLength: number;
  utf8: boolean;
  /** Where the kind was first seen, for the error when another record disagrees. */
  firstSeen?: string;
}

function where(file: string, frame: TfRecordFrame, gzip: boolean): string {
  return `${file} record ${frame.index} at ${describeOffset(frame.offset, gzip)}`;
}

export async function* readExamples(file: string, gzip: boolean, signal: AbortSignal, counter?: ReadCounter): AsyncGenerator<TfRecordRead> {
  for await (const frame of readTfRecordFrames(file, { gzip, signal, counter })) {
    let example: TfExample;
    try {
      example = decodeExample(frame.data);
    } catch (err) {
      if (!(err instanceof ExampleDecodeError)) throw err;
      throw new UserInputError(
        `${where(file, frame, gzip)}: the record is not a tf.Example (${err.message} at byte ${err.offset} of its ${frame.data.length} data bytes)`,
      );
    }
    yield { file, frame, example, gzip };
  }
}

function columnType(shape: FeatureShape): DuckDBType {
  const scalar = shape.kind === 'int64_list' ? BIGINT : shape.kind === 'float_list' ? FLOAT : shape.kind === 'bytes_list' && !shape.utf8 ? BLOB : VARCHAR;
  return shape.maxLength > 1 ? LIST(scalar) : scalar;
}

async function inferShapes(files: readonly string[], options: TfRecordOptions): Promise<Map<string, FeatureShape>> {
  const shapes = new Map<string, FeatureShape>();
  for (const file of files) {
    const gzip = options.gzip ?? isGzipPath(file);
    let records = 0;
    for await (const { frame, example } of readExamples(file, gzip, options.signal)) {
      records++;
      for (const [name, { feature }] of example.features) {
        let shape = shapes.get(name);
        if (!shape) {
          shape = { kind: null, maxLength: 0, utf8: true };
          shapes.set(name, shape);
        }
        if (feature.kind === null) continue;
        if (shape.kind === null) {
          shape.kind = feature.kind;
          shape.firstSeen = where(file, frame, gzip);
        } else if (shape.kind !== feature.kind) {
          throw new UserInputError(
            `${where(file, frame, gzip)}: feature "${name}" is ${feature.kind} here but ${shape.kind} in ${shape.firstSeen}; a feature must keep one kind in every record`,
          );
        }
        shape.maxLength = Math.max(shape.maxLength, featureLength(feature));
        if (feature.kind === 'bytes_list' && shape.utf8) shape.utf8 = feature.values.every((v) => isUtf8(v));
      }
    }
    options.onSchemaProgress?.({ file, records });
  }
  return shapes;
}

type Converter = (feature: Feature) => DuckDBValue;

function converterFor(shape: FeatureShape): Converter {
  const one = (feature: Feature, i: number): DuckDBValue => {
    switch (feature.kind) {
      case 'int64_list':
        return feature.values[i]!;
      case 'float_list':
        return floatAt(feature.bits, i);
      case 'bytes_list': {
        const v = feature.values[i]!;
        return shape.utf8 ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8') : blobValue(v);
      }
      default:
        return null;
    }
  };
  if (shape.maxLength > 1) {
    return (feature) => {
      const n = featureLength(feature);
      return n === 0 ? null : listValue(Array.from({ length: n }, (_, i) => one(feature, i)));
    };
  }
  return (feature) => (featureLength(feature) === 0 ? null : one(feature, 0));
}

/**
 * The files of one input as record sources sharing one set of columns (inferred over all of them),
 * ready for loadRecords.
 */
export async function openTfRecordSources(files: readonly string[], options: TfRecordOptions): Promise<RecordSource[]> {
  const shapes = await inferShapes(files, options);
  const names = [...shapes.keys()];
  const converters = names.map((n) => converterFor(shapes.get(n)!));
  const derived = options.derived ?? [];
  const columns: SourceColumn[] = [...names.map((name) => ({ name, type: columnType(shapes.get(name)!) })), ...derived.map((d) => d.column)];
  const clash = derived.find((d) => shapes.has(d.column.name));
  if (clash) throw new UserInputError(`input feature "${clash.column.name}" uses a name reserved by ExampleGen; rename it`);

  return files.map((file) => {
    const counter: ReadCounter = { bytes: 0 };
    return {
      file,
      columns,
      bytesRead: () => counter.bytes,
      async *batches(signal: AbortSignal): AsyncIterable<DuckDBValue[][]> {
        const gzip = options.gzip ?? isGzipPath(file);
        let batch: DuckDBValue[][] = [];
        for await (const record of readExamples(file, gzip, signal, counter)) {
          const row: DuckDBValue[] = names.map((name, i) => {
            const entry = record.example.features.get(name);
            return entry ? converters[i]!(entry.feature) : null;
          });
          for (const d of derived) row.push(d.valueOf(record));
          batch.push(row);
          if (batch.length === BATCH_ROWS) {
            yield batch;
            batch = [];
          }
        }
        if (batch.length) yield batch;
      },
    };
  });
}

/** One TFRecord file as a record source (its columns inferred from it alone). */
export async function openTfRecordSource(file: string, options: TfRecordOptions): Promise<RecordSource> {
  const [source] = await openTfRecordSources([file], options);
  return source!;
}
