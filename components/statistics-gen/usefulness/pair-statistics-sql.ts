import type { DuckDbSession, QueryProgress } from '../../data/duckdb-session';
import { sqlIdentifier } from '../../data/sql';

export interface PairStatisticsRequest {
  relationSql: string;
  /** INT and FLOAT features: Pearson's r for every pair. */
  numeric: string[];
  /**
   * Features that may carry another's information under other names, checked pairwise for a one-to-one
   * map of values, with their distinct values counting missing as one (from the statistics).
   */
  oneToOneCandidates: Array<{ name: string; distinct: number }>;
  onProgress?: (p: QueryProgress) => void;
}

export interface PairStatistics {
  /** `pearson[i][j]` over the `rows[i][j]` rows where both are finite; null where r is undefined there. */
  pearson: Array<Array<number | null>>;
  rows: number[][];
  /** Index pairs into `oneToOneCandidates` (i < j) whose values map one to one, missing counted as a value. */
  oneToOne: Array<[number, number]>;
}

const pairs = (n: number, withDiagonal: boolean): Array<[number, number]> =>
  Array.from({ length: n }, (_, i) => Array.from({ length: n - i }, (_, k) => [i, i + k] as [number, number])).flat().filter(([i, j]) => withDiagonal || i < j);

/**
 * Every pairwise figure in one aggregate scan: DuckDB's `corr` over the rows where both values are
 * finite (pairwise-complete, so one feature's gaps do not drop rows from every other pair), rounded to
 * 12 decimals as the information figures are (a perfect correlation is then 1, not a hair beyond), and the
 * distinct count of each candidate pair. Two features map one to one exactly when a value of either
 * fixes the other's: distinct(a, b) = distinct(a) = distinct(b).
 */
export async function pairStatistics(db: DuckDbSession, request: PairStatisticsRequest): Promise<PairStatistics> {
  const { numeric, oneToOneCandidates: candidates } = request;
  const both = (i: number, j: number) => `FILTER (WHERE isfinite(a${i}) AND isfinite(a${j}))`;
  const aggregates = [
    ...pairs(numeric.length, true).flatMap(([i, j]) => [`round(corr(a${i}, a${j}) ${both(i, j)}, 12) AS r_${i}_${j}`, `count(*) ${both(i, j)}::DOUBLE AS n_${i}_${j}`]),
    // A struct is never NULL, so missing is counted as one more value.
    ...pairs(candidates.length, false).map(([i, j]) => `count(DISTINCT {'v': b${i}, 'w': b${j}})::DOUBLE AS d_${i}_${j}`),
  ];
  const empty = { pearson: [], rows: [], oneToOne: [] };
  if (aggregates.length === 0) return empty;
  const columns = [
    ...numeric.map((name, i) => `CAST(${sqlIdentifier(name)} AS DOUBLE) AS a${i}`),
    ...candidates.map((c, i) => `${sqlIdentifier(c.name)} AS b${i}`),
  ];
  const [row] = (await db.query(`SELECT ${aggregates.join(', ')} FROM (SELECT ${columns.join(', ')} FROM ${request.relationSql})`, request.onProgress)).getRowObjectsJS();
  if (!row) return empty;

  const pearson = numeric.map(() => numeric.map((): number | null => null));
  const rows = numeric.map(() => numeric.map(() => 0));
  for (const [i, j] of pairs(numeric.length, true)) {
    const r = row[`r_${i}_${j}`];
    // A constant gives NaN or NULL.
    const value = typeof r === 'number' && Number.isFinite(r) ? r : null;
    pearson[i]![j] = pearson[j]![i] = value;
    rows[i]![j] = rows[j]![i] = Number(row[`n_${i}_${j}`]);
  }
  const oneToOne = pairs(candidates.length, false).filter(([i, j]) => {
    const joint = Number(row[`d_${i}_${j}`]);
    return joint === candidates[i]!.distinct && joint === candidates[j]!.distinct;
  });
  return { pearson, rows, oneToOne };
}
