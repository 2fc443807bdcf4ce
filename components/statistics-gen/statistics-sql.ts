import { DuckDBArrayType, DuckDBListType, type DuckDBType } from '@duckdb/node-api';
import { UserInputError } from '../../dsl/executor';
import { columnOf, type ColumnKind } from '../data/column-kinds';
import type { DuckDbSession, QueryProgress } from '../data/duckdb-session';
import { sqlIdentifier, sqlString } from '../data/sql';
import type { FeatureType } from './payload';
import {
  compareSlices,
  type CoarsenedState,
  type DDSketchState,
  type Distribution,
  type ExactEntry,
  type NumericPartial,
  type PartialDataset,
  type PartialFeature,
  type PartialSplit,
  type TopEntry,
  type TopSummary,
} from './partial-statistics';
import { ddsketchIndexSql } from './sketches/ddsketch';
import { checkHashPort, emptyRegisters, encodeRegisters, HASH_PORT_PROBES, hllHashSql, hllRegisterSql } from './sketches/hyperloglog';
import { NO_MOMENTS } from './sketches/moments';
import { VALUE_ORDER_SQL } from './sketches/value-order';
import { distributionOf, numbersSketchKind } from './value-distribution';

/**
 * A split's partial statistics (partial-statistics.ts) computed inside DuckDB. One scan per batch of
 * features counts every distinct value of each feature, per slice too, in one GROUP BY GROUPING SETS
 * (DuckDB's parallel hash aggregation, spilling to disk when large); list features get a scan of their
 * unnested values. Everything else is computed from those counts, which are at most as many rows as
 * distinct values: moments (two-pass, with Kahan sums), extremes, NaN/±inf/zero counts, string lengths,
 * and, per feature and slice, either the exact counts (up to the cap) or the sketches built in SQL.
 */

export interface SplitPartialRequest {
  name: string;
  /** A relation (e.g. a `read_parquet(...)` call) holding the split's rows. */
  relationSql: string;
  weightFeature?: string;
  slices: readonly string[];
  valueCountCap: number;
  topSummarySize: number;
  onProgress?: (progress: QueryProgress) => void;
}

/** Grouping sets per scan: GROUPING() returns a bitmask of its arguments, which must fit a BIGINT. */
const MEASURES_PER_SCAN = 32;
const MAX_SLICES = 16;

interface Feature {
  name: string;
  type: FeatureType;
  physicalType: string;
  valency: 'single' | 'list';
  column: string;
}

/** A column of numbers to count the values of: a scalar feature, a list feature's lengths, or its elements. */
interface Measure {
  feature: number;
  role: 'values' | 'lengths' | 'elements';
  kind: ColumnKind;
  /** SQL over the batch's source relation. */
  expr: string;
}

interface Batch {
  /** The rows: the split, or the unnested elements of one list feature. */
  source: string;
  measures: Measure[];
  /** Whether the batch counts rows (the split's and each slice's numExamples). */
  countsRows: boolean;
}

/** Per set of values (one measure, overall or in one slice): what the SQL summary gives. */
interface SetSummary {
  sid: number;
  gid: number;
  sliceValue: string | null;
  count: number;
  missing: number;
  weightedCount: number | null;
  weightedMissing: number | null;
  distinct: number;
  numNan: number;
  numPosInf: number;
  numNegInf: number;
  numZeros: number;
  min: number | null;
  max: number | null;
  minText: string | null;
  maxText: string | null;
  /** Instants' extremes in exact microseconds (`min`/`max` are doubles, rounded beyond 2^53 µs from the epoch). */
  minMicros: bigint | null;
  maxMicros: bigint | null;
  finiteCount: number;
  /** Relative to `min`, the moments' shift. */
  meanOffset: number | null;
  m2: number | null;
  finiteWeight: number | null;
  weightedMeanOffset: number | null;
  weightedM2: number | null;
  lengthMin: number | null;
  lengthMax: number | null;
  lengthTotal: number | null;
  total: number | null;
}

function elementType(type: DuckDBType): DuckDBType | undefined {
  return type instanceof DuckDBListType || type instanceof DuckDBArrayType ? type.valueType : undefined;
}

async function featuresOf(db: DuckDbSession, relationSql: string): Promise<Feature[]> {
  const reader = await db.query(`SELECT * FROM ${relationSql} LIMIT 0`);
  const types = reader.columnTypes();
  return reader.columnNames().map((name, i) => {
    const type = types[i]!;
    const element = elementType(type);
    return {
      name,
      type: columnOf(name, element ?? type).kind,
      physicalType: type.toString(),
      valency: element ? 'list' : 'single',
      column: sqlIdentifier(name),
    };
  });
}

function checkParameters(features: readonly Feature[], request: SplitPartialRequest): void {
  const names = features.map((f) => f.name).join(', ');
  const { weightFeature } = request;
  if (weightFeature !== undefined) {
    const w = features.find((f) => f.name === weightFeature);
    if (!w) throw new UserInputError(`weightFeature "${weightFeature}" is not a feature of split "${request.name}" (its features: ${names})`);
    if ((w.type !== 'INT' && w.type !== 'FLOAT') || w.valency !== 'single') {
      throw new UserInputError(`weightFeature "${weightFeature}" is ${w.physicalType} (${w.valency === 'list' ? 'a list' : w.type}); a weight feature must be a numeric column (integer or floating point)`);
    }
  }
  for (const slice of request.slices) {
    const f = features.find((g) => g.name === slice);
    if (!f) throw new UserInputError(`slices names "${slice}", which is not a feature of split "${request.name}" (its features: ${names})`);
    if (f.valency === 'list') throw new UserInputError(`slices names "${slice}", a list feature (${f.physicalType}) of split "${request.name}": a slice is one value per row, so slice on a single-valued feature`);
  }
  if (request.slices.length > MAX_SLICES) throw new UserInputError(`slices names ${request.slices.length} features; at most ${MAX_SLICES} are supported`);
}

/** Weights must be finite and not negative on every row, as TFDV requires of its weight feature. */
async function checkWeights(db: DuckDbSession, request: SplitPartialRequest, weightSql: string): Promise<void> {
  const bad = `${weightSql} IS NULL OR NOT isfinite(${weightSql}) OR ${weightSql} < 0`;
  const raw = sqlIdentifier(request.weightFeature!);
  const row = (
    await db.query(`SELECT count(*)::DOUBLE AS n, CAST(any_value(${raw}) FILTER (WHERE ${raw} IS NOT NULL) AS VARCHAR) AS example FROM ${request.relationSql} WHERE ${bad}`)
  ).getRowObjectsJS()[0]!;
  const n = Number(row.n);
  if (n > 0) {
    throw new UserInputError(
      `weightFeature "${request.weightFeature}": ${n} row(s) of split "${request.name}" have a missing, NaN, infinite or negative weight` +
        `${row.example === null ? ' (missing)' : ` (e.g. ${String(row.example)})`}; every row needs a finite weight of 0 or more`,
    );
  }
}

function batchesOf(features: readonly Feature[], relationSql: string, sliceExprs: readonly string[], weightSql: string): Batch[] {
  const tail = [...sliceExprs.map((s, j) => `${s} AS s${j}`), `${weightSql} AS w`].join(', ');
  const main: Measure[] = features.map((f, i) =>
    f.valency === 'list' ? { feature: i, role: 'lengths', kind: 'INT', expr: `len(${f.column})` } : { feature: i, role: 'values', kind: f.type, expr: f.column },
  );
  const batches: Batch[] = [];
  for (let start = 0; start < main.length || start === 0; start += MEASURES_PER_SCAN) {
    const measures = main.slice(start, start + MEASURES_PER_SCAN);
    batches.push({ source: `(SELECT ${[...measures.map((m, k) => `${m.expr} AS m${k}`), tail].join(', ')} FROM ${relationSql})`, measures, countsRows: start === 0 });
  }
  features.forEach((f, i) => {
    if (f.valency !== 'list') return;
    batches.push({
      source: `(SELECT * FROM (SELECT unnest(${f.column}) AS m0, ${tail} FROM ${relationSql}) WHERE m0 IS NOT NULL)`,
      measures: [{ feature: i, role: 'elements', kind: f.type, expr: 'm0' }],
      countsRows: false,
    });
  });
  return batches;
}

/** SQL of each measure's value as DOUBLE (numbers, NaN/±inf kept) and as microseconds (instants). */
function numberSql(m: Measure, k: number): { xf: string | null; us: string | null } {
  if (m.kind === 'INT' || m.kind === 'FLOAT') return { xf: `CAST(m${k} AS DOUBLE)`, us: null };
  if (m.kind === 'TEMPORAL') return { xf: null, us: `epoch_us(m${k})` };
  return { xf: null, us: null };
}

const coalesce = (parts: ReadonlyArray<string | null>): string => {
  const present = parts.filter((p): p is string => p !== null);
  if (present.length === 0) return 'NULL';
  return present.length === 1 ? present[0]! : `COALESCE(${present.join(', ')})`;
};

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const int = (v: unknown): number => num(v) ?? 0;
const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const micros = (v: unknown): bigint | null => (v === null || v === undefined ? null : BigInt(String(v)));

/** A result read column by column: building an object per row costs 3-5 times more (0.2 s for 200 k rows). */
interface Columns {
  rows: number;
  column(name: string): readonly unknown[];
}

async function selectColumns(db: DuckDbSession, sql: string): Promise<Columns> {
  const reader = await db.query(sql);
  const columns = reader.getColumnsObjectJS();
  return { rows: reader.currentRowCount, column: (name) => columns[name] ?? [] };
}

/**
 * The table `vc` of one batch: the GROUPING SETS counts, one row per set (a measure, overall or in one
 * slice value) and value. A set is known by its grouping bits `gid` and slice value `sv`.
 */
async function countValues(db: DuckDbSession, batch: Batch, slices: number, weighted: boolean, onProgress?: (p: QueryProgress) => void) {
  const args = [...batch.measures.map((_, k) => `m${k}`), ...Array.from({ length: slices }, (_, j) => `s${j}`)];
  const sets = [
    ...(batch.countsRows ? ['()', ...Array.from({ length: slices }, (_, j) => `(s${j})`)] : []),
    ...batch.measures.flatMap((_, k) => [`(m${k})`, ...Array.from({ length: slices }, (_, j) => `(s${j}, m${k})`)]),
  ];
  const numbers = batch.measures.map(numberSql);
  const sliceValue = slices === 0 ? 'NULL::VARCHAR' : coalesce(Array.from({ length: slices }, (_, j) => `s${j}`));
  const xf = coalesce(numbers.map((n) => n.xf));
  const strings = coalesce(batch.measures.map((m, k) => (m.kind === 'STRING' ? `CAST(m${k} AS VARCHAR)` : null)));
  const us = coalesce(numbers.map((n) => n.us));
  await db.query('DROP TABLE IF EXISTS vc');
  await db.query(
    `CREATE TEMP TABLE vc AS SELECT GROUPING(${args.join(', ')})::DOUBLE AS gid, ${sliceValue} AS sv, ` +
      `${coalesce(batch.measures.map((_, k) => `CAST(m${k} AS VARCHAR)`))} AS txt, ${xf} AS xf, ${us} AS us, ` +
      `CASE WHEN ${us} IS NOT NULL THEN (${us})::DOUBLE WHEN isfinite(${xf}) THEN ${xf} END AS x, ` +
      `length(${strings})::DOUBLE AS len, count(*)::DOUBLE AS n, ${weighted ? 'sum(w)::DOUBLE' : 'NULL::DOUBLE'} AS w ` +
      `FROM ${batch.source} GROUP BY GROUPING SETS (${sets.join(', ')})`,
    onProgress,
  );
}

/**
 * One pass over `vc` per set, kept as the table `sets` for the moments' pass: everything but the moments,
 * and the mean estimate `c` (Kahan sum over the count) the moments are taken around.
 */
const SETS_SQL = `
CREATE TEMP TABLE sets AS SELECT gid, sv,
  coalesce(sum(n) FILTER (WHERE txt IS NOT NULL), 0) AS count,
  coalesce(sum(n) FILTER (WHERE txt IS NULL), 0) AS missing,
  sum(w) FILTER (WHERE txt IS NOT NULL) AS wcount,
  sum(w) FILTER (WHERE txt IS NULL) AS wmissing,
  count(txt)::DOUBLE AS distinct_values,
  coalesce(sum(n) FILTER (WHERE isnan(xf)), 0) AS nan,
  coalesce(sum(n) FILTER (WHERE xf = 'inf'::DOUBLE), 0) AS posinf,
  coalesce(sum(n) FILTER (WHERE xf = '-inf'::DOUBLE), 0) AS neginf,
  coalesce(sum(n) FILTER (WHERE xf = 0), 0) AS zeros,
  min(x) AS min, max(x) AS max, arg_min(txt, x) FILTER (WHERE us IS NOT NULL) AS min_text, arg_max(txt, x) FILTER (WHERE us IS NOT NULL) AS max_text,
  min(us) AS min_us, max(us) AS max_us,
  coalesce(sum(n) FILTER (WHERE x IS NOT NULL), 0) AS fn,
  fsum(n * x) FILTER (WHERE x IS NOT NULL) AS total,
  fsum(n * x) FILTER (WHERE x IS NOT NULL) / nullif(sum(n) FILTER (WHERE x IS NOT NULL), 0) AS c,
  sum(w) FILTER (WHERE x IS NOT NULL) AS fw,
  fsum(w * x) FILTER (WHERE x IS NOT NULL) / nullif(sum(w) FILTER (WHERE x IS NOT NULL), 0) AS wc,
  min(len) AS len_min, max(len) AS len_max, fsum(n * len) AS len_total
FROM vc GROUP BY gid, sv`;

/**
 * Sums of deviations from each set's mean estimate: with a shift that close to the mean, M2 = S2 − S1²/n
 * loses nothing to cancellation (S1 is a rounding error), so one pass gives what a two-pass algorithm gives.
 */
const DEVIATIONS_SQL = `
SELECT vc.gid, vc.sv, fsum(vc.n * (vc.x - s.c)) AS s1, fsum(vc.n * (vc.x - s.c) * (vc.x - s.c)) AS s2,
  fsum(vc.w * (vc.x - s.wc)) AS ws1, fsum(vc.w * (vc.x - s.wc) * (vc.x - s.wc)) AS ws2
FROM vc JOIN sets s ON vc.gid = s.gid AND vc.sv IS NOT DISTINCT FROM s.sv
WHERE vc.x IS NOT NULL GROUP BY vc.gid, vc.sv`;

/** Mean (relative to the smallest value, the moments' shift) and M2 from sums of deviations around `c`. */
function moments(n: number, c: number | null, min: number | null, s1: number, s2: number): { meanOffset: number | null; m2: number | null } {
  if (n <= 0 || c === null || min === null) return { meanOffset: null, m2: null };
  return { meanOffset: c - min + s1 / n, m2: Math.max(0, s2 - (s1 * s1) / n) };
}

async function summarize(db: DuckDbSession): Promise<SetSummary[]> {
  await db.query('DROP TABLE IF EXISTS sets');
  await db.query(SETS_SQL);
  const s = await selectColumns(db, 'SELECT * FROM sets');
  const d = await selectColumns(db, DEVIATIONS_SQL);
  const key = (gid: unknown, sv: unknown) => JSON.stringify([int(gid), text(sv)]);
  const deviations = new Map<string, number>();
  for (let i = 0; i < d.rows; i++) deviations.set(key(d.column('gid')[i], d.column('sv')[i]), i);
  const col = (name: string, i: number) => s.column(name)[i];
  return Array.from({ length: s.rows }, (_, sid): SetSummary => {
    const at = deviations.get(key(col('gid', sid), col('sv', sid)));
    const dev = (name: string) => (at === undefined ? 0 : (num(d.column(name)[at]) ?? 0));
    const min = num(col('min', sid));
    const plain = moments(int(col('fn', sid)), num(col('c', sid)), min, dev('s1'), dev('s2'));
    const weighted = moments(num(col('fw', sid)) ?? 0, num(col('wc', sid)), min, dev('ws1'), dev('ws2'));
    return {
      sid,
      gid: int(col('gid', sid)),
      sliceValue: text(col('sv', sid)),
      count: int(col('count', sid)),
      missing: int(col('missing', sid)),
      weightedCount: num(col('wcount', sid)),
      weightedMissing: num(col('wmissing', sid)),
      distinct: int(col('distinct_values', sid)),
      numNan: int(col('nan', sid)),
      numPosInf: int(col('posinf', sid)),
      numNegInf: int(col('neginf', sid)),
      numZeros: int(col('zeros', sid)),
      min,
      max: num(col('max', sid)),
      minText: text(col('min_text', sid)),
      maxText: text(col('max_text', sid)),
      minMicros: micros(col('min_us', sid)),
      maxMicros: micros(col('max_us', sid)),
      finiteCount: int(col('fn', sid)),
      meanOffset: plain.meanOffset,
      m2: plain.m2,
      finiteWeight: num(col('fw', sid)),
      weightedMeanOffset: weighted.meanOffset,
      weightedM2: weighted.m2,
      lengthMin: num(col('len_min', sid)),
      lengthMax: num(col('len_max', sid)),
      lengthTotal: num(col('len_total', sid)),
      total: num(col('total', sid)),
    };
  });
}

/** A batch's sets by id (their position in the summary), and SQL that selects some of them in `vc`. */
class SetIndex {
  /** By gid, then slice value: results of 100 k rows look every row up. */
  private readonly byKey = new Map<number, Map<string | null, number>>();

  constructor(private readonly sets: readonly SetSummary[]) {
    for (const s of sets) {
      let bySlice = this.byKey.get(s.gid);
      if (!bySlice) this.byKey.set(s.gid, (bySlice = new Map()));
      bySlice.set(s.sliceValue, s.sid);
    }
  }

  /** The set of row `i` of a result with columns `gid` and `sv`. */
  sidAt(result: Columns, i: number): number {
    return this.byKey.get(int(result.column('gid')[i]))!.get(text(result.column('sv')[i]))!;
  }

  where(sids: readonly number[]): string {
    if (sids.length === 0) return 'FALSE';
    return `(${sids.map((sid) => this.condition(sid)).join(' OR ')})`;
  }

  /** Never NULL (`IS NOT DISTINCT FROM`): under NOT, a NULL would drop the rows of a missing-value slice. */
  condition(sid: number): string {
    const { gid, sliceValue } = this.sets[sid]!;
    return `(gid = ${gid} AND sv ${sliceValue === null ? 'IS NULL' : `IS NOT DISTINCT FROM ${sqlString(sliceValue)}`})`;
  }
}

async function exactEntries(db: DuckDbSession, sets: SetIndex, sketched: readonly number[]): Promise<Map<number, ExactEntry[]>> {
  const r = await selectColumns(db, `SELECT gid, sv, txt, x, n, w FROM vc WHERE txt IS NOT NULL AND NOT ${sets.where(sketched)}`);
  const [txt, x, n, w] = ['txt', 'x', 'n', 'w'].map((name) => r.column(name));
  const out = new Map<number, ExactEntry[]>();
  for (let i = 0; i < r.rows; i++) {
    const sid = sets.sidAt(r, i);
    let list = out.get(sid);
    if (!list) out.set(sid, (list = []));
    list.push([String(txt![i]), num(x![i]), int(n![i]), num(w![i])]);
  }
  return out;
}

const HASH_PORT_SQL = `SELECT ${HASH_PORT_PROBES.map((probe, i) => `${hllHashSql(sqlString(probe))} AS h${i}`).join(', ')}`;

async function hyperLogLogs(db: DuckDbSession, sets: SetIndex, sketched: readonly number[]): Promise<Map<number, Uint8Array>> {
  const registers = new Map<number, Uint8Array>(sketched.map((sid) => [sid, emptyRegisters()]));
  if (sketched.length === 0) return registers;
  const probes = await selectColumns(db, HASH_PORT_SQL);
  checkHashPort(HASH_PORT_PROBES.map((_, i) => BigInt(String(probes.column(`h${i}`)[0]))));
  const hll = hllRegisterSql('h');
  const r = await selectColumns(
    db,
    `SELECT gid, sv, ${hll.index} AS i, max(${hll.rank}) AS rank FROM (SELECT gid, sv, ${hllHashSql('txt')} AS h FROM vc WHERE txt IS NOT NULL AND ${sets.where(sketched)}) GROUP BY ALL`,
  );
  for (let k = 0; k < r.rows; k++) registers.get(sets.sidAt(r, k))![int(r.column('i')[k])] = int(r.column('rank')[k]);
  return registers;
}

/**
 * Each set's most frequent values: only those counted at least as often as the (size + 1)-th are sorted.
 * Taken from one pass's exact counts, they are the exact first `size` in the figures' order.
 */
async function topSummary(db: DuckDbSession, sets: SetIndex, sid: number, size: number): Promise<TopSummary> {
  const r = await selectColumns(
    db,
    `WITH s AS (SELECT txt, x, n, w FROM vc WHERE txt IS NOT NULL AND ${sets.condition(sid)}) ` +
      `SELECT * FROM s WHERE n >= (SELECT max(n, ${size + 1})[-1] FROM s) ORDER BY n DESC, ${VALUE_ORDER_SQL} LIMIT ${size + 1}`,
  );
  const [txt, x, n, w] = ['txt', 'x', 'n', 'w'].map((name) => r.column(name));
  const entries = Array.from({ length: Math.min(size, r.rows) }, (_, i): TopEntry => [String(txt![i]), num(x![i]), int(n![i]), num(w![i]), 0]);
  return { entries, unlisted: r.rows > size ? int(n![size]) : 0, exact: true };
}

async function ddsketches(db: DuckDbSession, sets: SetIndex, sids: readonly number[]): Promise<Map<number, DDSketchState>> {
  const out = new Map<number, DDSketchState>(sids.map((sid) => [sid, { kind: 'ddsketch', zero: [0, null], positive: [], negative: [] }]));
  if (sids.length === 0) return out;
  const r = await selectColumns(
    db,
    `SELECT gid, sv, sign(x)::INTEGER AS sign, CASE WHEN x <> 0 THEN ${ddsketchIndexSql('x')} END AS i, sum(n) AS n, sum(w) AS w ` +
      `FROM vc WHERE x IS NOT NULL AND ${sets.where(sids)} GROUP BY ALL ORDER BY i`,
  );
  const [sign, index, n, w] = ['sign', 'i', 'n', 'w'].map((name) => r.column(name));
  for (let k = 0; k < r.rows; k++) {
    const sketch = out.get(sets.sidAt(r, k))!;
    if (int(sign![k]) === 0) sketch.zero = [int(n![k]), num(w![k])];
    else (int(sign![k]) > 0 ? sketch.positive : sketch.negative).push([int(index![k]), int(n![k]), num(w![k])]);
  }
  return out;
}

/**
 * The finest power-of-two unit within the cap of each set found by one pass over its sorted values: two
 * adjacent distinct instants a < b fall in different buckets of 2^k µs exactly when a XOR b ≥ 2^k (their
 * highest differing bit is at k or above; instants of opposite signs always differ), so the pass gives
 * the bucket count of every k.
 */
async function unitsBySortedPass(db: DuckDbSession, sets: SetIndex, sids: readonly number[], cap: number): Promise<Map<number, number>> {
  const units = new Map<number, number>();
  if (sids.length === 0) return units;
  const highBit = `CASE WHEN d < 0 THEN 63 ELSE floor(log2(d))::INTEGER - CASE WHEN (1::BIGINT << floor(log2(d))::INTEGER) > d THEN 1 ELSE 0 END END`;
  const pairs = await selectColumns(
    db,
    `SELECT gid, sv, ${highBit} AS bit, count(*)::DOUBLE AS pairs FROM (` +
      `SELECT gid, sv, xor(us, lag(us) OVER (PARTITION BY gid, sv ORDER BY us)) AS d FROM vc WHERE us IS NOT NULL AND ${sets.where(sids)}) WHERE d IS NOT NULL GROUP BY ALL`,
  );
  const pairsAtBit = new Map<number, number[]>(sids.map((sid) => [sid, new Array<number>(64).fill(0)]));
  for (let i = 0; i < pairs.rows; i++) pairsAtBit.get(sets.sidAt(pairs, i))![int(pairs.column('bit')[i])] = int(pairs.column('pairs')[i]);
  for (const [sid, atBit] of pairsAtBit) {
    // Buckets at unit 2^k: 1 + the pairs whose highest differing bit is k or above.
    let atOrAbove = atBit.reduce((a, b) => a + b, 0);
    let k = 0;
    while (1 + atOrAbove > cap) atOrAbove -= atBit[k++]!;
    units.set(sid, k);
  }
  return units;
}

/**
 * The finest power-of-two unit (its exponent) within the cap, per set. The unit that fits the set's
 * range [min, max] into `cap` buckets fits its values too, and is the finest unless the values cluster:
 * one count of the distinct buckets at half that unit, for all sets in one query, settles it for most
 * sets (2-3 times cheaper than sorting), the sorted pass the others.
 */
async function finestUnits(db: DuckDbSession, sets: SetIndex, summaries: readonly SetSummary[], sids: readonly number[], cap: number): Promise<Map<number, number>> {
  const rangeUnits = new Map<number, number>();
  for (const sid of sids) {
    const { minMicros, maxMicros } = summaries[sid]!;
    let k = 0;
    const buckets = (bits: number) => (maxMicros! >> BigInt(bits)) - (minMicros! >> BigInt(bits)) + 1n;
    while (k < 63 && buckets(k) > BigInt(cap)) k++;
    rangeUnits.set(sid, k);
  }
  const probed = [...rangeUnits].filter(([, k]) => k > 0);
  const units = new Map([...rangeUnits].filter(([, k]) => k === 0));
  if (probed.length > 0) {
    const halves = probed.map(([sid, k]) => `(${summaries[sid]!.gid}::DOUBLE, ${summaries[sid]!.sliceValue === null ? 'NULL' : sqlString(summaries[sid]!.sliceValue!)}::VARCHAR, ${k - 1})`);
    const counts = await selectColumns(
      db,
      `SELECT vc.gid, vc.sv, count(DISTINCT vc.us >> p.k)::DOUBLE AS buckets FROM vc JOIN (VALUES ${halves.join(', ')}) p(gid, sv, k) ` +
        `ON vc.gid = p.gid AND vc.sv IS NOT DISTINCT FROM p.sv WHERE vc.us IS NOT NULL GROUP BY ALL`,
    );
    for (let i = 0; i < counts.rows; i++) {
      const sid = sets.sidAt(counts, i);
      if (int(counts.column('buckets')[i]) > cap) units.set(sid, rangeUnits.get(sid)!);
    }
  }
  const clustered = sids.filter((sid) => !units.has(sid));
  for (const [sid, k] of await unitsBySortedPass(db, sets, clustered, cap)) units.set(sid, k);
  return units;
}

/** Each set's instants counted per bucket of its finest power-of-two unit within the cap. */
async function coarsenInstants(db: DuckDbSession, sets: SetIndex, summaries: readonly SetSummary[], sids: readonly number[], cap: number): Promise<Map<number, CoarsenedState>> {
  const out = new Map<number, CoarsenedState>();
  if (sids.length === 0) return out;
  const unitBits = await finestUnits(db, sets, summaries, sids, cap);
  for (const [sid, bits] of unitBits) out.set(sid, { kind: 'coarsened', unitMicros: 2 ** bits, buckets: [] });
  const k = `CASE ${[...unitBits].map(([sid, bits]) => `WHEN ${sets.condition(sid)} THEN ${bits}`).join(' ')} END`;
  const buckets = await selectColumns(
    db,
    `SELECT gid, sv, ((us >> ${k}) << ${k})::DOUBLE AS start, sum(n) AS n, sum(w) AS w FROM vc WHERE us IS NOT NULL AND ${sets.where(sids)} GROUP BY ALL ORDER BY start`,
  );
  const [start, n, w] = ['start', 'n', 'w'].map((name) => buckets.column(name));
  for (let i = 0; i < buckets.rows; i++) out.get(sets.sidAt(buckets, i))!.buckets.push([int(start![i]), int(n![i]), num(w![i])]);
  return out;
}

/**
 * The sketches of each set beyond the cap, built in SQL over its value counts, with what one pass knows
 * exactly beside them: the distinct count and the first values by count.
 */
async function sketches(db: DuckDbSession, sets: SetIndex, summaries: readonly SetSummary[], sketched: readonly number[], kinds: ReadonlyMap<number, ColumnKind>, request: SplitPartialRequest) {
  const registers = await hyperLogLogs(db, sets, sketched);
  const numbersKind = (sid: number) => numbersSketchKind(kinds.get(sid) as FeatureType);
  const ddsketch = await ddsketches(db, sets, sketched.filter((sid) => numbersKind(sid) === 'ddsketch'));
  const coarsened = await coarsenInstants(db, sets, summaries, sketched.filter((sid) => numbersKind(sid) === 'coarsened'), request.valueCountCap);
  const out = new Map<number, Distribution>();
  for (const sid of sketched) {
    out.set(sid, {
      kind: 'sketch',
      hll: encodeRegisters(registers.get(sid)!),
      distinct: summaries[sid]!.distinct,
      top: await topSummary(db, sets, sid, request.topSummarySize),
      numbers: ddsketch.get(sid) ?? coarsened.get(sid) ?? null,
    });
  }
  return out;
}

function numericPartial(s: SetSummary, kind: ColumnKind, weighted: boolean): NumericPartial | null {
  if (kind !== 'INT' && kind !== 'FLOAT' && kind !== 'TEMPORAL') return null;
  return {
    moments: s.finiteCount > 0 ? { n: s.finiteCount, shift: s.min ?? 0, meanOffset: s.meanOffset ?? 0, m2: s.m2 ?? 0 } : NO_MOMENTS,
    weightedMoments: weighted
      ? (s.finiteWeight ?? 0) > 0
        ? { n: s.finiteWeight!, shift: s.min ?? 0, meanOffset: s.weightedMeanOffset ?? 0, m2: s.weightedM2 ?? 0 }
        : NO_MOMENTS
      : null,
    min: s.min,
    max: s.max,
    minText: kind === 'TEMPORAL' ? s.minText : null,
    maxText: kind === 'TEMPORAL' ? s.maxText : null,
    numNan: s.numNan,
    numPosInf: s.numPosInf,
    numNegInf: s.numNegInf,
    numZeros: kind === 'TEMPORAL' ? 0 : s.numZeros,
  };
}

const EMPTY: SetSummary = {
  sid: -1, gid: -1, sliceValue: null, count: 0, missing: 0, weightedCount: null, weightedMissing: null, distinct: 0, numNan: 0, numPosInf: 0, numNegInf: 0, numZeros: 0,
  min: null, max: null, minText: null, maxText: null, minMicros: null, maxMicros: null, finiteCount: 0, meanOffset: null, m2: null, finiteWeight: null, weightedMeanOffset: null, weightedM2: null,
  lengthMin: null, lengthMax: null, lengthTotal: null, total: null,
};

/** What one measure's set of values gives a feature: its summary and distribution. */
interface MeasuredSet {
  summary: SetSummary;
  distribution: Distribution;
}

export async function computeSplitPartial(db: DuckDbSession, request: SplitPartialRequest): Promise<PartialSplit> {
  const features = await featuresOf(db, request.relationSql);
  checkParameters(features, request);
  const weighted = request.weightFeature !== undefined;
  const weightSql = weighted ? `CAST(${sqlIdentifier(request.weightFeature!)} AS DOUBLE)` : 'NULL';
  if (weighted) await checkWeights(db, request, weightSql);
  const sliceExprs = request.slices.map((s) => `CAST(${sqlIdentifier(s)} AS VARCHAR)`);
  const slices = sliceExprs.length;
  const emptyDistribution = (type: FeatureType): Distribution => distributionOf([], { cap: request.valueCountCap, topSummarySize: request.topSummarySize, type });

  // Per measure (by feature and role), per slice (-1: overall), per slice value: the measured set.
  const measured = new Map<string, MeasuredSet>();
  const key = (feature: number, role: Measure['role'], slice: number, value: string | null) => JSON.stringify([feature, role, slice, value]);
  const rows = new Map<string, { n: number; w: number | null }>();
  const sliceValues = Array.from({ length: slices }, () => new Set<string | null>());

  for (const batch of batchesOf(features, request.relationSql, sliceExprs, weightSql)) {
    await countValues(db, batch, slices, weighted, batch.countsRows ? request.onProgress : undefined);
    const summaries = await summarize(db);
    const args = batch.measures.length + slices;
    const bit = (position: number) => 2 ** (args - 1 - position);
    const all = 2 ** args - 1;
    // GROUPING() sets a bit for each argument left out of the set, the first argument highest.
    const setOf = new Map<number, { measure: number; slice: number }>();
    batch.measures.forEach((_, k) => {
      setOf.set(all - bit(k), { measure: k, slice: -1 });
      for (let j = 0; j < slices; j++) setOf.set(all - bit(k) - bit(batch.measures.length + j), { measure: k, slice: j });
    });
    const kinds = new Map<number, ColumnKind>();
    for (const s of summaries) {
      if (s.gid === all) rows.set(key(-1, 'values', -1, null), { n: s.count + s.missing, w: weighted ? (s.weightedCount ?? 0) + (s.weightedMissing ?? 0) : null });
      for (let j = 0; j < slices; j++) {
        if (s.gid === all - bit(batch.measures.length + j)) {
          rows.set(key(-1, 'values', j, s.sliceValue), { n: s.count + s.missing, w: weighted ? (s.weightedCount ?? 0) + (s.weightedMissing ?? 0) : null });
          sliceValues[j]!.add(s.sliceValue);
        }
      }
      const set = setOf.get(s.gid);
      if (set) kinds.set(s.sid, batch.measures[set.measure]!.kind);
    }
    const sets = new SetIndex(summaries);
    const sketched = summaries.filter((s) => kinds.has(s.sid) && s.distinct > request.valueCountCap).map((s) => s.sid);
    const exact = await exactEntries(db, sets, sketched);
    const sketchesBySid = await sketches(db, sets, summaries, sketched, kinds, request);
    for (const s of summaries) {
      const set = setOf.get(s.gid);
      if (!set) continue;
      const measure = batch.measures[set.measure]!;
      const type = measure.kind as FeatureType;
      measured.set(key(measure.feature, measure.role, set.slice, set.slice === -1 ? null : s.sliceValue), {
        summary: s,
        distribution: sketchesBySid.get(s.sid) ?? distributionOf(exact.get(s.sid) ?? [], { cap: request.valueCountCap, topSummarySize: request.topSummarySize, type }),
      });
    }
  }
  await db.query('DROP TABLE IF EXISTS vc');
  await db.query('DROP TABLE IF EXISTS sets');

  const featureOf = (i: number, slice: number, value: string | null): PartialFeature => {
    const f = features[i]!;
    const get = (role: Measure['role']): MeasuredSet => measured.get(key(i, role, slice, value)) ?? { summary: EMPTY, distribution: emptyDistribution(role === 'lengths' ? 'INT' : f.type) };
    const rowsSet = get(f.valency === 'list' ? 'lengths' : 'values');
    const valuesSet = get(f.valency === 'list' ? 'elements' : 'values');
    const r = rowsSet.summary;
    const v = valuesSet.summary;
    const weightOr = (x: number | null) => (weighted ? (x ?? 0) : null);
    return {
      name: f.name,
      type: f.type,
      physicalType: f.physicalType,
      valency: f.valency,
      count: r.count,
      missing: r.missing,
      weightedCount: weightOr(r.weightedCount),
      weightedMissing: weightOr(r.weightedMissing),
      valueCounts:
        f.valency === 'list'
          ? { min: r.min, max: r.max, total: r.total ?? 0, lengths: rowsSet.distribution }
          : {
              min: r.count > 0 ? 1 : null,
              max: r.count > 0 ? 1 : null,
              total: r.count,
              lengths: { kind: 'exact', entries: r.count > 0 ? [['1', 1, r.count, weightOr(r.weightedCount)]] : [] },
            },
      values: {
        count: v.count,
        distribution: valuesSet.distribution,
        numeric: numericPartial(v, f.type, weighted),
        stringLength: f.type === 'STRING' ? { min: v.lengthMin, max: v.lengthMax, total: v.lengthTotal ?? 0 } : null,
      },
    };
  };
  const dataset = (slice: number, value: string | null): PartialDataset => {
    const n = rows.get(key(-1, 'values', slice, value)) ?? { n: 0, w: weighted ? 0 : null };
    return { numExamples: n.n, weightedNumExamples: n.w, features: features.map((_, i) => featureOf(i, slice, value)) };
  };
  return {
    name: request.name,
    ...dataset(-1, null),
    slices: request.slices
      .flatMap((name, j) => [...sliceValues[j]!].map((value) => ({ key: { [name]: value }, ...dataset(j, value) })))
      .sort(compareSlices(request.slices)),
  };
}
