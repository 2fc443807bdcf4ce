import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { UserInputError } from '../../dsl/executor';
import { SchemaPayloadSchema, type SchemaPayload } from '../../components/schema-gen/payload';
import { parseSchemaJson } from '../../components/schema-gen/schema-file';
import { schemaFromPbtxt, schemaToPbtxt } from '../../components/schema-gen/schema-pbtxt';
import { REPO_ROOT } from '../support/repo-root';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'tfx-schemas');
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name), 'utf8');

/** Every field mlpipe's schema has, each set to a value other than its default. */
const EVERY_FIELD: SchemaPayload = SchemaPayloadSchema.parse({
  version: 1,
  features: [
    {
      name: 'fare',
      type: 'FLOAT',
      presence: { minFraction: 0.95, minCount: 10 },
      valueCount: { min: 1, max: 1 },
      domain: { kind: 'float', min: 0, max: 999.5, disallowNan: true, disallowInf: false },
      skewComparator: { infinityNorm: { threshold: 0.1 }, normalizedWasserstein: { threshold: 0.2 } },
      driftComparator: { jensenShannonDivergence: { threshold: 0.05 }, populationStabilityIndex: { threshold: 0.25 } },
      comment: 'in dollars,\nbefore "tips"',
    },
    { name: 'payment_type', type: 'STRING', domain: { kind: 'string', values: ['Cash', 'Credit Card', 'ünïcode'] }, minDomainMass: 0.99, inEnvironment: ['TRAINING'], notInEnvironment: ['SERVING'] },
    { name: 'trip_seconds', type: 'INT', valueCount: { min: 1 }, domain: { kind: 'int', min: -5, max: 86_400, isCategorical: false } },
    { name: 'pickup_area', type: 'INT', domain: { kind: 'int', isCategorical: true } },
    { name: 'tolls', type: 'BOOL', domain: { kind: 'bool' } },
    { name: 'trip_start', type: 'TEMPORAL', presence: { minCount: 0 } },
    { name: 'receipt', type: 'OTHER' },
    { name: 'taxi_id', type: 'STRING', valueCount: { min: 2, max: 2 }, annotations: ['idLike'] },
    { name: 'notes', type: 'STRING', annotations: ['freeText'] },
  ],
  defaultEnvironments: ['TRAINING', 'SERVING'],
  datasetConstraints: { minExamplesCount: 1000, maxExamplesCount: 9_007_199_254_740_991, numExamplesDriftComparator: { minFractionThreshold: 0.5, maxFractionThreshold: 2 } },
});

function userError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: Error) => {
    assert.ok(err instanceof UserInputError, `expected a UserInputError, got ${err.name}: ${err.message}`);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('schema.pbtxt: TFDV text format to and from schema.json', () => {
  it('every field round-trips: ours → pbtxt → ours is equal, and printing is stable', () => {
    const written = schemaToPbtxt(EVERY_FIELD);
    assert.deepEqual(written.warnings, []);
    const read = schemaFromPbtxt(written.text);
    assert.deepEqual(read.warnings, []);
    assert.deepEqual(read.schema, EVERY_FIELD);
    assert.equal(schemaToPbtxt(read.schema).text, written.text);
    // The parts TFDV reads in its own terms.
    assert.match(written.text, /name: "tolls"\n {2}type: INT\n {2}bool_domain \{\n {2}\}/);
    assert.match(written.text, /name: "trip_start"\n {2}type: INT\n {2}presence \{\n {4}min_count: 0\n {2}\}\n {2}time_domain \{\n {4}integer_format: UNIX_MICROSECONDS\n {2}\}/);
    assert.match(written.text, /distribution_constraints \{\n {4}min_domain_mass: 0\.99\n {2}\}/);
    assert.match(written.text, /annotation \{\n {4}tag: "mlpipe:skewComparator\.normalizedWasserstein=0\.2"\n {4}tag: "mlpipe:driftComparator\.populationStabilityIndex=0\.25"\n {4}comment: "in dollars,\\nbefore \\"tips\\""\n {2}\}/);
    assert.match(written.text, /skew_comparator \{\n {4}infinity_norm \{\n {6}threshold: 0\.1\n {4}\}\n {2}\}/);
    assert.match(
      written.text,
      /dataset_constraints \{\n {2}num_examples_drift_comparator \{\n {4}min_fraction_threshold: 0\.5\n {4}max_fraction_threshold: 2\n {2}\}\n {2}min_examples_count: 1000\n {2}max_examples_count: 9007199254740991\n\}/,
    );
  });

  it("imports TFX SchemaGen's penguin schema: named string domains inline, shape [1] as one value per row", () => {
    const { schema, warnings } = schemaFromPbtxt(fixture('penguin-schema.pbtxt'), 'penguin-schema.pbtxt');
    assert.deepEqual(warnings, []);
    const always = { minFraction: 1, minCount: 1 };
    const one = { min: 1, max: 1 };
    assert.deepEqual(schema, {
      version: 1,
      features: [
        { name: 'body_mass_g', type: 'INT', presence: always, valueCount: one },
        { name: 'culmen_depth_mm', type: 'FLOAT', presence: always, valueCount: one },
        { name: 'culmen_length_mm', type: 'FLOAT', presence: always, valueCount: one },
        { name: 'flipper_length_mm', type: 'INT', presence: always, valueCount: one },
        { name: 'island', type: 'STRING', presence: always, valueCount: one, domain: { kind: 'string', values: ['Biscoe', 'Dream', 'Torgersen'] } },
        { name: 'sex', type: 'STRING', presence: always, valueCount: one, domain: { kind: 'string', values: ['FEMALE', 'MALE', '.'] } },
        { name: 'species', type: 'STRING', presence: always, valueCount: one, domain: { kind: 'string', values: ['Adelie', 'Chinstrap', 'Gentoo'] } },
      ],
    });
  });

  it("imports TFX SchemaGen's taxi schema: every feature, the company domain's values in the file's order, shapes only where TFDV wrote them", () => {
    const text = fixture('taxi-schema.pbtxt');
    const { schema } = schemaFromPbtxt(text, 'taxi-schema.pbtxt');
    assert.equal(schema.features.length, (text.match(/^feature \{/gm) ?? []).length);
    const company = schema.features.find((f) => f.name === 'company')!;
    const companyBlock = /string_domain \{\n {2}name: "company"\n([\s\S]*?)\n\}/.exec(text)![1]!;
    const values = [...companyBlock.matchAll(/value: "(.*)"/g)].map((m) => m[1]);
    assert.equal(values.length, 61);
    assert.deepEqual(company.domain, { kind: 'string', values });
    assert.equal(company.valueCount, undefined, 'company has no shape in the file');
    assert.deepEqual(schema.features.find((f) => f.name === 'fare')!.valueCount, { min: 1, max: 1 });
    assert.deepEqual(
      schema.features.filter((f) => f.type === 'STRING').map((f) => f.name),
      ['company', 'payment_type'],
    );
  });

  it('what mlpipe has no place for is dropped with a warning naming line and column', () => {
    const text = [
      'feature {',
      '  name: "age"',
      '  type: INT',
      '  lifecycle_stage: DEPRECATED',
      '  annotation { tag: "user_feature" comment: "years" comment: "rounded down" }',
      '  skew_comparator { normalized_abs_difference { threshold: 0.1 } }',
      '}',
      'feature { name: "photo" type: BYTES image_domain { max_image_byte_size: 100 } }',
      'feature { name: "flag" type: BYTES bool_domain { true_value: "yes" false_value: "no" } }',
      'sparse_feature { name: "s" }',
      'dataset_constraints { num_examples_version_comparator { min_fraction_threshold: 0.5 } min_examples_count: 3 }',
    ].join('\n');
    const { schema, warnings } = schemaFromPbtxt(text, 'curated.pbtxt');
    assert.deepEqual(warnings, [
      'curated.pbtxt:10:1: sparse_feature is not kept (mlpipe has no sparse features)',
      'curated.pbtxt:11:23: dataset_constraints.num_examples_version_comparator is not kept (mlpipe compares example counts across spans, not versions)',
      'curated.pbtxt:4:3: feature "age": lifecycle_stage is not kept (mlpipe has no lifecycle stages: the feature is validated)',
      'curated.pbtxt:5:21: feature "age": tag "user_feature" is not kept (mlpipe keeps only its own mlpipe: tags)',
      'curated.pbtxt:6:21: feature "age": normalized_abs_difference is not kept (mlpipe has no such measure)',
      'curated.pbtxt:8:37: feature "photo": image_domain is not kept (mlpipe validates int, float, string, bool and time domains)',
    ]);
    assert.deepEqual(schema.features[0], { name: 'age', type: 'INT', comment: 'years\nrounded down' });
    assert.deepEqual(schema.features[2], { name: 'flag', type: 'STRING', domain: { kind: 'string', values: ['yes', 'no'] } });
    assert.deepEqual(schema.datasetConstraints, { minExamplesCount: 3 });
  });

  it('bad text is a UserInputError naming file, line and column', () => {
    userError(() => schemaFromPbtxt('feature {\n  name: "a"\n  type: INT\n', 's.pbtxt'), /^s\.pbtxt:4:1: expected "}" to close the message opened at 1:9/);
    userError(() => schemaFromPbtxt('feature {\n  name: "a"\n  colour: "red"\n}\n', 's.pbtxt'), /^s\.pbtxt:3:3: unknown field "colour" in tensorflow\.metadata\.v0\.Feature/);
    userError(() => schemaFromPbtxt('feature {\n  name: "a"\n  type: STRING\n}\n', 's.pbtxt'), /^s\.pbtxt:3:9: expected a value of enum tensorflow\.metadata\.v0\.FeatureType for field "type" \(TYPE_UNKNOWN, BYTES, INT, FLOAT, STRUCT\)/);
    userError(() => schemaFromPbtxt('feature {\n  name: "a"\n  type: BYTES\n  domain: "colours"\n}\n', 's.pbtxt'), /^s\.pbtxt:4:3: feature "a" refers to domain "colours", which the schema does not define/);
    userError(() => schemaFromPbtxt('feature { name: "a" }\nfeature {\n  name: "a"\n}\n', 's.pbtxt'), /^s\.pbtxt:3:3: features\[1\]\.name: feature "a" is listed twice/);
    userError(() => schemaFromPbtxt('feature { name: "a" presence { min_fraction: 1.5 } }', 's.pbtxt'), /^s\.pbtxt:1:21: features\[0\]\.presence\.minFraction: Too big: expected number to be <=1/);
    userError(() => schemaFromPbtxt('feature { type: INT }', 's.pbtxt'), /^s\.pbtxt:1:9: a feature without a name/);
    userError(() => schemaFromPbtxt('feature { name: "a" int_domain { max: 9007199254740993 } }', 's.pbtxt'), /^s\.pbtxt:1:34: 9007199254740993 is beyond the integers mlpipe's schema holds exactly/);
  });

  it('schema.json: a syntax error names line and column, a wrong field its JSON path', () => {
    userError(() => parseSchemaJson('{\n  "version": 1,\n  "features": [\n    { "name": "a", }\n  ]\n}\n', 'schema.json'), /^schema\.json:4:20: PropertyNameExpected \(not valid JSON\)/);
    userError(
      () => parseSchemaJson(JSON.stringify({ version: 1, features: [{ name: 'a', type: 'INT', colour: 'red' }] }), 'schema.json'),
      /^schema\.json: not an mlpipe schema \(components\/schema-gen\/payload\.ts\): features\[0\]\.colour: Unrecognized key: "colour"/,
    );
    userError(
      () => parseSchemaJson(JSON.stringify({ version: 1, features: [{ name: 'a', type: 'TEXT' }] }), 'schema.json'),
      /features\[0\]\.type: Invalid option: expected one of "INT"\|"FLOAT"\|"STRING"\|"BOOL"\|"TEMPORAL"\|"OTHER"/,
    );
  });
});
