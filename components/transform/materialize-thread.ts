import { parentPort, workerData } from 'node:worker_threads';
import duckdb from '@duckdb/node-bindings';
import { DuckDBConnection, DuckDBDataChunk, DuckDBInstance, DuckDBVector, type DuckDBAppender, type DuckDBType } from '@duckdb/node-api';
import { bigintValues, doubleValues, VarcharDecoder, writeNumbers, writeStrings } from '../data/duckdb-vectors';
import { sqlIdentifier, sqlString } from '../data/sql';
import { openSession, Tensor, type OnnxFeeds, type OnnxSession } from '../../onnx/session';
import { outputColumnType, outputWidth } from './graph-columns';
import type { MaterializeThreadData, PartTask, ThreadReply, ThreadRequest } from './materialize-protocol';
import type { TensorSpec } from './signature';

/**
 * One materialisation thread (materialize.ts starts them): transforms parts, one at a time, each from
 * Parquet rows to a Parquet file, with a DuckDB database and an onnxruntime session of its own, each on
 * one thread. onnxruntime-node's `run` is synchronous on the calling thread (its promise only defers the
 * call), so a part's reading, graph and writing all happen here, off the caller's event loop; the caller
 * runs as many threads as it has cores, which overlaps all three.
 */

const data = workerData as MaterializeThreadData;
const port = parentPort!;

class Aborted extends Error {}

/** One batch of graph inputs, filled from DuckDB chunks in the signature's layout. */
class InputBatch {
  rows = 0;
  private readonly columns: Array<Float32Array | BigInt64Array | string[]>;
  private readonly decoders: VarcharDecoder[];

  constructor(private readonly inputs: TensorSpec[], private readonly capacity: number) {
    this.columns = inputs.map((i) => (i.dtype === 'float32' ? new Float32Array(capacity) : i.dtype === 'int64' ? new BigInt64Array(capacity) : new Array<string>(capacity).fill('')));
    this.decoders = inputs.map(() => new VarcharDecoder());
  }

  get full(): boolean {
    return this.rows === this.capacity;
  }

  /** Takes rows of `chunk` from `from` until the batch is full; returns how many it took. */
  fill(chunk: DuckDBDataChunk, from: number): number {
    const rows = chunk.rowCount;
    const take = Math.min(rows - from, this.capacity - this.rows);
    this.inputs.forEach((input, k) => {
      const vector = duckdb.data_chunk_get_vector(chunk.chunk, k);
      const column = this.columns[k]!;
      if (column instanceof Float32Array) column.set(doubleValues(vector, rows).subarray(from, from + take), this.rows);
      else if (column instanceof BigInt64Array) column.set(bigintValues(vector, rows).subarray(from, from + take), this.rows);
      else this.decoders[k]!.decodeInto(vector, rows, from, take, column, this.rows);
    });
    this.rows += take;
    return take;
  }

  feeds(): OnnxFeeds {
    const n = this.rows;
    return Object.fromEntries(
      this.inputs.map((input, k) => {
        const column = this.columns[k]!;
        const values = Array.isArray(column) ? (n === this.capacity ? column : column.slice(0, n)) : column.subarray(0, n);
        return [input.name, new Tensor(input.dtype, values, [n])];
      }),
    );
  }
}

/** Checks an output tensor against the signature and returns its values. */
function outputValues(output: TensorSpec, tensor: Tensor | undefined, rows: number): Float32Array | BigInt64Array | string[] {
  if (!tensor) throw new Error(`the transform graph returned no output "${output.name}"`);
  const expected = output.shape.length === 2 ? [rows, output.shape[1]!] : [rows];
  if (tensor.type !== output.dtype || tensor.dims.length !== expected.length || tensor.dims.some((d, i) => d !== expected[i])) {
    throw new Error(
      `the transform graph's output "${output.name}" is ${tensor.type} [${tensor.dims.join(', ')}] for ${rows} rows; its signature says ${output.dtype} [${output.shape.join(', ')}]`,
    );
  }
  const values = tensor.data;
  if (values instanceof Float32Array || values instanceof BigInt64Array) return values;
  if (Array.isArray(values)) return values as string[];
  throw new Error(`the transform graph's output "${output.name}" came back as ${tensor.type}, which materialisation does not write`);
}

class ThreadState {
  aborted = false;
  private constructor(
    private readonly instance: DuckDBInstance,
    /** Reads the part's rows as a stream; the appender has a connection of its own, since appending on the reading connection ends its stream. */
    private readonly reader: DuckDBConnection,
    private readonly writer: DuckDBConnection,
    private readonly session: OnnxSession,
    private readonly types: DuckDBType[],
  ) {}

  static async open(): Promise<ThreadState> {
    const instance = await DuckDBInstance.create(':memory:', { threads: '1', temp_directory: data.tmpDir });
    const reader = await instance.connect();
    const writer = await instance.connect();
    await reader.run(`SET TimeZone = 'UTC'`);
    const session = await openSession(data.model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    return new ThreadState(instance, reader, writer, session, data.outputs.map(outputColumnType));
  }

  abort(): void {
    this.aborted = true;
    this.reader.interrupt();
    this.writer.interrupt();
  }

  private check(): void {
    if (this.aborted) throw new Aborted('aborted');
  }

  async runPart(task: PartTask): Promise<number> {
    const table = sqlIdentifier(`part_${task.index}`);
    await this.writer.run(`CREATE TABLE ${table} (${data.outputs.map((o, k) => `${sqlIdentifier(o.name)} ${this.types[k]!.toString()}`).join(', ')})`);
    try {
      const appender = await this.writer.createAppender(`part_${task.index}`);
      const rows = await this.transformRows(task, appender);
      appender.closeSync();
      this.check();
      // One thread writes the file, so its bytes (row groups included) depend on the rows alone.
      await this.writer.run(`COPY ${table} TO ${sqlString(task.out)} (FORMAT parquet)`);
      return rows;
    } finally {
      if (!this.aborted) await this.writer.run(`DROP TABLE ${table}`);
    }
  }

  private async transformRows(task: PartTask, appender: DuckDBAppender): Promise<number> {
    const result = await this.reader.stream(
      `SELECT ${task.select} FROM read_parquet(${sqlString(task.file)}, file_row_number = true) ` +
        `WHERE file_row_number >= ${task.start} AND file_row_number < ${task.end}`,
    );
    const batch = new InputBatch(data.inputs, data.batchRows);
    let rows = 0;
    for (;;) {
      const chunk = await result.fetchChunk();
      this.check();
      if (!chunk || chunk.rowCount === 0) break;
      for (let from = 0; from < chunk.rowCount; ) {
        from += batch.fill(chunk, from);
        if (batch.full) rows += await this.runBatch(batch, appender);
      }
    }
    if (batch.rows > 0) rows += await this.runBatch(batch, appender);
    return rows;
  }

  private async runBatch(batch: InputBatch, appender: DuckDBAppender): Promise<number> {
    const rows = batch.rows;
    const results = await this.session.run(batch.feeds());
    this.check();
    const outputs = data.outputs.map((o) => outputValues(o, results[o.name], rows));
    const chunkRows = DuckDBVector.standardSize();
    for (let from = 0; from < rows; from += chunkRows) {
      const count = Math.min(chunkRows, rows - from);
      const chunk = DuckDBDataChunk.create(this.types, count);
      data.outputs.forEach((output, k) => {
        const vector = duckdb.data_chunk_get_vector(chunk.chunk, k);
        const values = outputs[k]!;
        if (Array.isArray(values)) writeStrings(vector, values, from, count);
        else writeNumbers(vector, values, from, count, outputWidth(output));
      });
      appender.appendDataChunk(chunk);
    }
    batch.rows = 0;
    reply({ type: 'progress', rows });
    return rows;
  }

  async close(): Promise<void> {
    await this.session.release();
    this.reader.closeSync();
    this.writer.closeSync();
    this.instance.closeSync();
  }
}

function reply(message: ThreadReply): void {
  port.postMessage(message);
}

async function main(): Promise<void> {
  const state = await ThreadState.open();
  let busy: Promise<void> = Promise.resolve();
  const end = async () => {
    await state.close();
    port.close();
  };
  port.on('message', (request: ThreadRequest) => {
    if (request.type === 'abort') {
      state.abort();
      busy = busy.then(end);
    } else if (request.type === 'close') {
      busy = busy.then(end);
    } else {
      busy = busy.then(async () => {
        try {
          reply({ type: 'part-done', index: request.index, rows: await state.runPart(request) });
        } catch (err) {
          if (err instanceof Aborted || state.aborted) return;
          const e = err instanceof Error ? err : new Error(String(err));
          reply({ type: 'failed', message: `${request.file} (rows ${request.start} to ${request.end - 1}): ${e.message}`, stack: e.stack });
        }
      });
    }
  });
}

main().catch((err: unknown) => {
  const e = err instanceof Error ? err : new Error(String(err));
  reply({ type: 'failed', message: e.message, stack: e.stack });
  port.close();
});
