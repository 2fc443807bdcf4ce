import { ARRAY, BIGINT, DuckDBTypeId, FLOAT, VARCHAR, type DuckDBType } from '@duckdb/node-api';
import { ComponentError, UserInputError } from '../../dsl/executor';
import type { Column } from '../data/column-kinds';
import { sqlIdentifier } from '../data/sql';
import type { SchemaPayload } from '../schema-gen/payload';
import { RAW_DTYPE, valueKindOf } from './dsl';
import { MISSING_INSTANT, type GraphDtype, type TensorSpec } from './signature';

/**
 * How Parquet columns become the transform graph's inputs (signature.ts) and its outputs become Parquet
 * columns. The conversion of inputs runs in DuckDB's SQL, so a batch arrives NULL-free in one layout per
 * dtype and JavaScript only copies it:
 * - float32 inputs come as DOUBLE with NaN for NULL; the narrowing to FP32 happens when the batch is
 *   copied into a Float32Array (round to nearest, beyond FP32's range to ±Infinity), since DuckDB's own
 *   DOUBLE → FLOAT cast fails on such values instead.
 * - string inputs come as VARCHAR with '' for NULL (ENUM and UUID as their text).
 * - int64 inputs come as BIGINT microseconds since 1970-01-01T00:00:00Z (a DATE at its midnight, a TIME
 *   as microseconds since midnight, a TIMESTAMP WITH TIME ZONE as its instant, nanoseconds floored), and
 *   MISSING_INSTANT for NULL and for ±infinity.
 */

/** The Parquet (DuckDB) column kinds each graph input dtype takes. */
const KINDS_FOR_DTYPE: Record<GraphDtype, readonly Column['kind'][]> = {
  float32: ['INT', 'FLOAT', 'BOOL'],
  string: ['STRING'],
  int64: ['TEMPORAL'],
};

const WHAT_DTYPE_TAKES: Record<GraphDtype, string> = {
  float32: 'a number column (integer, floating point, decimal or boolean)',
  string: 'a string column (VARCHAR, ENUM or UUID)',
  int64: 'a date or time column (DATE, TIME, TIMESTAMP)',
};

function instantMicros(column: Column): string {
  const name = sqlIdentifier(column.name);
  if (column.typeId === DuckDBTypeId.TIMESTAMP_NS) {
    // epoch_us rounds nanoseconds; floor them, as every other instant is floored to its microsecond.
    // epoch_ns gives ±infinity as INT64's extremes (a real instant in year ±294247), so those go NULL first.
    const ns = `epoch_ns(CASE WHEN isfinite(${name}) THEN ${name} END)`;
    return `(${ns} // 1000 - CAST(${ns} % 1000 < 0 AS BIGINT))`;
  }
  return `epoch_us(${name})`;
}

/** The graph inputs of `features` (checked against `schema` by check.ts), in that order, each with its feature kind's dtype. */
export function graphInputs(features: readonly string[], schema: SchemaPayload): TensorSpec[] {
  const kinds = new Map(schema.features.map((f) => [f.name, valueKindOf(f.type)]));
  return features.map((name) => ({ name, dtype: RAW_DTYPE[kinds.get(name)!], shape: [-1] }));
}

/** The SQL expression that reads `column` as the graph input `input` takes it (see above). */
function inputExpression(input: TensorSpec, column: Column): string {
  const name = sqlIdentifier(column.name);
  switch (input.dtype) {
    case 'float32':
      return `coalesce(CAST(${name} AS DOUBLE), 'NaN'::DOUBLE)`;
    case 'string':
      return `coalesce(CAST(${name} AS VARCHAR), '')`;
    case 'int64':
      return `coalesce(${instantMicros(column)}, CAST(${MISSING_INSTANT} AS BIGINT))`;
  }
}

/**
 * The SELECT list that reads a file's columns as the graph's inputs, in the signature's order, each
 * under its input's name. A missing column, or one of a kind the input cannot take, is the user's
 * mistake, named with the file, the column and what was expected.
 */
export function inputSelectList(file: string, columns: readonly Column[], inputs: readonly TensorSpec[]): string {
  return inputs
    .map((input) => {
      if (input.shape.length !== 1) throw new ComponentError(`the transform graph's input "${input.name}" has shape [${input.shape.join(', ')}]; raw feature inputs are 1-D`);
      const column = columns.find((c) => c.name === input.name);
      if (!column) {
        throw new UserInputError(
          `${file}: no column "${input.name}", which the transform graph reads as ${input.dtype} (${WHAT_DTYPE_TAKES[input.dtype]}); its columns: ${columns.map((c) => c.name).join(', ')}`,
        );
      }
      if (!KINDS_FOR_DTYPE[input.dtype].includes(column.kind)) {
        throw new UserInputError(
          `${file}: column "${column.name}" is ${column.physicalType}, but the transform graph reads it as ${input.dtype} and takes ${WHAT_DTYPE_TAKES[input.dtype]}`,
        );
      }
      return `${inputExpression(input, column)} AS ${sqlIdentifier(input.name)}`;
    })
    .join(', ');
}

/** An output's values per row: 1 for shape [-1], w for [-1, w]. */
export function outputWidth(output: TensorSpec): number {
  return output.shape.length === 2 ? output.shape[1]! : 1;
}

/**
 * The DuckDB (and so Parquet) column type of a graph output: FLOAT, BIGINT or VARCHAR for a scalar,
 * FLOAT[w] (BIGINT[w]) for a [-1, w] vector such as a one-hot encoding: a fixed-size array, which
 * Parquet stores as a list and DuckDB reads back as FLOAT[].
 */
export function outputColumnType(output: TensorSpec): DuckDBType {
  const scalar = { float32: FLOAT, int64: BIGINT, string: VARCHAR }[output.dtype];
  const batchFirst = output.shape[0] === -1;
  if (batchFirst && output.shape.length === 1) return scalar;
  if (batchFirst && output.shape.length === 2 && output.shape[1]! >= 1 && output.dtype !== 'string') return ARRAY(scalar, output.shape[1]!);
  throw new ComponentError(
    `the transform graph's output "${output.name}" is ${output.dtype} of shape [${output.shape.join(', ')}]; materialisation writes [-1] outputs and numeric [-1, width] ones`,
  );
}
