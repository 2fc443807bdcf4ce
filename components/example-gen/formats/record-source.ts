import type { DuckDBType, DuckDBValue } from '@duckdb/node-api';

/** A column a record source declares: its name and the DuckDB type its values are appended as. */
export interface SourceColumn {
  name: string;
  type: DuckDBType;
}

/**
 * A file read by a JavaScript library (Avro, TFRecord, Arrow IPC) rather than by DuckDB itself:
 * its columns, known before the first row, and its rows in batches, streamed (never the whole file in
 * memory). A row holds one value per column, in column order; null for a missing value.
 */
export interface RecordSource {
  /** The file, as error messages name it. */
  file: string;
  columns: SourceColumn[];
  batches(signal: AbortSignal): AsyncIterable<DuckDBValue[][]>;
  /** Bytes of the file consumed so far: how far a long load has come. */
  bytesRead(): number;
}
