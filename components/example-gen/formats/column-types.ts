/**
 * The column types of the formats a JavaScript library reads, as ExampleGen writes them (DuckDB type;
 * the Parquet files of the Examples hold the same logical type). README's ExampleGen section holds
 * the same table; change both together.
 *
 * | source type                                   | Avro                                      | Arrow IPC                                   |
 * | --------------------------------------------- | ----------------------------------------- | ------------------------------------------- |
 * | BOOLEAN                                       | boolean                                   | Bool                                        |
 * | TINYINT / SMALLINT / INTEGER / BIGINT         | int → INTEGER, long → BIGINT              | Int8/16/32/64 (Uint8/16/32/64 → UTINYINT…UBIGINT) |
 * | FLOAT / DOUBLE                                | float → FLOAT, double → DOUBLE            | Float16, Float32 → FLOAT; Float64 → DOUBLE  |
 * | VARCHAR                                       | string, enum (its symbol), uuid           | Utf8, LargeUtf8, Utf8View                   |
 * | BLOB                                          | bytes, fixed                              | Binary, LargeBinary, FixedSizeBinary, BinaryView |
 * | DATE                                          | date                                      | Date32 (days), Date64 (ms, floored to days) |
 * | TIME (µs)                                     | time-millis, time-micros                  | Time (s, ms, µs; ns floored to µs)          |
 * | TIMESTAMP (UTC µs)                            | timestamp-millis/-micros, local-timestamp-millis/-micros | Timestamp (any unit, any zone: Arrow stores UTC; ns floored to µs) |
 * | DECIMAL(p,s), p ≤ 38                          | decimal on bytes or fixed                 | Decimal (32/64/128/256 bits)                |
 * | LIST                                          | array                                     | List, LargeList, FixedSizeList              |
 * | STRUCT                                        | record                                    | Struct                                      |
 * | MAP                                           | map (VARCHAR keys)                        | Map                                         |
 *
 * Nullability: an Avro union of null and one type is that type, nullable; Arrow fields are nullable
 * as declared. An Arrow Dictionary column has the type of its values (a stream may replace a
 * dictionary between record batches). Refused with an error naming the column: other Avro unions,
 * null alone, decimals wider than 38 digits; Arrow Null, Union, Interval, Duration, Decimal wider
 * than 38 digits or with a negative scale. Avro codecs: null, deflate, snappy and zstandard
 * (avro-codecs.ts); another is refused, naming it.
 *
 * Time zones are not kept: a timestamp is the instant in UTC, so the same instant compares equal
 * whatever zone a file was written in (as DuckDB's session, pinned to UTC, shows it).
 */
import { DuckDBDecimalValue, DuckDBTimestampValue } from '@duckdb/node-api';

/** DuckDB's widest DECIMAL. */
export const MAX_DECIMAL_PRECISION = 38;

/** Microseconds per unit of a timestamp or time counted in seconds (0), ms (1), µs (2) or ns (3). */
export function toMicros(value: bigint, unitPower: 0 | 1 | 2 | 3): bigint {
  switch (unitPower) {
    case 0:
      return value * 1_000_000n;
    case 1:
      return value * 1000n;
    case 2:
      return value;
    case 3:
      // Floors towards -infinity, so an instant before 1970 keeps its microsecond.
      return value >= 0n ? value / 1000n : -((-value + 999n) / 1000n);
  }
}

export function timestampFromMicros(micros: bigint): DuckDBTimestampValue {
  return new DuckDBTimestampValue(micros);
}

/** A two's-complement big-endian integer (Avro's decimal bytes) as a DECIMAL(precision, scale). */
export function decimalFromBigEndian(bytes: Uint8Array, precision: number, scale: number): DuckDBDecimalValue {
  let unscaled = 0n;
  for (const byte of bytes) unscaled = (unscaled << 8n) | BigInt(byte);
  if (bytes.length > 0 && bytes[0]! & 0x80) unscaled -= 1n << BigInt(8 * bytes.length);
  return new DuckDBDecimalValue(unscaled, precision, scale);
}
