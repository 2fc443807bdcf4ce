import { figure, percent } from '../../example-validator/describe';
import { ID_LIKE_DISTINCT_FRACTION, ID_LIKE_MIN_ROWS, isIdLike } from '../../schema-gen/infer-schema';
import type { FeatureStatistics } from '../payload';
import { binsByValue } from './binning';
import type { PairStatistics } from './pair-statistics-sql';
import type { Flag, Usefulness } from './payload';

/** A model learns next to nothing from a feature whose one value holds 99% of its rows. */
export const NEAR_CONSTANT_TOP_SHARE = 0.99;
export const MOSTLY_MISSING_FRACTION = 0.5;
export const NEAR_DUPLICATE_PEARSON = 0.99;
/** Below this many rows a |r| near 1 is too easily chance (two rows always give ±1). */
export const NEAR_DUPLICATE_MIN_ROWS = 30;
/** The one-to-one check counts distinct pairs of values: bounded so two wide numeric columns do not cost a hash table of every row. */
export const ONE_TO_ONE_MAX_DISTINCT = 1000;

export const FLAG_CONVENTIONS: Usefulness['conventions']['flags'] = {
  constant: 'one distinct value among the rows where the feature is present',
  nearConstant: `the most frequent value in ${percent(NEAR_CONSTANT_TOP_SHARE, 1)} or more of the rows where the feature is present`,
  mostlyMissing: `missing in ${percent(MOSTLY_MISSING_FRACTION, 1)} or more of the rows`,
  nearDuplicate:
    `another feature (or the label) carries the same information: |Pearson r| ≥ ${NEAR_DUPLICATE_PEARSON} over at least ${NEAR_DUPLICATE_MIN_ROWS} rows ` +
    `(INT and FLOAT pairs), or values that map one to one, missing counted as a value (pairs of features binned by value, each with 2 to ${figure(ONE_TO_ONE_MAX_DISTINCT)} ` +
    `exactly counted distinct values and neither id-like: any two row identifiers map one to one)`,
  idLike: `SchemaGen's idLike rule: an INT or STRING feature present in at least ${ID_LIKE_MIN_ROWS} rows with distinct values in at least ${percent(ID_LIKE_DISTINCT_FRACTION, 1)} of them`,
};

/** A feature another one duplicates, with the evidence. */
export interface Duplicate {
  of: string;
  /** |r| at or above the threshold, else null. */
  pearson: number | null;
  pearsonRows: number;
  oneToOne: boolean;
}

/**
 * Features whose values the one-to-one check compares: categories (numbers are Pearson's), at most
 * ONE_TO_ONE_MAX_DISTINCT of them and known exactly, neither constant nor an identifier.
 */
export function isOneToOneCandidate(f: FeatureStatistics): boolean {
  return f.valency === 'single' && binsByValue(f) && f.approximations?.distinct === undefined && f.distinct >= 2 && f.distinct <= ONE_TO_ONE_MAX_DISTINCT && !isIdLike(f);
}

/** Distinct values with missing counted as one more, as the one-to-one check counts pairs. */
export const distinctWithMissing = (f: FeatureStatistics): number => f.distinct + (f.missing > 0 ? 1 : 0);

/** Each feature's near-duplicates, both ways, from the pairwise figures of `numeric` and `candidates`. */
export function nearDuplicates(numeric: string[], candidates: string[], pairs: PairStatistics): Map<string, Duplicate[]> {
  const found = new Map<string, Map<string, Duplicate>>();
  const entry = (a: string, b: string): Duplicate => {
    const of = found.get(a) ?? new Map<string, Duplicate>();
    found.set(a, of);
    const d = of.get(b) ?? { of: b, pearson: null, pearsonRows: 0, oneToOne: false };
    of.set(b, d);
    return d;
  };
  numeric.forEach((a, i) =>
    numeric.forEach((b, j) => {
      const r = pairs.pearson[i]?.[j] ?? null;
      const rows = pairs.rows[i]?.[j] ?? 0;
      if (i !== j && r !== null && Math.abs(r) >= NEAR_DUPLICATE_PEARSON && rows >= NEAR_DUPLICATE_MIN_ROWS) Object.assign(entry(a, b), { pearson: r, pearsonRows: rows });
    }),
  );
  for (const [i, j] of pairs.oneToOne) {
    entry(candidates[i]!, candidates[j]!).oneToOne = true;
    entry(candidates[j]!, candidates[i]!).oneToOne = true;
  }
  return new Map([...found].map(([name, of]) => [name, [...of.values()]]));
}

/** The flags of one feature, each with the figures that raised it. */
export function featureFlags(f: FeatureStatistics, numExamples: number, duplicates: readonly Duplicate[]): Flag[] {
  const flags: Flag[] = [];
  const top = f.topValues[0];
  const present = `${figure(f.count)} present rows`;
  if (f.distinct === 1) {
    const value = top?.value ?? null;
    flags.push({ kind: 'constant', value, reason: `one value${value === null ? '' : ` ("${value}")`} in all ${present}` });
  } else if (f.valency === 'single' && top && f.count > 0 && top.count / f.count >= NEAR_CONSTANT_TOP_SHARE) {
    flags.push({
      kind: 'nearConstant',
      value: top.value,
      share: top.count / f.count,
      reason: `"${top.value}" in ${figure(top.count)} of ${present} (${percent(top.count, f.count)}; flagged at ${percent(NEAR_CONSTANT_TOP_SHARE, 1)})`,
    });
  }
  if (numExamples > 0 && f.missing / numExamples >= MOSTLY_MISSING_FRACTION) {
    flags.push({
      kind: 'mostlyMissing',
      missing: f.missing,
      fraction: f.missing / numExamples,
      reason: `missing in ${figure(f.missing)} of ${figure(numExamples)} rows (${percent(f.missing, numExamples)}; flagged at ${percent(MOSTLY_MISSING_FRACTION, 1)})`,
    });
  }
  for (const d of duplicates) {
    const evidence = [
      d.pearson === null ? null : `Pearson r = ${figure(d.pearson)} with "${d.of}" over ${figure(d.pearsonRows)} rows (flagged at |r| ≥ ${NEAR_DUPLICATE_PEARSON})`,
      d.oneToOne ? `its values map one to one onto those of "${d.of}"` : null,
    ].filter((e) => e !== null);
    flags.push({ kind: 'nearDuplicate', of: d.of, pearson: d.pearson, oneToOne: d.oneToOne, reason: evidence.join('; ') });
  }
  if (isIdLike(f)) {
    flags.push({
      kind: 'idLike',
      distinct: f.distinct,
      count: f.count,
      reason: `${figure(f.distinct)} distinct values in ${present} (${percent(f.distinct, f.count)}; SchemaGen's idLike rule: ≥ ${percent(ID_LIKE_DISTINCT_FRACTION, 1)} of ≥ ${ID_LIKE_MIN_ROWS} rows)`,
    });
  }
  return flags;
}
