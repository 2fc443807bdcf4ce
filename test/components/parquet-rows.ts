import { DuckDBInstance } from '@duckdb/node-api';
import { sqlString } from '../../components/data/sql';

/** Runs one query in a throwaway DuckDB database; rows come back as JS values (BIGINT as bigint). */
export async function duckQuery(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(`SET TimeZone = 'UTC'`);
    return (await connection.runAndReadAll(sql)).getRowObjectsJS();
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

export function readParquet(file: string, select = '*'): Promise<Record<string, unknown>[]> {
  return duckQuery(`SELECT ${select} FROM read_parquet(${sqlString(file)})`);
}
