import type { TensorSpec } from './signature';

/** What every materialisation thread starts with. */
export interface MaterializeThreadData {
  model: Uint8Array | string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** Rows per onnxruntime run. */
  batchRows: number;
  /** The thread's own DuckDB spill directory (two databases must not share one). */
  tmpDir: string;
}

/** Rows [start, end) of one input file, transformed into one output file. */
export interface PartTask {
  type: 'part';
  index: number;
  file: string;
  /** The SELECT list reading the file's columns as the graph's inputs (graph-columns.ts). */
  select: string;
  start: number;
  end: number;
  out: string;
}

/** `abort` interrupts the part in flight and ends the thread; `close` ends an idle one. */
export type ThreadRequest = PartTask | { type: 'abort' } | { type: 'close' };

export type ThreadReply =
  | { type: 'progress'; rows: number }
  | { type: 'part-done'; index: number; rows: number }
  | { type: 'failed'; message: string; stack?: string };
