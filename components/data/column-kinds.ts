import { DuckDBTypeId, type DuckDBType } from '@duckdb/node-api';

/**
 * How mlpipe treats a column, whatever file format it came from: the statistics computed for it and
 * the canonical text it contributes to a split key.
 */
export type ColumnKind = 'INT' | 'FLOAT' | 'STRING' | 'BOOL' | 'TEMPORAL' | 'OTHER';

export interface Column {
  name: string;
  kind: ColumnKind;
  /** DuckDB's name for the type, e.g. `BIGINT`, `DECIMAL(5,2)`, `TIMESTAMP`. */
  physicalType: string;
  typeId: DuckDBTypeId;
}

const KIND_BY_TYPE_ID: Partial<Record<DuckDBTypeId, ColumnKind>> = {
  [DuckDBTypeId.BOOLEAN]: 'BOOL',
  [DuckDBTypeId.TINYINT]: 'INT',
  [DuckDBTypeId.SMALLINT]: 'INT',
  [DuckDBTypeId.INTEGER]: 'INT',
  [DuckDBTypeId.BIGINT]: 'INT',
  [DuckDBTypeId.HUGEINT]: 'INT',
  [DuckDBTypeId.UTINYINT]: 'INT',
  [DuckDBTypeId.USMALLINT]: 'INT',
  [DuckDBTypeId.UINTEGER]: 'INT',
  [DuckDBTypeId.UBIGINT]: 'INT',
  [DuckDBTypeId.UHUGEINT]: 'INT',
  [DuckDBTypeId.FLOAT]: 'FLOAT',
  [DuckDBTypeId.DOUBLE]: 'FLOAT',
  [DuckDBTypeId.DECIMAL]: 'FLOAT',
  [DuckDBTypeId.VARCHAR]: 'STRING',
  [DuckDBTypeId.ENUM]: 'STRING',
  [DuckDBTypeId.UUID]: 'STRING',
  [DuckDBTypeId.DATE]: 'TEMPORAL',
  [DuckDBTypeId.TIME]: 'TEMPORAL',
  [DuckDBTypeId.TIME_NS]: 'TEMPORAL',
  [DuckDBTypeId.TIME_TZ]: 'TEMPORAL',
  [DuckDBTypeId.TIMESTAMP]: 'TEMPORAL',
  [DuckDBTypeId.TIMESTAMP_S]: 'TEMPORAL',
  [DuckDBTypeId.TIMESTAMP_MS]: 'TEMPORAL',
  [DuckDBTypeId.TIMESTAMP_NS]: 'TEMPORAL',
  [DuckDBTypeId.TIMESTAMP_TZ]: 'TEMPORAL',
};

export function columnOf(name: string, type: DuckDBType): Column {
  return { name, kind: KIND_BY_TYPE_ID[type.typeId] ?? 'OTHER', physicalType: type.toString(), typeId: type.typeId };
}
