import { DuckDBConnection, DuckDBInstance, type DuckDBAppender, type DuckDBResultReader } from '@duckdb/node-api';
import { columnOf, type Column } from './column-kinds';

export interface QueryProgress {
  /** 0..1; DuckDB's own estimate for the running statement. */
  fraction: number;
  rowsProcessed: number;
}

/** How often a running statement's progress is sampled; DuckDB computes it on demand, so this is cheap. */
const PROGRESS_POLL_MS = 250;

/**
 * One private in-memory DuckDB database for one executor run. DuckDB runs statements on its own
 * threads, so awaiting a query leaves the event loop free for progress reports and cancellation.
 */
export class DuckDbSession {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    private readonly signal: AbortSignal,
    private readonly onAbort: () => void,
  ) {}

  /** `tmpDir` receives DuckDB's spill files, so inputs larger than memory still go through. */
  static async open({ tmpDir, signal }: { tmpDir: string; signal: AbortSignal }): Promise<DuckDbSession> {
    signal.throwIfAborted();
    const instance = await DuckDBInstance.create(':memory:', { temp_directory: tmpDir });
    const connection = await instance.connect();
    // Timestamps with a time zone render in the session zone: pin it so split keys and statistics
    // do not depend on the worker machine's locale.
    await connection.run(`SET TimeZone = 'UTC'`);
    await connection.run('SET enable_progress_bar = true');
    await connection.run('SET enable_progress_bar_print = false');
    const onAbort = () => connection.interrupt();
    signal.addEventListener('abort', onAbort, { once: true });
    return new DuckDbSession(instance, connection, signal, onAbort);
  }

  async query(sql: string, onProgress?: (progress: QueryProgress) => void): Promise<DuckDBResultReader> {
    this.signal.throwIfAborted();
    const timer = onProgress
      ? setInterval(() => {
          const p = this.connection.progress;
          if (p.percentage >= 0) onProgress({ fraction: Math.min(1, p.percentage / 100), rowsProcessed: Number(p.rows_processed) });
        }, PROGRESS_POLL_MS)
      : undefined;
    try {
      return await this.connection.runAndReadAll(sql);
    } catch (err) {
      this.signal.throwIfAborted();
      throw err;
    } finally {
      if (timer) clearInterval(timer);
    }
  }

  /** An appender into an existing table: how rows read by JavaScript (Avro, TFRecord, Arrow IPC) enter DuckDB. */
  appender(table: string): Promise<DuckDBAppender> {
    this.signal.throwIfAborted();
    return this.connection.createAppender(table);
  }

  /** Names and types of a relation's columns, without reading its rows. */
  async columns(relationSql: string): Promise<Column[]> {
    const reader = await this.query(`SELECT * FROM ${relationSql} LIMIT 0`);
    const types = reader.columnTypes();
    return reader.columnNames().map((name, i) => columnOf(name, types[i]!));
  }

  close(): void {
    this.signal.removeEventListener('abort', this.onAbort);
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

/** Opens a session, runs `fn` with it and always closes it. */
export async function withDuckDb<T>(
  options: { tmpDir: string; signal: AbortSignal },
  fn: (session: DuckDbSession) => Promise<T>,
): Promise<T> {
  const session = await DuckDbSession.open(options);
  try {
    return await fn(session);
  } finally {
    session.close();
  }
}
