import { Tensor, type OnnxFeeds } from '../../onnx/session';
import { withDuckDb } from '../data/duckdb-session';
import { sqlString } from '../data/sql';
import { inputSelectList } from '../transform/graph-columns';
import type { TensorSpec } from '../transform/signature';

/** One raw feature's values as the serving graph takes it; graph-columns.ts's SELECT already maps missing values (NaN, '', MISSING_INSTANT). */
export type InputColumn = Float32Array | string[] | BigInt64Array;

export interface EvalColumns {
  rows: number;
  columns: InputColumn[];
}

/** The first `rows` rows of the split's raw Parquet files, one column per serving input, in input order. */
export async function readEvalColumns(options: { rawFiles: string[]; inputs: TensorSpec[]; rows: number; tmpDir: string; signal: AbortSignal }): Promise<EvalColumns> {
  return withDuckDb({ tmpDir: options.tmpDir, signal: options.signal }, async (db) => {
    const relation = `read_parquet([${options.rawFiles.map(sqlString).join(', ')}])`;
    const select = inputSelectList(options.rawFiles[0]!, await db.columns(relation), options.inputs);
    const reader = await db.query(`SELECT ${select} FROM ${relation} LIMIT ${options.rows}`);
    const values = reader.getColumns();
    const columns = options.inputs.map((input, k): InputColumn => {
      const column = values[k]!;
      if (input.dtype === 'float32') return Float32Array.from(column, (v) => Number(v));
      if (input.dtype === 'int64') return BigInt64Array.from(column, (v) => BigInt(v as bigint | number));
      return column.map((v) => String(v));
    });
    return { rows: reader.currentRowCount, columns };
  });
}

/** Rows [start, end) of every column. */
export function sliceColumns(columns: InputColumn[], start: number, end: number): InputColumn[] {
  return columns.map((c) => c.slice(start, end));
}

export function columnFeeds(inputs: TensorSpec[], columns: InputColumn[]): OnnxFeeds {
  return Object.fromEntries(inputs.map((input, k) => [input.name, new Tensor(input.dtype, columns[k]!, [columns[k]!.length])]));
}
