/**
 * TFX CsvExampleGen's view of a CSV row as a tf.Example (TFX 1.21 with tfx_bsl's csv_decoder):
 * a column's type is the highest of its non-empty cells' types over the whole input, in the order
 * INT < FLOAT < STRING, where a cell is INT when Python's `int(cell)` parses it and the value fits
 * int64 (a larger integer makes the column STRING), else FLOAT when `float(cell)` parses it, else
 * STRING. An all-empty column has no type and becomes a Feature with no kind. A cell becomes
 * int64_list [int(cell)], float_list [float32(float(cell))] or bytes_list [UTF-8 of the cell]; an
 * empty cell an empty list of its column's kind.
 */
import type { Feature, FeatureKind } from './formats/tf-example';

export type CsvColumnType = FeatureKind | null;

const RANK: Record<FeatureKind, number> = { int64_list: 0, float_list: 1, bytes_list: 2 };

// Python's int() and float() on bytes: surrounding ASCII whitespace ignored, single underscores
// allowed between digits (PEP 515), ASCII digits only.
const SPACE = '[ \\t\\n\\v\\f\\r]*';
const DIGITS = '\\d(?:_?\\d)*';
const PY_INT = new RegExp(`^${SPACE}([+-]?${DIGITS})${SPACE}$`);
const PY_FLOAT = new RegExp(`^${SPACE}([+-]?(?:${DIGITS}(?:\\.(?:${DIGITS})?)?|\\.${DIGITS})(?:[eE][+-]?${DIGITS})?)${SPACE}$`);
const PY_FLOAT_WORD = new RegExp(`^${SPACE}([+-]?)(inf|infinity|nan)${SPACE}$`, 'i');
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function pyInt(cell: string): bigint | undefined {
  const m = PY_INT.exec(cell);
  return m ? BigInt(m[1]!.replace(/_/g, '')) : undefined;
}

/** float(cell) as float32 bits (4 bytes, little-endian), or undefined when Python would not parse it. */
function pyFloat32Bits(cell: string): Uint8Array | undefined {
  const bits = Buffer.alloc(4);
  const word = PY_FLOAT_WORD.exec(cell);
  if (word) {
    const negative = word[1] === '-';
    if (word[2]!.toLowerCase() === 'nan') bits.writeUInt32LE(negative ? 0xffc00000 : 0x7fc00000, 0);
    else bits.writeFloatLE(negative ? -Infinity : Infinity, 0);
    return bits;
  }
  const m = PY_FLOAT.exec(cell);
  if (!m) return undefined;
  bits.writeFloatLE(Number(m[1]!.replace(/_/g, '')), 0);
  return bits;
}

function cellType(cell: string): FeatureKind {
  const int = pyInt(cell);
  if (int !== undefined) return int >= INT64_MIN && int <= INT64_MAX ? 'int64_list' : 'bytes_list';
  return pyFloat32Bits(cell) !== undefined ? 'float_list' : 'bytes_list';
}

/** The column type after also seeing `cell` (null or '' is an empty cell, which changes nothing). */
export function widenColumnType(current: CsvColumnType, cell: string | null): CsvColumnType {
  if (cell === null || cell === '') return current;
  if (current === 'bytes_list') return current;
  const type = cellType(cell);
  return current === null || RANK[type] > RANK[current] ? type : current;
}

/** The Feature CsvExampleGen makes of `cell` in a column of `type`. */
export function csvCellFeature(type: CsvColumnType, cell: string | null): Feature {
  const empty = cell === null || cell === '';
  switch (type) {
    case null:
      return { kind: null };
    case 'bytes_list':
      return { kind: 'bytes_list', values: empty ? [] : [Buffer.from(cell, 'utf8')] };
    case 'int64_list':
      return { kind: 'int64_list', values: empty ? [] : [pyInt(cell)!] };
    case 'float_list':
      return { kind: 'float_list', bits: empty ? new Uint8Array(0) : pyFloat32Bits(cell)! };
  }
}
