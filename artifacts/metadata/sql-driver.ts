/**
 * The seam between the metadata store and a SQL database. The store writes portable SQL (`?`
 * placeholders, `INSERT ... ON CONFLICT ... RETURNING`, JSON kept in TEXT columns, ISO-8601 times in
 * TEXT) that SQLite and PostgreSQL both accept; what differs between them lives in `SqlDialect` and in
 * each driver (placeholder syntax, locking, transactions).
 */

export type SqlValue = string | number | null;
export type SqlRow = Record<string, unknown>;

/** One transaction's view of the database. */
export interface SqlSession {
  all(sql: string, params?: readonly SqlValue[]): Promise<SqlRow[]>;
  get(sql: string, params?: readonly SqlValue[]): Promise<SqlRow | undefined>;
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }>;
}

/** Schema fragments that differ between databases. */
export interface SqlDialect {
  readonly name: string;
  /** Column definition of an auto-assigned id that is never reused. */
  readonly autoIdColumn: string;
  /** Column type of a reference to such an id. */
  readonly idRefType: string;
}

export interface SqlDriver {
  readonly dialect: SqlDialect;
  /** Human-readable location for error messages (never includes credentials). */
  readonly location: string;
  /**
   * Runs `fn` in a transaction that may write; commits when it resolves, rolls back when it throws.
   * A driver may run `fn` again after a lock conflict, so `fn` must have no effects beyond its statements.
   */
  write<T>(fn: (session: SqlSession) => Promise<T>): Promise<T>;
  /** Runs `fn` in a transaction that sees one consistent snapshot (same rule for `fn` as `write`). */
  read<T>(fn: (session: SqlSession) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Largest number of `?` placeholders one statement gets; well under every database's limit. */
export const MAX_PARAMS_PER_STATEMENT = 500;

/** `(?, ?, ?)` for an IN list of `n` values. */
export function placeholders(n: number): string {
  return `(${Array.from({ length: n }, () => '?').join(', ')})`;
}

/** Splits values so that each chunk fits one statement's placeholders. */
export function chunks<T>(values: readonly T[], size = MAX_PARAMS_PER_STATEMENT): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < values.length; i += size) out.push(values.slice(i, i + size));
  return out;
}
