import { z } from 'zod';
import { UserInputError } from '../../dsl/executor';
import type { SliceKey } from './payload';

/**
 * Slices: the overall slice (every row), and per slice spec one slice per value of a feature, or per
 * combination of values of a cross of features that occurs in the rows. A slice smaller than
 * `minSliceSize` examples is reported as too small: its metrics are left out and it is never judged.
 */

/** A feature, or a cross of features (every combination of their values that occurs). */
export const SliceSpecSchema = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);
export type SliceSpec = z.infer<typeof SliceSpecSchema>;

/**
 * 30 examples. TFMA's default is 1 (it keeps every slice) and its users then gate on the accuracy of
 * a slice of three rows, whose value moves by a third with one row; at 30 an accuracy's standard error
 * is at most 0.09 and a bootstrap percentile interval has enough distinct resamples to mean something.
 * Slices only smaller than this are reported, with their example count, for a reader to see.
 */
export const DEFAULT_MIN_SLICE_SIZE = 30;
export const MinSliceSizeSchema = z.number().int().min(1).default(DEFAULT_MIN_SLICE_SIZE);

/**
 * More slices than this from one spec means a slice on a continuous feature (every row its own
 * slice): the report and the bootstrap would drown in them.
 */
export const MAX_SLICES_PER_SPEC = 10_000;

export type SliceValue = string | number | null;

export interface SliceRows {
  key: SliceKey;
  /** The slice's rows, ascending indices into the eval rows. */
  rows: Uint32Array;
  tooSmall: boolean;
}

/** The features a spec crosses, in the order given. */
export function specFeatures(spec: SliceSpec): string[] {
  return typeof spec === 'string' ? [spec] : spec;
}

/** One text per slice key, the same whatever the order of its features: for matching and lookups. */
export function sliceKeyId(key: SliceKey): string {
  return JSON.stringify(Object.keys(key).sort().map((f) => [f, key[f]]));
}

/** `overall`, `island = Biscoe`, `island = Biscoe × sex = null`. */
export function describeSlice(key: SliceKey): string {
  const parts = Object.entries(key).map(([f, v]) => `${f} = ${v === null ? 'null' : String(v)}`);
  return parts.length === 0 ? 'overall' : parts.join(' × ');
}

/**
 * Groups the rows: overall first, then per spec its slices in value order (numbers ascending, then
 * strings, null last; a cross by its first feature, then the next). `columns` holds each slicing
 * feature's value per row (NaN reads as null: it equals nothing, not even itself).
 */
export function groupSlices(options: {
  rowCount: number;
  columns: ReadonlyMap<string, ReadonlyArray<SliceValue>>;
  specs: SliceSpec[];
  minSliceSize: number;
}): SliceRows[] {
  const { rowCount, columns, minSliceSize } = options;
  const all = new Uint32Array(rowCount);
  for (let i = 0; i < rowCount; i++) all[i] = i;
  const out: SliceRows[] = [{ key: {}, rows: all, tooSmall: rowCount < minSliceSize }];
  const encoded = new Map<string, EncodedColumn>();
  const encode = (feature: string): EncodedColumn => {
    let column = encoded.get(feature);
    if (!column) {
      const values = columns.get(feature);
      if (!values) throw new UserInputError(`slices: "${feature}" is not a column of the eval split (the slicing features read are ${[...columns.keys()].join(', ') || 'none'})`);
      if (values.length !== rowCount) throw new UserInputError(`slices: "${feature}" has ${values.length} values for ${rowCount} rows`);
      column = encodeColumn(values);
      encoded.set(feature, column);
    }
    return column;
  };
  for (const spec of options.specs) {
    const features = specFeatures(spec);
    if (new Set(features).size !== features.length) throw new UserInputError(`slices: the cross [${features.join(', ')}] names a feature twice`);
    const crossed = crossColumns(features.map(encode));
    if (crossed.tuples.length > MAX_SLICES_PER_SPEC) {
      throw new UserInputError(
        `slices: ${features.join(' × ')} gives ${crossed.tuples.length} slices, more than ${MAX_SLICES_PER_SPEC}; slice on features with few values (bucketize a continuous one first)`,
      );
    }
    const order = crossed.tuples.map((_, code) => code).sort((a, b) => compareTuples(crossed.tuples[a]!, crossed.tuples[b]!));
    const rowsOf = rowsPerCode(crossed.codes, crossed.tuples.length);
    for (const code of order) {
      const key: SliceKey = {};
      features.forEach((f, i) => (key[f] = crossed.tuples[code]![i]!));
      out.push({ key, rows: rowsOf[code]!, tooSmall: rowsOf[code]!.length < minSliceSize });
    }
  }
  return out;
}

/** A column as dense codes 0..values.length-1 per row, and each code's value. */
interface EncodedColumn {
  codes: Uint32Array;
  values: SliceValue[];
}

function encodeColumn(column: ReadonlyArray<SliceValue>): EncodedColumn {
  const codeOf = new Map<SliceValue, number>();
  const values: SliceValue[] = [];
  const codes = new Uint32Array(column.length);
  for (let i = 0; i < column.length; i++) {
    const raw = column[i]!;
    const value = typeof raw === 'number' && Number.isNaN(raw) ? null : raw;
    let code = codeOf.get(value);
    if (code === undefined) {
      code = values.length;
      codeOf.set(value, code);
      values.push(value);
    }
    codes[i] = code;
  }
  return { codes, values };
}

/** Dense codes of the value combinations that occur, and each code's values. */
function crossColumns(columns: EncodedColumn[]): { codes: Uint32Array; tuples: SliceValue[][] } {
  const [first, ...rest] = columns;
  let codes = first!.codes;
  let tuples = first!.values.map((v) => [v]);
  for (const next of rest) {
    // code × width + next code stays below n² ≤ 2^53 for any n a typed array can index.
    const width = next.values.length;
    const codeOf = new Map<number, number>();
    const merged = new Uint32Array(codes.length);
    const mergedTuples: SliceValue[][] = [];
    for (let i = 0; i < codes.length; i++) {
      const pair = codes[i]! * width + next.codes[i]!;
      let code = codeOf.get(pair);
      if (code === undefined) {
        code = mergedTuples.length;
        codeOf.set(pair, code);
        mergedTuples.push([...tuples[codes[i]!]!, next.values[next.codes[i]!]!]);
      }
      merged[i] = code;
    }
    codes = merged;
    tuples = mergedTuples;
  }
  return { codes, tuples };
}

/** Per code, its rows in ascending order (a counting sort). */
function rowsPerCode(codes: Uint32Array, count: number): Uint32Array[] {
  const sizes = new Uint32Array(count);
  for (let i = 0; i < codes.length; i++) sizes[codes[i]!]++;
  const all = new Uint32Array(codes.length);
  const starts = new Uint32Array(count);
  for (let c = 1; c < count; c++) starts[c] = starts[c - 1]! + sizes[c - 1]!;
  const next = starts.slice();
  for (let i = 0; i < codes.length; i++) all[next[codes[i]!]++] = i;
  return Array.from(starts, (start, c) => all.subarray(start, start + sizes[c]!));
}

function compareValues(a: SliceValue, b: SliceValue): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : 1;
}

function compareTuples(a: SliceValue[], b: SliceValue[]): number {
  for (let i = 0; i < a.length; i++) {
    const c = compareValues(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return 0;
}
