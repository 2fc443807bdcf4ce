import { UserInputError } from '../../dsl/executor';
import type { FeatureStatistics, SplitStatistics } from '../statistics-gen/payload';
import type { DatasetConstraintsSchema, Domain, FeatureSpec, SchemaPayload } from './payload';
import type { z } from 'zod';

/**
 * Schema inference from statistics, TFDV's `infer_schema` where it is sound and stricter where it is
 * too generic (each rule below says which):
 *
 * - type: the statistics' kind (INT, FLOAT, STRING, BOOL, TEMPORAL, OTHER).
 * - presence, as TFDV's `InitPresenceAndShape`: `minCount: 1`, and `minFraction: 1` when no row lacked
 *   the feature; a feature some rows lack gets no fraction (the observed one would fail on sampling
 *   noise); a feature never present gets `minCount: 0` and nothing else.
 * - valency, as TFDV's `InitValueCount`: a scalar is `{min: 1, max: 1}`; a list whose rows all hold
 *   the same number n of values `{min: n, max: n}`, other lists `{min: 1}`; lists that may be empty
 *   nothing.
 * - numbers: no vocabulary, however few their values (TFDV agrees for INT columns). FLOAT gets
 *   `disallowNan` / `disallowInf` when the data had no NaN / no infinity (TFDV leaves both unset, so its
 *   inferred schemas let NaN through). Bounds (int/float min and max) only with `inferNumericBounds`:
 *   TFDV leaves them out, since the next span's larger value is not an error of the data.
 * - strings: a vocabulary (`string` domain, values in ascending order) when there are at most
 *   `maxStringDomainSize` distinct values (TFDV's default 100) and the statistics' ranked values hold
 *   every one of them; beyond the limit the feature is annotated `freeText` and has no domain.
 * - identifiers: an INT or STRING feature present in at least ID_LIKE_MIN_ROWS rows with distinct
 *   values in at least ID_LIKE_DISTINCT_FRACTION of them is annotated `idLike` and gets no domain
 *   (TFDV would give such a column under 100 rows a domain of every value).
 * - BOOL: a bool domain. TEMPORAL and OTHER: no domain.
 * - environments: every feature is in `TRAINING` and `SERVING` (the schema's default environments);
 *   the `label` is not in `SERVING`, as TFDV's documentation recommends.
 */

/** Fewer rows than this are too few to tell an identifier from a small vocabulary. */
export const ID_LIKE_MIN_ROWS = 100;
/** Distinct values per present row at or above which a column is taken for an identifier. */
export const ID_LIKE_DISTINCT_FRACTION = 0.9;
const DEFAULT_ENVIRONMENTS = ['TRAINING', 'SERVING'];

export interface InferenceOptions {
  maxStringDomainSize: number;
  inferNumericBounds: boolean;
  /** The label feature: left out of the SERVING environment. */
  label?: string;
  datasetConstraints?: z.infer<typeof DatasetConstraintsSchema>;
}

export interface InferredSchema {
  schema: SchemaPayload;
  /** Features inference could not judge fully, each naming the feature and what to change. */
  notes: string[];
}

/** What the chosen splits say about one feature, added up. */
interface FeatureEvidence {
  name: string;
  type: FeatureStatistics['type'];
  list: boolean;
  count: number;
  missing: number;
  /** Over the splits where the feature is present. */
  minValues: number;
  maxValues: number;
  /** Exact when every split's ranked values are complete; otherwise the sum of the splits' counts, an upper bound. */
  distinct: number;
  /** Exact as `distinct` is, otherwise the largest split's count: a lower bound. */
  distinctAtLeast: number;
  /** Every distinct value, when every split's ranked values hold all of them. */
  values: Set<string> | undefined;
  numNan: number;
  numInf: number;
  min: number | null;
  max: number | null;
}

/** The ranked values hold every distinct value (none left out, none estimated). */
function rankedValuesComplete(f: FeatureStatistics): boolean {
  const approximate = f.approximations ?? {};
  return f.rankHistogram.length >= f.distinct && !approximate.distinct && !approximate.rankHistogram && !approximate.topValues;
}

function evidenceOf(f: FeatureStatistics): FeatureEvidence {
  return {
    name: f.name,
    type: f.type,
    list: f.valency === 'list',
    count: f.count,
    missing: f.missing,
    minValues: f.count > 0 ? f.valueCounts.min : Infinity,
    maxValues: f.count > 0 ? f.valueCounts.max : 0,
    distinct: f.distinct,
    distinctAtLeast: f.distinct,
    values: rankedValuesComplete(f) ? new Set(f.rankHistogram.map((r) => r.value)) : undefined,
    numNan: f.numeric?.numNan ?? 0,
    numInf: (f.numeric?.numPosInf ?? 0) + (f.numeric?.numNegInf ?? 0),
    min: f.numeric?.min ?? null,
    max: f.numeric?.max ?? null,
  };
}

function extreme(a: number | null, b: number | null, pick: (x: number, y: number) => number): number | null {
  return a === null ? b : b === null ? a : pick(a, b);
}

function combine(a: FeatureEvidence, b: FeatureEvidence, splits: [string, string]): FeatureEvidence {
  if (a.type !== b.type) {
    throw new UserInputError(`feature "${a.name}" is ${a.type} in split ${splits[0]} but ${b.type} in split ${splits[1]}: infer the schema from splits that agree (parameter splits)`);
  }
  const values = a.values && b.values ? new Set([...a.values, ...b.values]) : undefined;
  return {
    name: a.name,
    type: a.type,
    list: a.list || b.list,
    count: a.count + b.count,
    missing: a.missing + b.missing,
    minValues: Math.min(a.minValues, b.minValues),
    maxValues: Math.max(a.maxValues, b.maxValues),
    distinct: values ? values.size : a.distinct + b.distinct,
    distinctAtLeast: values ? values.size : Math.max(a.distinctAtLeast, b.distinctAtLeast),
    values,
    numNan: a.numNan + b.numNan,
    numInf: a.numInf + b.numInf,
    min: extreme(a.min, b.min, Math.min),
    max: extreme(a.max, b.max, Math.max),
  };
}

/** Each feature's evidence over the splits, in the first split's column order, later splits' new features after. */
function evidenceOver(splits: SplitStatistics[]): FeatureEvidence[] {
  const byName = new Map<string, { evidence: FeatureEvidence; split: string }>();
  for (const split of splits) {
    // A feature a split lacks entirely is missing in every one of its rows.
    const absent = new Set(byName.keys());
    for (const f of split.features) {
      absent.delete(f.name);
      const seen = byName.get(f.name);
      const own = evidenceOf(f);
      byName.set(f.name, { evidence: seen ? combine(seen.evidence, own, [seen.split, split.name]) : { ...own, missing: own.missing + rowsBefore(splits, split) }, split: split.name });
    }
    for (const name of absent) {
      const seen = byName.get(name)!;
      seen.evidence = { ...seen.evidence, missing: seen.evidence.missing + split.numExamples };
    }
  }
  return [...byName.values()].map((v) => v.evidence);
}

function rowsBefore(splits: SplitStatistics[], split: SplitStatistics): number {
  return splits.slice(0, splits.indexOf(split)).reduce((n, s) => n + s.numExamples, 0);
}

/** The identifier rule above; StatisticsGen's usefulness flags apply it too, so the two never disagree. */
export function isIdLike(e: Pick<FeatureStatistics, 'type' | 'count' | 'distinct'>): boolean {
  return (e.type === 'INT' || e.type === 'STRING') && e.count >= ID_LIKE_MIN_ROWS && e.distinct >= ID_LIKE_DISTINCT_FRACTION * e.count;
}

function inferFeature(e: FeatureEvidence, options: InferenceOptions, notes: string[]): FeatureSpec {
  const feature: FeatureSpec = { name: e.name, type: e.type };
  if (e.count === 0) {
    feature.presence = { minCount: 0 };
    notes.push(`feature "${e.name}": never present in the data, so only its type is inferred`);
    return withEnvironment(feature, options);
  }
  feature.presence = e.missing === 0 ? { minFraction: 1, minCount: 1 } : { minCount: 1 };
  if (!e.list) feature.valueCount = { min: 1, max: 1 };
  else if (e.minValues > 0) feature.valueCount = e.minValues === e.maxValues ? { min: e.minValues, max: e.maxValues } : { min: 1 };

  const annotations: NonNullable<FeatureSpec['annotations']> = [];
  let domain: Domain | undefined;
  // Over several splits only a lower bound of the distinct values is known: a category common to
  // train and eval must not pass for an identifier (an idLike feature gets no domain and no comparator).
  if (isIdLike({ ...e, distinct: e.distinctAtLeast })) {
    annotations.push('idLike');
  } else if (e.type === 'INT' && options.inferNumericBounds && e.min !== null && e.max !== null) {
    domain = { kind: 'int', min: e.min, max: e.max };
  } else if (e.type === 'FLOAT') {
    domain = floatDomain(e, options);
  } else if (e.type === 'BOOL') {
    domain = { kind: 'bool' };
  } else if (e.type === 'STRING') {
    if (e.distinctAtLeast > options.maxStringDomainSize) {
      annotations.push('freeText');
    } else if (e.values) {
      domain = { kind: 'string', values: [...e.values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) };
    } else {
      notes.push(
        `feature "${e.name}": ${e.distinctAtLeast === e.distinct ? e.distinct : `${e.distinctAtLeast} to ${e.distinct}`} distinct values, ` +
          `maxStringDomainSize is ${options.maxStringDomainSize}, but the statistics do not rank every value: no domain inferred ` +
          '(raise StatisticsGen\'s rank histogram size above maxStringDomainSize)',
      );
    }
  }
  if (domain) feature.domain = domain;
  if (annotations.length > 0) feature.annotations = annotations;
  const comparator = defaultComparator(feature);
  if (comparator) Object.assign(feature, { skewComparator: comparator, driftComparator: structuredClone(comparator) });
  return withEnvironment(feature, options);
}

/**
 * Skew and drift thresholds for every feature but identifiers and OTHER ones (TFDV writes none, so its
 * comparators check nothing until someone edits the schema). Each measure is defined in
 * components/example-validator/drift/. The defaults are sized for the smallest comparison that is not
 * flagged small-sample (100 values against about 200): over 1,500 random 230/114 re-splits of
 * penguins (test/components/example-validator-drift-thresholds.py), each stays above the 99.5th
 * percentile of its measure's noise per feature, while a 20% shift of one feature (about one standard
 * deviation of penguins' body mass) exceeds each several times:
 * - infinityNorm 0.2 (categorical; re-split p99.5 0.17): TFDV's examples use 0.01, which a category's
 *   frequency passes by chance in samples of a few hundred (p95 0.12).
 * - jensenShannonDivergence 0.1 (TFDV's divergence, log base 2; p99.5 0.03 categorical, 0.10 numeric
 *   on a 20-bucket grid, lower on TFDV's aligned buckets): Evidently's default, a JS *distance* of 0.1,
 *   is a divergence of 0.014, within ten-bucket noise at this size.
 * - populationStabilityIndex 0.35 (p99.5 0.35 numeric on deciles, 0.19 categorical): the conventional
 *   bands (0.1 moderate, 0.25 significant) are for thousands of values; deciles of a hundred values
 *   have an expected PSI near 0.12 by chance alone.
 * - normalizedWasserstein 0.35 (numeric; p99.5 0.33): Evidently's 0.1 suits thousands of values; at a
 *   hundred against two hundred the median re-split already moves 0.13 standard deviations.
 * On data of thousands of rows the noise shrinks as 1/√n, and tighter thresholds (Evidently's) hold:
 * edit them in the schema per feature.
 */
export const DEFAULT_COMPARATOR_THRESHOLDS = { infinityNorm: 0.2, jensenShannonDivergence: 0.1, populationStabilityIndex: 0.35, normalizedWasserstein: 0.35 } as const;

function defaultComparator(feature: FeatureSpec): FeatureSpec['skewComparator'] {
  if (feature.annotations?.includes('idLike')) return undefined;
  const t = DEFAULT_COMPARATOR_THRESHOLDS;
  const categorical = feature.type === 'STRING' || feature.type === 'BOOL' || (feature.domain?.kind === 'int' && feature.domain.isCategorical === true);
  if (categorical) return { infinityNorm: { threshold: t.infinityNorm }, jensenShannonDivergence: { threshold: t.jensenShannonDivergence }, populationStabilityIndex: { threshold: t.populationStabilityIndex } };
  if (feature.type === 'INT' || feature.type === 'FLOAT' || feature.type === 'TEMPORAL') {
    return { jensenShannonDivergence: { threshold: t.jensenShannonDivergence }, populationStabilityIndex: { threshold: t.populationStabilityIndex }, normalizedWasserstein: { threshold: t.normalizedWasserstein } };
  }
  return undefined;
}

function floatDomain(e: FeatureEvidence, options: InferenceOptions): Domain | undefined {
  const domain: Domain = { kind: 'float' };
  if (options.inferNumericBounds && e.min !== null && e.max !== null) Object.assign(domain, { min: e.min, max: e.max });
  if (e.numNan === 0) domain.disallowNan = true;
  if (e.numInf === 0) domain.disallowInf = true;
  return Object.keys(domain).length > 1 ? domain : undefined;
}

function withEnvironment(feature: FeatureSpec, options: InferenceOptions): FeatureSpec {
  if (feature.name === options.label) feature.notInEnvironment = ['SERVING'];
  return feature;
}

/** The schema the statistics of `splits` imply (see the rules above). */
export function inferSchema(splits: SplitStatistics[], options: InferenceOptions): InferredSchema {
  const notes: string[] = [];
  const evidence = evidenceOver(splits);
  if (options.label !== undefined && !evidence.some((e) => e.name === options.label)) {
    throw new UserInputError(`label "${options.label}" is not a feature of split(s) ${splits.map((s) => s.name).join(', ')} (features: ${evidence.map((e) => e.name).join(', ')})`);
  }
  const schema: SchemaPayload = {
    version: 1,
    features: evidence.map((e) => inferFeature(e, options, notes)),
    defaultEnvironments: DEFAULT_ENVIRONMENTS,
  };
  if (options.datasetConstraints) schema.datasetConstraints = options.datasetConstraints;
  return { schema, notes };
}
