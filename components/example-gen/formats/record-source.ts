import type { DuckDBDataChunk, DuckDBType, DuckDBValue } from '@duckdb/node-api';

/** A column a record source declares: its name and the DuckDB type its values are appended as. */
export interface SourceColumn {
  name: string;
  type: DuckDBType;
}

/**
 * Rows already laid out column by column by their reader, written into a DuckDB data chunk without a
 * JavaScript value per cell. Valid until the source is asked for its next batch.
 */
export interface ColumnBatch {
  /** At most DuckDB's vector size (2048). */
  readonly rowCount: number;
  /** Writes the rows into `chunk` (made with the source's column types and `rowCount` rows) and empties the batch. */
  writeTo(chunk: DuckDBDataChunk): void;
}

/**
 * A batch of rows: each row one value per column, in column order, null for a missing value; or a
 * ColumnBatch.
 */
export type RecordBatch = readonly (readonly DuckDBValue[])[] | ColumnBatch;

/**
 * A file read by a JavaScript library (Avro, TFRecord, Arrow IPC) rather than by DuckDB itself:
 * its columns, known before the first row, and its rows in batches, streamed (never the whole file in
 * memory).
 */
export interface RecordSource {
  /** The file, as error messages name it. */
  file: string;
  columns: SourceColumn[];
  batches(signal: AbortSignal): AsyncIterable<RecordBatch>;
  /** Bytes of the file consumed so far: how far a long load has come. */
  bytesRead(): number;
  /**
   * For a source whose columns were inferred from a sample of its input: learns them from all of it,
   * after its batches threw ColumnsOutgrown. The sources of one input share their columns, so this
   * widens every one of them.
   */
  widen?(): Promise<void>;
}

/**
 * A row that does not fit the columns its source declared from a sample: the load starts over once
 * the source has widened them.
 */
export class ColumnsOutgrown extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ColumnsOutgrown';
  }
}
