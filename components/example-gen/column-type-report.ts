import { DuckDBTypeId } from '@duckdb/node-api';
import type { Column } from '../data/column-kinds';
import type { DuckDbSession } from '../data/duckdb-session';
import { sqlIdentifier, sqlString } from '../data/sql';

/** What a text column's values might be, tried in this order (a number also reads as a boolean 0/1). */
const CANDIDATES = [
  { type: 'DOUBLE', what: 'a number' },
  { type: 'BOOLEAN', what: 'a boolean' },
  { type: 'TIMESTAMP', what: 'a date or timestamp' },
] as const;
/** Values looked at first: only a column that looks like another type is counted in full. */
const SAMPLE_VALUES = 10_000;
/** "A few values": at most this share of a column does not read as the type the rest has. */
const FEW = 0.05;

/**
 * Text columns of an input whose types are inferred (CSV, JSON) that would have another type but for a
 * few values: one message per column, naming how many values and one of them. The split does not move
 * (hash-split.ts keys such text like the number), but the column's statistics and schema do.
 */
export async function textColumnsOfAnotherType(db: DuckDbSession, relationSql: string, columns: readonly Column[]): Promise<string[]> {
  const messages: string[] = [];
  for (const column of columns.filter((c) => c.typeId === DuckDBTypeId.VARCHAR)) {
    const c = sqlIdentifier(column.name);
    const parses = (type: string) => `TRY_CAST(${c} AS ${type}) IS NOT NULL`;
    const counts = (from: string) =>
      `SELECT count(${c}) AS n, ${CANDIDATES.map((t, i) => `count(*) FILTER (${parses(t.type)}) AS ok${i}`).join(', ')} FROM ${from}`;
    const [sample] = (await db.query(counts(`(SELECT ${c} FROM ${relationSql} WHERE ${c} IS NOT NULL LIMIT ${SAMPLE_VALUES})`))).getRowObjectsJS();
    const n = Number(sample?.n ?? 0);
    const candidate = CANDIDATES.findIndex((_, i) => n > 0 && Number(sample?.[`ok${i}`]) >= n * (1 - FEW));
    if (candidate < 0) continue;
    const { type, what } = CANDIDATES[candidate]!;
    const [full] = (
      await db.query(`SELECT count(${c}) AS n, count(*) FILTER (${parses(type)}) AS ok, min(${c}) FILTER (NOT ${parses(type)}) AS example FROM ${relationSql}`)
    ).getRowObjectsJS();
    const total = Number(full?.n ?? 0);
    const bad = total - Number(full?.ok ?? 0);
    if (bad === 0 || bad > total * FEW) continue;
    messages.push(
      `column "${column.name}" was read as text because ${bad} of ${total} values do not read as ${what} (e.g. ${sqlString(String(full?.example))}); ` +
        'declare its type in `columns` to count such rows as bad rows instead',
    );
  }
  return messages;
}
