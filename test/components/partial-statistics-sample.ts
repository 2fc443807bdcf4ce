import path from 'node:path';
import type { DuckDbSession } from '../../components/data/duckdb-session';
import { sqlString } from '../../components/data/sql';
import { PartialStatisticsSchema, type PartialConventions, type PartialStatistics } from '../../components/statistics-gen/partial-statistics';
import { DDSKETCH_RELATIVE_ACCURACY } from '../../components/statistics-gen/sketches/ddsketch';
import { HLL_METHOD } from '../../components/statistics-gen/sketches/hyperloglog';
import { computeSplitPartial } from '../../components/statistics-gen/statistics-sql';
import { tempDir } from '../support/tmp';
import { duckQuery } from './parquet-rows';
import { vegaFile } from './vega-data';

/** The exact-count cap and top summary size of a pass, lowered by tests to reach the sketches on a sample. */
export interface Cut {
  valueCountCap: number;
  topSummarySize: number;
}

/** The first `rows` rows of flights-3m as a Parquet file of their own. */
export async function flightsSample(rows: number, name: string): Promise<string> {
  const file = path.join(await tempDir(name), 'flights.parquet');
  await duckQuery(`COPY (SELECT * FROM read_parquet(${sqlString(vegaFile('flights-3m.parquet'))}) LIMIT ${rows}) TO ${sqlString(file)} (FORMAT parquet)`);
  return file;
}

/** Rows [from, to) of a Parquet file (`columns` of them), as one shard (a file, a row range) would hold them. */
export function rowRangeSql(file: string, [from, to]: [number, number], columns = '* EXCLUDE (file_row_number)'): string {
  return `(SELECT ${columns} FROM read_parquet(${sqlString(file)}, file_row_number = true) WHERE file_row_number >= ${from} AND file_row_number < ${to})`;
}

/**
 * The partial statistics of `splits` in one pass each, through JSON and the schema, as a
 * partial_statistics.json written by one worker and read by another.
 */
export async function partialStatisticsOf(
  db: DuckDbSession,
  splits: ReadonlyArray<{ name: string; relationSql: string }>,
  cut: Cut,
  options: { weightFeature?: string; slices?: string[] } = {},
): Promise<PartialStatistics> {
  const conventions: PartialConventions = {
    ...cut,
    ddsketchRelativeAccuracy: DDSKETCH_RELATIVE_ACCURACY,
    hyperLogLog: HLL_METHOD,
    weightFeature: options.weightFeature ?? null,
    slices: options.slices ?? [],
  };
  const computed = [];
  for (const { name, relationSql } of splits) computed.push(await computeSplitPartial(db, { name, relationSql, weightFeature: options.weightFeature, slices: conventions.slices, ...cut }));
  return PartialStatisticsSchema.parse(JSON.parse(JSON.stringify({ version: 1, conventions, splits: computed })));
}
