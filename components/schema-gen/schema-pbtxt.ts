import path from 'node:path';
import * as protobuf from 'protobufjs';
import { parseTextProto, printTextProto, TextProtoError, type TextProtoObject, type TextProtoValue } from '../../artifacts/text-proto';
import { UserInputError } from '../../dsl/executor';
import { issuePath } from '../../dsl/zod-issues';
import { tfdvProtoDir } from '../statistics-gen/tfdv-export';
import { SchemaPayloadSchema, type Domain, type FeatureSpec, type SchemaPayload } from './payload';

/**
 * TFDV's text format of `tensorflow.metadata.v0.Schema` (`schema.pbtxt`, what TFX's SchemaGen writes
 * and ImportSchemaGen reads), to and from mlpipe's schema.json. How each part maps:
 *
 * | mlpipe | schema.pbtxt |
 * | --- | --- |
 * | type INT / FLOAT | `type: INT` / `type: FLOAT` |
 * | type STRING | `type: BYTES` |
 * | type BOOL | `type: INT` with `bool_domain {}` (a BOOL feature always reads back with its bool domain) |
 * | type TEMPORAL | `type: INT` with `time_domain { integer_format: UNIX_MICROSECONDS }` (mlpipe's statistics count time in microseconds); any `time_domain` reads as TEMPORAL |
 * | type OTHER | `type: TYPE_UNKNOWN`; `STRUCT` reads as OTHER, its children dropped |
 * | domain | inline `int_domain`, `float_domain`, `string_domain`, `bool_domain`; a `domain: "name"` reference reads the schema-level domain of that name; `shape { dim ... }` reads as a value count of the dims' product |
 * | minDomainMass | `distribution_constraints { min_domain_mass }` |
 * | annotations, and the comparators TFDV lacks (populationStabilityIndex, normalizedWasserstein) | `annotation { tag }`: `mlpipe:idLike`, `mlpipe:freeText`, `mlpipe:skewComparator.populationStabilityIndex=0.2` |
 * | comment | `annotation { comment }` (several comments read back joined by line breaks) |
 * | infinityNorm, jensenShannonDivergence | `skew_comparator` / `drift_comparator` `{ infinity_norm { threshold } jensen_shannon_divergence { threshold } }` |
 *
 * What mlpipe has no place for (lifecycle stages, sparse and weighted features, nested value counts,
 * semantic domains, other tags, ...) is dropped on import with a warning naming where it was.
 */

export const SCHEMA_PBTXT_FILE_NAME = 'schema.pbtxt';

let schemaType: protobuf.Type | undefined;

/** `tensorflow.metadata.v0.Schema` from the vendored schema.proto, beside the statistics.proto it shares imports with. */
function tfdvSchemaType(): protobuf.Type {
  if (!schemaType) {
    const dir = tfdvProtoDir();
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => path.join(dir, target);
    root.loadSync('tensorflow_metadata/proto/v0/schema.proto', { keepCase: true });
    schemaType = root.lookupType('tensorflow.metadata.v0.Schema');
  }
  return schemaType;
}

const TAG_PREFIX = 'mlpipe:';
const EXTRA_COMPARATORS = ['populationStabilityIndex', 'normalizedWasserstein'] as const;
const COMPARATOR_KINDS = ['skewComparator', 'driftComparator'] as const;
const PROTO_TYPE = { INT: 'INT', FLOAT: 'FLOAT', STRING: 'BYTES', BOOL: 'INT', TEMPORAL: 'INT', OTHER: 'TYPE_UNKNOWN' } as const;
const PROTO_COMPARATOR = { skewComparator: 'skew_comparator', driftComparator: 'drift_comparator' } as const;

export interface SchemaText {
  text: string;
  /** What could not be written in TFDV's form, one line each naming the feature. */
  warnings: string[];
}

function domainToProto(domain: Domain): TextProtoObject {
  switch (domain.kind) {
    case 'int':
      return { int_domain: stripUndefined({ min: domain.min?.toString(), max: domain.max?.toString(), is_categorical: domain.isCategorical }) };
    case 'float':
      return { float_domain: stripUndefined({ min: domain.min, max: domain.max, disallow_nan: domain.disallowNan, disallow_inf: domain.disallowInf }) };
    case 'string':
      return { string_domain: { value: domain.values } };
    case 'bool':
      return { bool_domain: {} };
  }
}

function stripUndefined(fields: Record<string, TextProtoValue | undefined>): TextProtoObject {
  return Object.fromEntries(Object.entries(fields).filter((entry): entry is [string, TextProtoValue] => entry[1] !== undefined));
}

function comparatorToProto(comparator: FeatureSpec['skewComparator']): TextProtoObject | undefined {
  if (!comparator) return undefined;
  const out = stripUndefined({
    infinity_norm: comparator.infinityNorm && { threshold: comparator.infinityNorm.threshold },
    jensen_shannon_divergence: comparator.jensenShannonDivergence && { threshold: comparator.jensenShannonDivergence.threshold },
  });
  return Object.keys(out).length > 0 ? out : undefined;
}

function tagsOf(feature: FeatureSpec): string[] {
  const tags = (feature.annotations ?? []).map((a) => `${TAG_PREFIX}${a}`);
  for (const kind of COMPARATOR_KINDS) {
    for (const measure of EXTRA_COMPARATORS) {
      const threshold = feature[kind]?.[measure]?.threshold;
      if (threshold !== undefined) tags.push(`${TAG_PREFIX}${kind}.${measure}=${threshold}`);
    }
  }
  return tags;
}

function featureToProto(feature: FeatureSpec, warnings: string[]): TextProtoObject {
  let domainFields: TextProtoObject = {};
  if (feature.type === 'BOOL') {
    if (feature.domain && feature.domain.kind !== 'bool') warnings.push(`feature "${feature.name}": a BOOL feature is written with a bool_domain; its ${feature.domain.kind} domain is left out`);
    domainFields = { bool_domain: {} };
  } else if (feature.type === 'TEMPORAL') {
    if (feature.domain) warnings.push(`feature "${feature.name}": a TEMPORAL feature is written with a time_domain; its ${feature.domain.kind} domain is left out`);
    domainFields = { time_domain: { integer_format: 'UNIX_MICROSECONDS' } };
  } else if (feature.domain) {
    domainFields = domainToProto(feature.domain);
  }
  const tags = tagsOf(feature);
  const annotation = stripUndefined({ tag: tags.length > 0 ? tags : undefined, comment: feature.comment !== undefined ? [feature.comment] : undefined });
  return stripUndefined({
    name: feature.name,
    type: PROTO_TYPE[feature.type],
    presence: feature.presence && stripUndefined({ min_fraction: feature.presence.minFraction, min_count: feature.presence.minCount?.toString() }),
    value_count: feature.valueCount && stripUndefined({ min: feature.valueCount.min?.toString(), max: feature.valueCount.max?.toString() }),
    ...domainFields,
    distribution_constraints: feature.minDomainMass !== undefined ? { min_domain_mass: feature.minDomainMass } : undefined,
    annotation: Object.keys(annotation).length > 0 ? annotation : undefined,
    skew_comparator: comparatorToProto(feature.skewComparator),
    drift_comparator: comparatorToProto(feature.driftComparator),
    in_environment: feature.inEnvironment,
    not_in_environment: feature.notInEnvironment,
  });
}

/** The schema in TFDV's text format, fields in schema.proto's order, so the same schema always prints the same text. */
export function schemaToPbtxt(schema: SchemaPayload): SchemaText {
  const warnings: string[] = [];
  const constraints = schema.datasetConstraints;
  const value = stripUndefined({
    feature: schema.features.map((f) => featureToProto(f, warnings)),
    default_environment: schema.defaultEnvironments,
    dataset_constraints:
      constraints &&
      stripUndefined({
        min_examples_count: constraints.minExamplesCount?.toString(),
        max_examples_count: constraints.maxExamplesCount?.toString(),
        num_examples_drift_comparator:
          constraints.numExamplesDriftComparator &&
          stripUndefined({
            min_fraction_threshold: constraints.numExamplesDriftComparator.minFractionThreshold,
            max_fraction_threshold: constraints.numExamplesDriftComparator.maxFractionThreshold,
          }),
      }),
  });
  return { text: printTextProto(value, tfdvSchemaType()), warnings };
}

// ---- reading ---------------------------------------------------------------------------------------

export interface ImportedSchema {
  schema: SchemaPayload;
  /** What the text holds that mlpipe's schema has no place for, each `file:line:column: what`. */
  warnings: string[];
}

type ProtoPath = readonly PropertyKey[];

function asObject(value: TextProtoValue | undefined): TextProtoObject | undefined {
  return value !== undefined && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
}

function asList(value: TextProtoValue | undefined): TextProtoValue[] {
  return Array.isArray(value) ? value : [];
}

function asStrings(value: TextProtoValue | undefined): string[] | undefined {
  const strings = asList(value).filter((v): v is string => typeof v === 'string');
  return strings.length > 0 ? strings : undefined;
}

/** Reads one text; `at` gives the `file:line:column` of a path in it. */
class SchemaReader {
  readonly warnings: string[] = [];

  constructor(
    private readonly at: (path: ProtoPath) => string,
    private readonly namedDomains: Map<string, { domain: TextProtoObject; field: string }>,
  ) {}

  warn(path: ProtoPath, what: string): void {
    this.warnings.push(`${this.at(path)}: ${what}`);
  }

  fail(path: ProtoPath, what: string): never {
    throw new UserInputError(`${this.at(path)}: ${what}`);
  }

  /** An int64 (text format gives it as decimal digits) as a number, refused beyond 2^53. */
  int(value: TextProtoValue | undefined, path: ProtoPath): number | undefined {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isSafeInteger(n)) this.fail(path, `${String(value)} is beyond the integers mlpipe's schema holds exactly (±2^53)`);
    return n;
  }

  number(value: TextProtoValue | undefined): number | undefined {
    return typeof value === 'number' ? value : undefined;
  }

  bool(value: TextProtoValue | undefined): boolean | undefined {
    return typeof value === 'boolean' ? value : undefined;
  }

  feature(proto: TextProtoObject, path: ProtoPath): FeatureSpec {
    const name = proto.name;
    if (typeof name !== 'string' || name === '') this.fail(path, 'a feature without a name');
    const where = `feature "${name}"`;
    const dropped = (field: string, why: string) => this.warn([...path, field], `${where}: ${field} is not kept (${why})`);
    for (const [field, why] of Object.entries(UNKEPT_FEATURE_FIELDS)) if (proto[field] !== undefined) dropped(field, why);

    let type: FeatureSpec['type'] = proto.type === 'INT' ? 'INT' : proto.type === 'FLOAT' ? 'FLOAT' : proto.type === 'BYTES' ? 'STRING' : 'OTHER';
    let domain: Domain | undefined;
    let domainField = DOMAIN_FIELDS.find((f) => proto[f] !== undefined);
    let domainProto = domainField && asObject(proto[domainField]);
    let domainPath: ProtoPath = domainField ? [...path, domainField] : path;
    if (typeof proto.domain === 'string') {
      const named = this.namedDomains.get(proto.domain);
      if (!named) this.fail([...path, 'domain'], `${where} refers to domain "${proto.domain}", which the schema does not define (string_domain, int_domain or float_domain with that name)`);
      domainField = named.field;
      domainProto = named.domain;
      domainPath = [...path, 'domain'];
    }
    if (domainField === 'time_domain' || domainField === 'time_of_day_domain') {
      type = 'TEMPORAL';
    } else if (domainField === 'bool_domain' && type === 'INT') {
      type = 'BOOL';
      domain = { kind: 'bool' };
    } else if (domainField && domainProto) {
      domain = this.domain(domainField, domainProto, domainPath, where);
    }

    const presence = asObject(proto.presence);
    const shape = asObject(proto.shape);
    const valueCount = asObject(proto.value_count);
    const dims = asList(shape?.dim).map((d, i) => this.int(asObject(d)?.size, [...path, 'shape', 'dim', i]) ?? 0);
    const fixed = shape ? dims.reduce((a, b) => a * b, 1) : undefined;
    const annotation = asObject(proto.annotation);
    const comments = asStrings(annotation?.comment);
    const distribution = asObject(proto.distribution_constraints);
    if (annotation?.extra_metadata !== undefined) dropped('annotation', 'its extra_metadata has no place in mlpipe\'s schema');

    const feature: FeatureSpec = {
      name,
      type,
      presence: presence && withoutUndefined({ minFraction: this.number(presence.min_fraction), minCount: this.int(presence.min_count, [...path, 'presence', 'min_count']) }),
      valueCount:
        fixed !== undefined
          ? { min: fixed, max: fixed }
          : valueCount && withoutUndefined({ min: this.int(valueCount.min, [...path, 'value_count', 'min']), max: this.int(valueCount.max, [...path, 'value_count', 'max']) }),
      domain,
      minDomainMass: this.number(distribution?.min_domain_mass),
      inEnvironment: asStrings(proto.in_environment),
      notInEnvironment: asStrings(proto.not_in_environment),
      comment: comments?.join('\n'),
    };
    this.tags(asStrings(annotation?.tag) ?? [], [...path, 'annotation', 'tag'], feature, where);
    for (const kind of COMPARATOR_KINDS) {
      const given = asObject(proto[PROTO_COMPARATOR[kind]]);
      if (given) this.comparator(given, [...path, PROTO_COMPARATOR[kind]], feature, kind, where);
    }
    return withoutUndefined(feature);
  }

  private domain(field: string, proto: TextProtoObject, path: ProtoPath, where: string): Domain | undefined {
    switch (field) {
      case 'int_domain':
        return withoutUndefined<Domain>({ kind: 'int', min: this.int(proto.min, [...path, 'min']), max: this.int(proto.max, [...path, 'max']), isCategorical: this.bool(proto.is_categorical) });
      case 'float_domain':
        return withoutUndefined<Domain>({
          kind: 'float',
          min: this.number(proto.min),
          max: this.number(proto.max),
          disallowNan: this.bool(proto.disallow_nan),
          disallowInf: this.bool(proto.disallow_inf),
        });
      case 'string_domain':
        return { kind: 'string', values: asStrings(proto.value) ?? [] };
      case 'bool_domain': {
        // A bool encoded as text: its two spellings are the values the feature may take.
        const values = [proto.true_value, proto.false_value].filter((v): v is string => typeof v === 'string');
        return values.length > 0 ? { kind: 'string', values } : undefined;
      }
      default:
        this.warn(path, `${where}: ${field} is not kept (mlpipe validates int, float, string, bool and time domains)`);
        return undefined;
    }
  }

  private tags(tags: string[], path: ProtoPath, feature: FeatureSpec, where: string): void {
    const annotations: NonNullable<FeatureSpec['annotations']> = [];
    tags.forEach((tag, i) => {
      const body = tag.startsWith(TAG_PREFIX) ? tag.slice(TAG_PREFIX.length) : undefined;
      if (body === 'idLike' || body === 'freeText') {
        annotations.push(body);
        return;
      }
      const threshold = body && /^(skewComparator|driftComparator)\.(populationStabilityIndex|normalizedWasserstein)=(.+)$/.exec(body);
      const value = threshold ? Number(threshold[3]) : NaN;
      if (threshold && Number.isFinite(value)) {
        const kind = threshold[1] as (typeof COMPARATOR_KINDS)[number];
        const measure = threshold[2] as (typeof EXTRA_COMPARATORS)[number];
        feature[kind] = { ...feature[kind], [measure]: { threshold: value } };
        return;
      }
      this.warn([...path, i], `${where}: tag "${tag}" is not kept (mlpipe keeps only its own mlpipe: tags)`);
    });
    if (annotations.length > 0) feature.annotations = annotations;
  }

  private comparator(proto: TextProtoObject, path: ProtoPath, feature: FeatureSpec, kind: (typeof COMPARATOR_KINDS)[number], where: string): void {
    const threshold = (measure: string) => this.number(asObject(proto[measure])?.threshold);
    const infinityNorm = threshold('infinity_norm');
    const jensenShannon = threshold('jensen_shannon_divergence');
    if (proto.normalized_abs_difference !== undefined) this.warn([...path, 'normalized_abs_difference'], `${where}: normalized_abs_difference is not kept (mlpipe has no such measure)`);
    if (asObject(proto.jensen_shannon_divergence)?.source !== undefined) {
      this.warn([...path, 'jensen_shannon_divergence', 'source'], `${where}: jensen_shannon_divergence.source is not kept (mlpipe's divergence has one histogram)`);
    }
    const comparator = withoutUndefined({
      ...feature[kind],
      infinityNorm: infinityNorm !== undefined ? { threshold: infinityNorm } : undefined,
      jensenShannonDivergence: jensenShannon !== undefined ? { threshold: jensenShannon } : undefined,
    });
    if (Object.keys(comparator).length > 0) feature[kind] = comparator;
  }
}

const DOMAIN_FIELDS = [
  'int_domain',
  'float_domain',
  'string_domain',
  'bool_domain',
  'struct_domain',
  'natural_language_domain',
  'image_domain',
  'audio_domain',
  'video_domain',
  'content_chunk_domain',
  'mid_domain',
  'url_domain',
  'time_domain',
  'time_of_day_domain',
];

const UNKEPT_FEATURE_FIELDS: Record<string, string> = {
  deprecated: 'mlpipe has no lifecycle stages: the feature is validated',
  lifecycle_stage: 'mlpipe has no lifecycle stages: the feature is validated',
  group_presence: 'mlpipe has no sequences',
  value_counts: 'mlpipe validates one level of values per row',
  unique_constraints: 'mlpipe has no unique-value constraints',
  validation_derived_source: 'mlpipe has no derived features',
  sequence_metadata: 'mlpipe has no sequences',
};

const UNKEPT_SCHEMA_FIELDS: Record<string, string> = {
  sparse_feature: 'mlpipe has no sparse features',
  weighted_feature: 'mlpipe has no weighted features',
  annotation: 'mlpipe keeps annotations of features only',
  represent_variable_length_as_ragged: 'a TensorFlow tensor setting',
  tensor_representation_group: 'a TensorFlow tensor setting',
};

/** Drops the keys whose value is undefined, so an imported schema compares and prints as a written one. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** Where a path of the mlpipe schema lies in the text: the feature's own field when it maps one to one. */
function protoPathOf(path: readonly PropertyKey[]): ProtoPath {
  if (path[0] === 'features' && typeof path[1] === 'number') {
    const field = { name: 'name', presence: 'presence', valueCount: 'value_count', minDomainMass: 'distribution_constraints' }[String(path[2])];
    return field ? ['feature', path[1], field] : ['feature', path[1]];
  }
  if (path[0] === 'datasetConstraints') return ['dataset_constraints'];
  if (path[0] === 'defaultEnvironments') return ['default_environment'];
  return [];
}

/**
 * Reads TFDV's text format into mlpipe's schema. A syntax error, an unknown field, a reference to an
 * undefined domain or a value out of range is a UserInputError naming `file:line:column`.
 */
export function schemaFromPbtxt(text: string, file = SCHEMA_PBTXT_FILE_NAME): ImportedSchema {
  let parsed: ReturnType<typeof parseTextProto>;
  try {
    parsed = parseTextProto(text, tfdvSchemaType(), file);
  } catch (err) {
    if (err instanceof TextProtoError) throw new UserInputError(err.message);
    throw err;
  }
  const at = (path: ProtoPath) => {
    const position = path.length > 0 ? parsed.positionOf(path) : undefined;
    return position ? `${file}:${position.line}:${position.column}` : file;
  };
  const proto = parsed.value;
  const namedDomains = new Map<string, { domain: TextProtoObject; field: string }>();
  for (const field of ['string_domain', 'int_domain', 'float_domain']) {
    for (const domain of asList(proto[field])) {
      const named = asObject(domain);
      if (named && typeof named.name === 'string') namedDomains.set(named.name, { domain: named, field });
    }
  }
  const reader = new SchemaReader(at, namedDomains);
  for (const [field, why] of Object.entries(UNKEPT_SCHEMA_FIELDS)) if (proto[field] !== undefined) reader.warn([field], `${field} is not kept (${why})`);
  const constraints = asObject(proto.dataset_constraints);
  if (constraints?.num_examples_version_comparator !== undefined) {
    reader.warn(['dataset_constraints', 'num_examples_version_comparator'], 'dataset_constraints.num_examples_version_comparator is not kept (mlpipe compares example counts across spans, not versions)');
  }
  const driftComparator = asObject(constraints?.num_examples_drift_comparator);
  const numExamplesDriftComparator = driftComparator && {
    minFractionThreshold: reader.number(driftComparator.min_fraction_threshold),
    maxFractionThreshold: reader.number(driftComparator.max_fraction_threshold),
  };
  const datasetConstraints = constraints && {
    minExamplesCount: reader.int(constraints.min_examples_count, ['dataset_constraints', 'min_examples_count']),
    maxExamplesCount: reader.int(constraints.max_examples_count, ['dataset_constraints', 'max_examples_count']),
    numExamplesDriftComparator: numExamplesDriftComparator && withoutUndefined(numExamplesDriftComparator),
  };
  const schema = withoutUndefined({
    version: 1 as const,
    features: asList(proto.feature).map((f, i) => reader.feature(asObject(f) ?? {}, ['feature', i])),
    defaultEnvironments: asStrings(proto.default_environment),
    datasetConstraints: datasetConstraints && withoutUndefined(datasetConstraints),
  });
  const checked = SchemaPayloadSchema.safeParse(schema);
  if (!checked.success) {
    throw new UserInputError(checked.error.issues.map((issue) => `${at(protoPathOf(issue.path))}: ${issuePath(issue.path)}: ${issue.message}`).join('; '));
  }
  return { schema: checked.data, warnings: reader.warnings };
}
