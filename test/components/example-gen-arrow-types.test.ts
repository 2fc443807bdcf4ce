import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  Binary,
  BinaryView,
  Bool,
  DateDay,
  DateMillisecond,
  Decimal,
  Dictionary,
  DurationMillisecond,
  Field,
  FixedSizeBinary,
  FixedSizeList,
  Float16,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  IntervalDayTime,
  LargeBinary,
  LargeList,
  LargeUtf8,
  List,
  makeData,
  makeVector,
  Map_,
  Null,
  SparseUnion,
  Struct,
  Table,
  tableToIPC,
  TimeMicrosecond,
  TimeMillisecond,
  TimeNanosecond,
  TimeSecond,
  Timestamp,
  TimeUnit,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
  Utf8View,
  vectorFromArray,
  type DataType,
  type Vector,
} from 'apache-arrow';
import { UserInputError } from '../../dsl/executor';
import { sqlIdentifier, sqlString } from '../../components/data/sql';
import { ExampleGen } from '../../components/example-gen/spec';
import { runExecutorForTest } from '../support/executor-harness';
import { tempDir } from '../support/tmp';
import { duckQuery } from './parquet-rows';

/**
 * Every Arrow type the reader takes, in one table written as an Arrow IPC file and as a stream (two
 * record batches sharing their dictionaries): the Examples hold the column types of the column-type
 * table and, value by value, what the raw buffers say. Fixed-width columns are built from their raw
 * buffers (makeData), so the expectation does not go through Arrow's own value conversion; the
 * expected values are written out by hand in DuckDB's text form.
 */

type Column = { vector: Vector; duckType: string; values: (string | null)[] };

/** A validity bitmap (LSB first, as Arrow lays it out) of `values`' non-null entries. */
function validity(values: readonly unknown[]): Uint8Array {
  const bits = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((v, i) => {
    if (v !== null) bits[i >> 3]! |= 1 << (i & 7);
  });
  return bits;
}

type NumberArray = Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array | Float32Array | Float64Array;
type ValuesBuffer = { new (n: number): NumberArray } | { new (n: number): BigInt64Array | BigUint64Array };

/** A fixed-width column from its raw values buffer; null entries keep a zero in the buffer. */
function raw<T extends DataType>(type: T, values: readonly (number | bigint | null)[], ArrayType: ValuesBuffer): Vector<T> {
  const data = new ArrayType(values.length);
  values.forEach((v, i) => {
    if (v !== null) (data as unknown as (number | bigint)[])[i] = v;
  });
  return makeVector(makeData({ type, length: values.length, nullBitmap: validity(values), data } as never)) as Vector<T>;
}

/** Arrow decimals: the unscaled value in little-endian two's complement, `bitWidth / 32` 32-bit words. */
function decimal(type: Decimal, unscaled: readonly (bigint | null)[]): Vector<Decimal> {
  const words = type.bitWidth / 32;
  const data = new Uint32Array(unscaled.length * words);
  unscaled.forEach((v, i) => {
    let bits = BigInt.asUintN(type.bitWidth, v ?? 0n);
    for (let w = 0; w < words; w++, bits >>= 32n) data[i * words + w] = Number(bits & 0xffffffffn);
  });
  return makeVector(makeData({ type, length: unscaled.length, nullBitmap: validity(unscaled), data }));
}

const bytes = (...b: number[]) => Uint8Array.from(b);
const listOf = <T extends DataType>(child: T) => new List(new Field('item', child, true));
const entries = (key: DataType, value: DataType) => new Field('entries', new Struct([new Field('key', key, false), new Field('value', value, true)]), false);

/** A sparse union of an int and a string: its builder cannot tell them apart, so from its children. */
function sparseUnion(): Vector {
  const type = new SparseUnion([0, 1], [new Field('i', new Int32(), true), new Field('s', new Utf8(), true)]);
  const children = [vectorFromArray([1, null], new Int32()).data[0]!, vectorFromArray([null, 'a'], new Utf8()).data[0]!];
  return makeVector(makeData({ type, length: 2, typeIds: Int8Array.of(0, 1), children }));
}

/** Three rows: ordinary values, extremes, all null. */
function columns(): Record<string, Column> {
  const ts = (unit: TimeUnit, zone: string | null | undefined, values: (bigint | null)[]) => raw(new Timestamp(unit, zone), values, BigInt64Array);
  return {
    bool: { vector: vectorFromArray([true, false, null], new Bool()), duckType: 'BOOLEAN', values: ['true', 'false', null] },
    i8: { vector: raw(new Int8(), [-128, 127, null], Int8Array), duckType: 'TINYINT', values: ['-128', '127', null] },
    i16: { vector: raw(new Int16(), [-32768, 32767, null], Int16Array), duckType: 'SMALLINT', values: ['-32768', '32767', null] },
    i32: { vector: raw(new Int32(), [-2147483648, 2147483647, null], Int32Array), duckType: 'INTEGER', values: ['-2147483648', '2147483647', null] },
    i64: {
      vector: raw(new Int64(), [-(2n ** 63n), 2n ** 63n - 1n, null], BigInt64Array),
      duckType: 'BIGINT',
      values: ['-9223372036854775808', '9223372036854775807', null],
    },
    u8: { vector: raw(new Uint8(), [0, 255, null], Uint8Array), duckType: 'UTINYINT', values: ['0', '255', null] },
    u16: { vector: raw(new Uint16(), [1, 65535, null], Uint16Array), duckType: 'USMALLINT', values: ['1', '65535', null] },
    u32: { vector: raw(new Uint32(), [2, 4294967295, null], Uint32Array), duckType: 'UINTEGER', values: ['2', '4294967295', null] },
    u64: { vector: raw(new Uint64(), [3n, 2n ** 64n - 1n, null], BigUint64Array), duckType: 'UBIGINT', values: ['3', '18446744073709551615', null] },
    // IEEE half-precision bit patterns: 1.0, -2.5 and the largest finite half, 65504.
    f16: { vector: raw(new Float16(), [0x3c00, 0xc100, null], Uint16Array), duckType: 'FLOAT', values: ['1.0', '-2.5', null] },
    f16_max: { vector: raw(new Float16(), [0x7bff, 0x0001, null], Uint16Array), duckType: 'FLOAT', values: ['65504.0', '5.9604645e-08', null] },
    f32: { vector: raw(new Float32(), [0.1, -3.4028234663852886e38, null], Float32Array), duckType: 'FLOAT', values: ['0.1', '-3.4028235e+38', null] },
    f64: { vector: raw(new Float64(), [0.1, -1e300, null], Float64Array), duckType: 'DOUBLE', values: ['0.1', '-1e+300', null] },
    utf8: { vector: vectorFromArray(['héllo', '', null], new Utf8()), duckType: 'VARCHAR', values: ['héllo', '', null] },
    large_utf8: { vector: vectorFromArray(['ünï 😀', 'x', null], new LargeUtf8()), duckType: 'VARCHAR', values: ['ünï 😀', 'x', null] },
    utf8_view: {
      vector: vectorFromArray(['inline', 'longer than the twelve bytes a view holds inline', null], new Utf8View()),
      duckType: 'VARCHAR',
      values: ['inline', 'longer than the twelve bytes a view holds inline', null],
    },
    dict: {
      vector: vectorFromArray(['Gentoo', 'Adelie', null], new Dictionary(new Utf8(), new Int8())),
      duckType: 'VARCHAR',
      values: ['Gentoo', 'Adelie', null],
    },
    dict_int: { vector: vectorFromArray([7, -7, null], new Dictionary(new Int32(), new Int16())), duckType: 'INTEGER', values: ['7', '-7', null] },
    binary: { vector: vectorFromArray([bytes(0, 255, 16), bytes(), null], new Binary()), duckType: 'BLOB', values: ['00FF10', '', null] },
    large_binary: { vector: vectorFromArray([bytes(1), bytes(2, 3), null], new LargeBinary()), duckType: 'BLOB', values: ['01', '0203', null] },
    fixed_binary: {
      vector: vectorFromArray([bytes(1, 2, 3), bytes(255, 0, 127), null], new FixedSizeBinary(3)),
      duckType: 'BLOB',
      values: ['010203', 'FF007F', null],
    },
    binary_view: {
      vector: vectorFromArray([bytes(9), bytes(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13), null], new BinaryView()),
      duckType: 'BLOB',
      values: ['09', '000102030405060708090A0B0C0D', null],
    },
    date_day: { vector: raw(new DateDay(), [19000, -1, null], Int32Array), duckType: 'DATE', values: ['2022-01-08', '1969-12-31', null] },
    // Date64 is milliseconds; a value inside a day is floored to that day, also before 1970.
    date_ms: {
      vector: raw(new DateMillisecond(), [19000n * 86_400_000n + 3_600_000n, -1n, null], BigInt64Array),
      duckType: 'DATE',
      values: ['2022-01-08', '1969-12-31', null],
    },
    // Timestamps compare as the UTC instant (epoch microseconds) whatever zone the column declares.
    ts_s_new_york: { vector: ts(TimeUnit.SECOND, 'America/New_York', [1_700_000_000n, -1n, null]), duckType: 'TIMESTAMP', values: ['1700000000000000', '-1000000', null] },
    ts_ms_utc: { vector: ts(TimeUnit.MILLISECOND, 'UTC', [1_700_000_000_123n, -1n, null]), duckType: 'TIMESTAMP', values: ['1700000000123000', '-1000', null] },
    ts_us_naive: { vector: ts(TimeUnit.MICROSECOND, null, [1_700_000_000_123_456n, -1n, null]), duckType: 'TIMESTAMP', values: ['1700000000123456', '-1', null] },
    ts_ns_offset: {
      vector: ts(TimeUnit.NANOSECOND, '+05:30', [1_700_000_000_123_456_789n, -1n, null]),
      duckType: 'TIMESTAMP',
      values: ['1700000000123456', '-1', null],
    },
    time_s: { vector: raw(new TimeSecond(), [3723, 86399, null], Int32Array), duckType: 'TIME', values: ['01:02:03', '23:59:59', null] },
    time_ms: { vector: raw(new TimeMillisecond(), [3_723_004, 0, null], Int32Array), duckType: 'TIME', values: ['01:02:03.004', '00:00:00', null] },
    time_us: { vector: raw(new TimeMicrosecond(), [3_723_004_005n, 86_399_999_999n, null], BigInt64Array), duckType: 'TIME', values: ['01:02:03.004005', '23:59:59.999999', null] },
    time_ns: { vector: raw(new TimeNanosecond(), [3_723_004_005_006n, 999n, null], BigInt64Array), duckType: 'TIME', values: ['01:02:03.004005', '00:00:00', null] },
    dec32: { vector: decimal(new Decimal(2, 9, 32), [-12_345n, 999_999_999n, null]), duckType: 'DECIMAL(9,2)', values: ['-123.45', '9999999.99', null] },
    dec64: { vector: decimal(new Decimal(3, 18, 64), [1n, -(10n ** 18n - 1n), null]), duckType: 'DECIMAL(18,3)', values: ['0.001', '-999999999999999.999', null] },
    dec128: {
      vector: decimal(new Decimal(4, 38, 128), [-(10n ** 38n - 1n), 123_456_789_012_345_678n, null]),
      duckType: 'DECIMAL(38,4)',
      values: ['-9999999999999999999999999999999999.9999', '12345678901234.5678', null],
    },
    dec256: { vector: decimal(new Decimal(0, 38, 256), [10n ** 37n, -5n, null]), duckType: 'DECIMAL(38,0)', values: ['10000000000000000000000000000000000000', '-5', null] },
    list: { vector: vectorFromArray([[3, 1, 2], [null, 4], null], listOf(new Int32())), duckType: 'INTEGER[]', values: ['[3, 1, 2]', '[NULL, 4]', null] },
    empty_list: { vector: vectorFromArray([[], ['a'], null], listOf(new Utf8())), duckType: 'VARCHAR[]', values: ['[]', '[a]', null] },
    large_list: {
      vector: vectorFromArray([[1n], [], null], new LargeList(new Field('item', new Int64(), true))),
      duckType: 'BIGINT[]',
      values: ['[1]', '[]', null],
    },
    fixed_list: {
      vector: vectorFromArray([[1.5, -2], [0, 0.25], null], new FixedSizeList(2, new Field('item', new Float64(), true))),
      duckType: 'DOUBLE[]',
      values: ['[1.5, -2.0]', '[0.0, 0.25]', null],
    },
    struct: {
      vector: vectorFromArray(
        [{ x: 1.5, label: 'p' }, { x: null, label: 'q' }, null],
        new Struct([new Field('x', new Float64(), true), new Field('label', new Utf8(), true)]),
      ),
      duckType: 'STRUCT(x DOUBLE, "label" VARCHAR)',
      values: ["{'x': 1.5, 'label': p}", "{'x': NULL, 'label': q}", null],
    },
    map: {
      vector: vectorFromArray(
        [
          new Map([
            ['a', 1n],
            ['b', -2n],
          ]),
          new Map([['c', null]]),
          null,
        ],
        new Map_(entries(new Utf8(), new Int64())),
      ),
      duckType: 'MAP(VARCHAR, BIGINT)',
      values: ['{a=1, b=-2}', '{c=NULL}', null],
    },
    map_int_key: {
      vector: vectorFromArray([new Map([[-1, 'minus one']]), new Map(), null], new Map_(entries(new Int32(), new Utf8()))),
      duckType: 'MAP(INTEGER, VARCHAR)',
      values: ['{-1=minus one}', '{}', null],
    },
  };
}

/** The table in two record batches (rows 0-1, row 2) sliced from one, so both share each dictionary. */
function twoBatches(cols: Record<string, Column>): Table {
  const id = vectorFromArray([0, 1, 2], new Int32());
  const whole = new Table({ id, ...Object.fromEntries(Object.entries(cols).map(([name, c]) => [name, c.vector])) });
  return new Table([...whole.slice(0, 2).batches, ...whole.slice(2).batches]);
}

/** Each column in DuckDB's text form: BLOB as hex, TIMESTAMP as epoch microseconds. */
async function examplesAsText(file: string): Promise<{ types: Record<string, string>; rows: Record<string, unknown>[] }> {
  const source = `read_parquet(${sqlString(file)})`;
  const described = await duckQuery(`SELECT column_name AS n, column_type AS t FROM (DESCRIBE SELECT * FROM ${source})`);
  const types = Object.fromEntries(described.map((r) => [String(r.n), String(r.t)]));
  const select = Object.entries(types).map(([name, type]) => {
    const c = sqlIdentifier(name);
    const text = type === 'BLOB' ? `hex(${c})` : type === 'TIMESTAMP' ? `CAST(epoch_us(${c}) AS VARCHAR)` : `CAST(${c} AS VARCHAR)`;
    return `${text} AS ${c}`;
  });
  return { types, rows: await duckQuery(`SELECT ${select.join(', ')} FROM ${source} ORDER BY id`) };
}

const gen = (input: string) => runExecutorForTest(ExampleGen, { parameters: { input, splits: [{ name: 'all', hashBuckets: 1 }] } });

describe('ExampleGen formats: Arrow IPC types', function () {
  let dir: string;

  before(async function () {
    dir = await tempDir('example-gen-arrow-types');
  });

  for (const kind of ['file', 'stream'] as const) {
    it(`an Arrow IPC ${kind} of every supported type gives the column-type table's types and each value as stored`, async function () {
      const cols = columns();
      const table = twoBatches(cols);
      assert.equal(table.batches.length, 2);
      const file = path.join(dir, `all-types.${kind === 'file' ? 'arrow' : 'arrows'}`);
      await writeFile(file, tableToIPC(table, kind));
      const run = await gen(file);
      const { types, rows } = await examplesAsText(path.join(run.outputDirs.examples!, 'Split-all', 'data-00000.parquet'));
      assert.deepEqual(types, { id: 'INTEGER', ...Object.fromEntries(Object.entries(cols).map(([name, c]) => [name, c.duckType])) });
      assert.equal(rows.length, 3);
      for (const [name, c] of Object.entries(cols)) {
        assert.deepEqual(
          rows.map((r) => r[name]),
          c.values,
          `column ${name}`,
        );
      }
    });
  }

  it('a stream whose dictionary is replaced between record batches keeps each batch to its own dictionary', async function () {
    const batch = (values: string[]) => new Table({ species: vectorFromArray(values, new Dictionary(new Utf8(), new Int8(), 0)) }).batches;
    const rows = [['Adelie', 'Gentoo'], ['Chinstrap', 'Adelie', 'Chinstrap'], ['Gentoo']];
    const file = path.join(dir, 'replaced-dictionary.arrows');
    await writeFile(file, tableToIPC(new Table(rows.flatMap(batch)), 'stream'));
    const run = await gen(file);
    const out = await duckQuery(`SELECT species FROM read_parquet(${sqlString(path.join(run.outputDirs.examples!, 'Split-all', 'data-00000.parquet'))})`);
    assert.deepEqual(
      out.map((r) => r.species),
      rows.flat(),
    );
  });

  const refused: [string, () => Vector, RegExp][] = [
    ['Null', () => makeVector(makeData({ type: new Null(), length: 2 })), /Arrow type Null is not supported as a column/],
    ['Duration', () => raw(new DurationMillisecond(), [1n, 2n], BigInt64Array), /Arrow type Duration<MILLISECOND> is not supported as a column/],
    // Day-time intervals are two int32 per value.
    ['Interval', () => makeVector(makeData({ type: new IntervalDayTime(), length: 2, data: Int32Array.of(1, 2, 3, 4) })), /Arrow type Interval<DAY_TIME> is not supported as a column/],
    ['Union', sparseUnion, /Arrow type Union<Int32 \| Utf8> is not supported as a column/],
    ['Decimal-wide', () => decimal(new Decimal(0, 39, 256), [1n, 2n]), /decimal with precision 39 is wider than the 38 digits DuckDB holds/],
    ['Decimal-negative-scale', () => decimal(new Decimal(-2, 5, 128), [1n, 2n]), /decimal with negative scale -2 is not supported; DuckDB's DECIMAL scale is 0 or more/],
  ];
  for (const [name, vector, message] of refused) {
    it(`refuses an Arrow ${name} column, naming the file and the column`, async function () {
      const file = path.join(dir, `${name}.arrow`);
      await writeFile(file, tableToIPC(new Table({ ok: vectorFromArray([1, 2], new Int32()), bad: vector() }), 'file'));
      await assert.rejects(gen(file), (err: Error) => {
        assert.ok(err instanceof UserInputError, `${err.name}: ${err.message}`);
        assert.match(err.message, new RegExp(`${name}\\.arrow: column "bad": ${message.source}`));
        return true;
      });
    });
  }
});
