import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import type { SqlDialect, SqlDriver, SqlRow, SqlSession, SqlValue } from './sql-driver';

export const SQLITE_DIALECT: SqlDialect = {
  name: 'sqlite',
  // AUTOINCREMENT so an id, once handed out (to Temporal histories, CLI users), never names another row.
  autoIdColumn: 'INTEGER PRIMARY KEY AUTOINCREMENT',
  idRefType: 'INTEGER',
};

export interface SqliteDriverOptions {
  /** How long a write waits for another process's write lock before failing. */
  lockTimeoutMs?: number;
}

/**
 * better-sqlite3 is synchronous, and SQLite's own busy handler sleeps on the calling thread: a long
 * native wait would stall the worker's event loop and with it Temporal heartbeats. So the native busy
 * timeout stays short and longer waits for another process's write lock happen here, asynchronously.
 */
const NATIVE_BUSY_TIMEOUT_MS = 20;
const DEFAULT_LOCK_TIMEOUT_MS = 30_000;
const MAX_BACKOFF_MS = 100;

/** SQLITE_BUSY and its extended codes (SQLITE_BUSY_RECOVERY, SQLITE_BUSY_SNAPSHOT, ...). */
function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/**
 * Opens (creating if needed) a SQLite database file in WAL mode, which lets readers in any process
 * proceed while one process writes. Writes take the write lock up front (`BEGIN IMMEDIATE`): a
 * deferred transaction that later upgrades can fail with SQLITE_BUSY without waiting at all.
 */
export function openSqliteDriver(file: string, options: SqliteDriverOptions = {}): SqlDriver {
  const inMemory = file === ':memory:';
  if (!inMemory) mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file, { timeout: NATIVE_BUSY_TIMEOUT_MS });
  const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  // Switching to WAL needs a moment of exclusive access when several processes open a new file at
  // once. When two connections would deadlock, SQLite answers SQLITE_BUSY without calling the busy
  // handler at all, so the busy timeout alone does not cover it: retry until the lock timeout.
  const deadline = Date.now() + lockTimeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      withNativeBusyTimeout(db, lockTimeoutMs, () => {
        if (!inMemory) {
          const mode = db.pragma('journal_mode = WAL', { simple: true });
          if (mode !== 'wal') throw new Error(`metadata database ${file}: could not enable WAL mode (got '${String(mode)}')`);
        }
        db.pragma('synchronous = NORMAL');
        db.pragma('foreign_keys = ON');
      });
      break;
    } catch (err) {
      if (!isBusy(err) || Date.now() >= deadline) {
        db.close();
        throw err;
      }
      // Opening is synchronous; a few milliseconds of blocking sleep at start-up is harmless.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.min(MAX_BACKOFF_MS, 2 ** attempt));
    }
  }

  const statements = new Map<string, Database.Statement>();
  const prepare = (sql: string): Database.Statement => {
    let stmt = statements.get(sql);
    if (!stmt) {
      stmt = db.prepare(sql);
      statements.set(sql, stmt);
    }
    return stmt;
  };
  const session: SqlSession = {
    all: async (sql, params = []) => prepare(sql).all(...(params as SqlValue[])) as SqlRow[],
    get: async (sql, params = []) => prepare(sql).get(...(params as SqlValue[])) as SqlRow | undefined,
    run: async (sql, params = []) => ({ changes: prepare(sql).run(...(params as SqlValue[])).changes }),
  };

  // One connection serves every caller in this process: transactions take turns.
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;
  const enqueue = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn);
    queue = next.catch(() => undefined);
    return next;
  };
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> =>
    enqueue(() => {
      if (closed) throw new Error(`metadata database ${file} is closed`);
      return fn();
    });

  /**
   * A transaction that meets another process's lock is rolled back and run again after an async pause:
   * its only effects are its statements, so running it again is safe.
   */
  const transaction = <T>(beginStatement: string, fn: (s: SqlSession) => Promise<T>): Promise<T> =>
    exclusive(async () => {
      const deadline = Date.now() + lockTimeoutMs;
      for (let backoff = 1; ; backoff = Math.min(backoff * 2, MAX_BACKOFF_MS)) {
        try {
          db.exec(beginStatement);
          const result = await fn(session);
          db.exec('COMMIT');
          return result;
        } catch (err) {
          if (db.inTransaction) db.exec('ROLLBACK');
          if (!isBusy(err)) throw err;
          if (Date.now() >= deadline) {
            throw new Error(
              `metadata database ${file} stayed locked by another process for ${lockTimeoutMs} ms; ` +
                'is a process stuck holding it?',
            );
          }
          await sleep(backoff);
        }
      }
    });

  return {
    dialect: SQLITE_DIALECT,
    location: file,
    write: (fn) => transaction('BEGIN IMMEDIATE', fn),
    read: (fn) => transaction('BEGIN', fn),
    close: () =>
      enqueue(async () => {
        if (closed) return;
        closed = true;
        statements.clear();
        db.close();
      }),
  };
}

function withNativeBusyTimeout(db: Database.Database, ms: number, fn: () => void): void {
  db.pragma(`busy_timeout = ${Math.floor(ms)}`);
  try {
    fn();
  } finally {
    db.pragma(`busy_timeout = ${NATIVE_BUSY_TIMEOUT_MS}`);
  }
}
