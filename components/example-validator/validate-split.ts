import type { FeatureStatistics, SplitStatistics } from '../statistics-gen/payload';
import type { Domain, FeatureSpec, SchemaPayload } from '../schema-gen/payload';
import { ANOMALY_KINDS, type AnomalyKind, type Severity } from './anomaly-kinds';
import { domainList, figure, percent, quotedList } from './describe';
import type { Anomaly } from './payload';

export interface ValidationOptions {
  /** The environment of the data (TFDV's): which features the schema requires in it. */
  environment?: string;
  severities: Record<AnomalyKind, Severity>;
}

interface Finding {
  kind: AnomalyKind;
  feature: string | null;
  description: string;
}

/**
 * TFDV's `IsFeatureInEnvironment`: listed in `inEnvironment`, else not if in `notInEnvironment`, else
 * per the schema's default environments. A schema that names no default environments puts every
 * feature in every environment (TFDV puts none in any, which makes every column "new" in SERVING
 * data of a schema that never mentioned environments).
 */
export function isInEnvironment(feature: FeatureSpec, schema: SchemaPayload, environment: string | undefined): boolean {
  if (environment === undefined) return true;
  if (feature.inEnvironment?.includes(environment)) return true;
  if (feature.notInEnvironment?.includes(environment)) return false;
  return schema.defaultEnvironments === undefined || schema.defaultEnvironments.includes(environment);
}

/** The environments a schema names anywhere: an `environment` parameter must be one of them. */
export function environmentsOf(schema: SchemaPayload): string[] {
  const named = new Set(schema.defaultEnvironments ?? []);
  for (const f of schema.features) for (const e of [...(f.inEnvironment ?? []), ...(f.notInEnvironment ?? [])]) named.add(e);
  return [...named];
}

function isRequired(feature: FeatureSpec, schema: SchemaPayload, environment: string | undefined): boolean {
  const { minCount = 0, minFraction = 0 } = feature.presence ?? {};
  return (minCount > 0 || minFraction > 0) && isInEnvironment(feature, schema, environment);
}

/** Whole numbers are floats: INT data meets a FLOAT feature (a span that happens to hold no fractions). */
function typeMatches(expected: FeatureSpec['type'], actual: FeatureStatistics['type']): boolean {
  return expected === actual || (expected === 'FLOAT' && actual === 'INT');
}

function presenceFindings(spec: FeatureSpec, f: FeatureStatistics, rows: number): Finding[] {
  const out: Finding[] = [];
  const { minCount, minFraction } = spec.presence ?? {};
  const present = `present in ${figure(f.count)} of ${figure(rows)} rows`;
  if (minCount !== undefined && f.count < minCount) {
    out.push({ kind: 'FEATURE_TYPE_LOW_NUMBER_PRESENT', feature: f.name, description: `${f.name}: ${present}; the schema requires at least ${figure(minCount)} (presence.minCount)` });
  }
  if (minFraction !== undefined && rows > 0 && (f.count / rows < minFraction || (minFraction === 1 && f.missing > 0))) {
    out.push({
      kind: 'FEATURE_TYPE_LOW_FRACTION_PRESENT',
      feature: f.name,
      description: `${f.name}: ${present} (${percent(f.count, rows)}, ${figure(f.missing)} missing); the schema requires at least ${percent(minFraction, 1)} (presence.minFraction ${minFraction})`,
    });
  }
  return out;
}

function valueCountFindings(spec: FeatureSpec, f: FeatureStatistics): Finding[] {
  const out: Finding[] = [];
  const { min, max } = spec.valueCount ?? {};
  if (min !== undefined && f.valueCounts.min < min) {
    out.push({ kind: 'FEATURE_TYPE_LOW_NUMBER_VALUES', feature: f.name, description: `${f.name}: some rows have ${figure(f.valueCounts.min)} values; the schema requires at least ${figure(min)} per row (valueCount.min)` });
  }
  if (max !== undefined && f.valueCounts.max > max) {
    out.push({ kind: 'FEATURE_TYPE_HIGH_NUMBER_VALUES', feature: f.name, description: `${f.name}: some rows have ${figure(f.valueCounts.max)} values; the schema allows at most ${figure(max)} per row (valueCount.max)` });
  }
  return out;
}

function rangeFindings(f: FeatureStatistics, domain: Extract<Domain, { kind: 'int' | 'float' }>): Finding[] {
  const numeric = f.numeric;
  if (!numeric) return [];
  const [small, big] = domain.kind === 'int' ? (['INT_TYPE_SMALL_INT', 'INT_TYPE_BIG_INT'] as const) : (['FLOAT_TYPE_SMALL_FLOAT', 'FLOAT_TYPE_BIG_FLOAT'] as const);
  const out: Finding[] = [];
  if (domain.min !== undefined && numeric.min !== null && numeric.min < domain.min) {
    out.push({ kind: small, feature: f.name, description: `${f.name}: minimum ${figure(numeric.min)} is below the domain's minimum ${figure(domain.min)}` });
  }
  if (domain.max !== undefined && numeric.max !== null && numeric.max > domain.max) {
    out.push({ kind: big, feature: f.name, description: `${f.name}: maximum ${figure(numeric.max)} is above the domain's maximum ${figure(domain.max)}` });
  }
  return out;
}

function invalidFloatFindings(f: FeatureStatistics, domain: Extract<Domain, { kind: 'float' }>): Finding[] {
  const numeric = f.numeric;
  if (!numeric) return [];
  const values = f.valueCounts.total;
  const out: Finding[] = [];
  if (domain.disallowNan && numeric.numNan > 0) {
    out.push({ kind: 'FLOAT_TYPE_HAS_NAN', feature: f.name, description: `${f.name}: ${figure(numeric.numNan)} NaN values (${percent(numeric.numNan, values)} of ${figure(values)} values); the schema disallows NaN (disallowNan)` });
  }
  const infinite = numeric.numPosInf + numeric.numNegInf;
  if (domain.disallowInf && infinite > 0) {
    out.push({
      kind: 'FLOAT_TYPE_HAS_INF',
      feature: f.name,
      description: `${f.name}: ${figure(infinite)} infinite values (+Infinity ${figure(numeric.numPosInf)}, -Infinity ${figure(numeric.numNegInf)}; ${percent(infinite, values)} of ${figure(values)} values); the schema disallows them (disallowInf)`,
    });
  }
  return out;
}

const LISTED_UNEXPECTED_VALUES = 5;

/**
 * TFDV's condition: the values outside the domain, counted from the ranked values, over all values,
 * above 1 − minDomainMass. Values the ranking leaves out are outside for certain only where there are
 * more of them than domain values the ranking leaves out; each such counts once, so the count is a
 * lower bound then.
 */
function stringDomainFindings(spec: FeatureSpec, f: FeatureStatistics, domain: Extract<Domain, { kind: 'string' }>): Finding[] {
  const total = f.valueCounts.total;
  if (total === 0) return [];
  const inDomain = new Set(domain.values);
  const ranked = f.rankHistogram;
  const outside = ranked.filter((r) => !inDomain.has(r.value));
  const unrankedDistinct = Math.max(0, f.distinct - ranked.length);
  const rankedValues = new Set(ranked.map((r) => r.value));
  const unrankedDomainValues = domain.values.filter((v) => !rankedValues.has(v)).length;
  const surelyOutsideUnranked = Math.max(0, unrankedDistinct - unrankedDomainValues);
  const outsideCount = outside.reduce((sum, r) => sum + r.count, 0) + surelyOutsideUnranked;
  const minDomainMass = spec.minDomainMass ?? 1;
  const maxOffDomain = 1 - minDomainMass;
  if (!(outsideCount / total > maxOffDomain || (maxOffDomain === 0 && outsideCount > 0))) return [];

  const atLeast = unrankedDistinct > 0 ? 'at least ' : '';
  const listed = outside.map((r) => `'${r.value}'${outside.length > 1 ? ` (${percent(r.count, total)})` : ''}`);
  if (surelyOutsideUnranked > 0) listed.push(`${figure(surelyOutsideUnranked)} values the statistics do not rank`);
  const allowed = minDomainMass < 1 ? `; the schema allows at most ${percent(maxOffDomain, 1)} (minDomainMass ${minDomainMass})` : '';
  return [
    {
      kind: 'ENUM_TYPE_UNEXPECTED_STRING_VALUES',
      feature: f.name,
      description: `${f.name}: ${atLeast}${percent(outsideCount, total)} of values (${figure(outsideCount)} of ${figure(total)}) are ${quotedList(listed, LISTED_UNEXPECTED_VALUES)}, not in the domain ${domainList(domain.values)}${allowed}`,
    },
  ];
}

function domainFindings(spec: FeatureSpec, f: FeatureStatistics): Finding[] {
  const domain = spec.domain;
  switch (domain?.kind) {
    case 'int':
      return rangeFindings(f, domain);
    case 'float':
      return [...rangeFindings(f, domain), ...invalidFloatFindings(f, domain)];
    case 'string':
      return stringDomainFindings(spec, f, domain);
    default:
      return [];
  }
}

/** One schema feature against its column's statistics (TFDV's `UpdateFeatureInternal`, in its order). */
function featureFindings(spec: FeatureSpec, f: FeatureStatistics | undefined, split: SplitStatistics, schema: SchemaPayload, environment: string | undefined): Finding[] {
  const required = isRequired(spec, schema, environment);
  if (!f) {
    if (!required) return [];
    const where = environment ? ` in environment ${environment}` : '';
    return [{ kind: 'SCHEMA_MISSING_COLUMN', feature: spec.name, description: `${spec.name}: the schema requires this feature${where}, but split ${split.name} has no such column (its columns: ${split.features.map((c) => c.name).join(', ')})` }];
  }
  if (f.count === 0) {
    if (!required) return [];
    return [{ kind: 'FEATURE_TYPE_NOT_PRESENT', feature: f.name, description: `${f.name}: no row of split ${split.name} (${figure(split.numExamples)} rows) has a value; the schema requires the feature` }];
  }
  const out: Finding[] = [];
  if (!isInEnvironment(spec, schema, environment)) {
    out.push({ kind: 'SCHEMA_NEW_COLUMN', feature: f.name, description: `${f.name}: present in ${figure(f.count)} rows of split ${split.name}, but the schema keeps this feature out of environment ${environment}` });
  }
  out.push(...valueCountFindings(spec, f), ...presenceFindings(spec, f, split.numExamples));
  if (!typeMatches(spec.type, f.type)) {
    const examples = f.topValues.slice(0, 3).map((t) => `'${t.value}'`);
    const seen = examples.length > 0 ? ` (most frequent: ${examples.join(', ')})` : '';
    out.push({ kind: 'UNEXPECTED_DATA_TYPE', feature: f.name, description: `${f.name}: expected ${spec.type} values, found ${f.type} (${f.physicalType})${seen}; its domain and valency are not checked` });
    return out;
  }
  return [...out, ...domainFindings(spec, f)];
}

function datasetFindings(schema: SchemaPayload, split: SplitStatistics): Finding[] {
  const { minExamplesCount, maxExamplesCount } = schema.datasetConstraints ?? {};
  const out: Finding[] = [];
  if (minExamplesCount !== undefined && split.numExamples < minExamplesCount) {
    out.push({ kind: 'DATASET_LOW_NUM_EXAMPLES', feature: null, description: `split ${split.name} has ${figure(split.numExamples)} rows; the schema requires at least ${figure(minExamplesCount)} (datasetConstraints.minExamplesCount)` });
  }
  if (maxExamplesCount !== undefined && split.numExamples > maxExamplesCount) {
    out.push({ kind: 'DATASET_HIGH_NUM_EXAMPLES', feature: null, description: `split ${split.name} has ${figure(split.numExamples)} rows; the schema allows at most ${figure(maxExamplesCount)} (datasetConstraints.maxExamplesCount)` });
  }
  return out;
}

/** A split's statistics against the schema: every anomaly, in schema order, then new columns, then the dataset's. */
export function validateSplit(schema: SchemaPayload, split: SplitStatistics, options: ValidationOptions): Anomaly[] {
  const byName = new Map(split.features.map((f) => [f.name, f]));
  const known = new Set(schema.features.map((f) => f.name));
  const findings = [
    ...schema.features.flatMap((spec) => featureFindings(spec, byName.get(spec.name), split, schema, options.environment)),
    ...split.features
      .filter((f) => !known.has(f.name))
      .map(
        (f): Finding => ({
          kind: 'SCHEMA_NEW_COLUMN',
          feature: f.name,
          description: `${f.name}: a ${f.type} column of split ${split.name} (present in ${figure(f.count)} of ${figure(split.numExamples)} rows) is not in the schema; add it to the schema or leave it out of the data`,
        }),
      ),
    ...datasetFindings(schema, split),
  ];
  return findings.map((x) => ({ kind: x.kind, severity: options.severities[x.kind], feature: x.feature, split: split.name, short: ANOMALY_KINDS[x.kind].short, description: x.description }));
}
