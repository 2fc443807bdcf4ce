import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { z } from 'zod';
import { sqlString } from '../../components/data/sql';
import { ID_LIKE_DISTINCT_FRACTION, ID_LIKE_MIN_ROWS, inferSchema } from '../../components/schema-gen/infer-schema';
import { SCHEMA_FILE_NAME, SchemaPayloadSchema, type FeatureSpec, type SchemaPayload } from '../../components/schema-gen/payload';
import { SCHEMA_PBTXT_FILE_NAME, schemaFromPbtxt } from '../../components/schema-gen/schema-pbtxt';
import { INFERRED_BY_PROPERTY, SchemaGen, SchemaGenParametersSchema } from '../../components/schema-gen/spec';
import { STATISTICS_FILE_NAME, type ExampleStatistics, type SplitStatistics } from '../../components/statistics-gen/payload';
import { runExecutorForTest, type ExecutorTestRun } from '../support/executor-harness';
import { tempDir } from '../support/tmp';
import { rejects } from '../support/user-input-errors';
import { openTestDb, splitStatistics, statisticsPayload } from './example-validator-statistics';
import { vegaFile } from './vega-data';

type Row = Record<string, string | number | null>;
const PENGUINS = vegaFile('penguins.json');
const penguinRows = async (): Promise<Row[]> => JSON.parse(await readFile(PENGUINS, 'utf8')) as Row[];

async function writeStatistics(statistics: ExampleStatistics | Record<string, unknown>): Promise<string> {
  const dir = await tempDir('schema-gen-stats');
  await writeFile(path.join(dir, STATISTICS_FILE_NAME), JSON.stringify(statistics));
  return dir;
}

async function inferred(statistics: ExampleStatistics | Record<string, unknown>, parameters: z.input<typeof SchemaGenParametersSchema> = {}): Promise<{ run: ExecutorTestRun; schema: SchemaPayload }> {
  const run = await runExecutorForTest(SchemaGen, { parameters, inputs: { statistics: [await writeStatistics(statistics)] } });
  const schema = SchemaPayloadSchema.parse(JSON.parse(await readFile(path.join(run.outputDirs.schema!, SCHEMA_FILE_NAME), 'utf8')));
  return { run, schema };
}

function feature(schema: SchemaPayload, name: string): FeatureSpec {
  const found = schema.features.find((f) => f.name === name);
  assert.ok(found, `feature ${name} in the schema`);
  return found;
}

const sortedDistinct = (values: Array<string | number | null>) => [...new Set(values.filter((v): v is string => typeof v === 'string'))].sort();

describe('SchemaGen: inference from statistics of real data', function () {
  let db: DuckDBConnection;
  let close: () => void;
  let penguins: ExampleStatistics;

  before(async () => {
    ({ db, close } = await openTestDb());
    await db.run(`CREATE TABLE penguins AS SELECT * FROM read_json(${sqlString(PENGUINS)})`);
    penguins = statisticsPayload([await splitStatistics(db, 'train', 'penguins')]);
  });
  after(() => close?.());

  it('penguins: types, presence, valency, vocabularies and no vocabulary for whole numbers; schema.pbtxt says the same', async () => {
    const rows = await penguinRows();
    const { run, schema } = await inferred(penguins, { label: 'Species' });
    assert.deepEqual(schema.features.map((f) => [f.name, f.type]), [
      ['Species', 'STRING'],
      ['Island', 'STRING'],
      ['Beak Length (mm)', 'FLOAT'],
      ['Beak Depth (mm)', 'FLOAT'],
      ['Flipper Length (mm)', 'INT'],
      ['Body Mass (g)', 'INT'],
      ['Sex', 'STRING'],
    ]);
    for (const f of schema.features) {
      const missing = rows.filter((r) => r[f.name] === null).length;
      // TFDV's rule: min_fraction 1 only for a feature no row lacks; min_count 1 for any present one.
      assert.deepEqual(f.presence, missing === 0 ? { minFraction: 1, minCount: 1 } : { minCount: 1 }, `${f.name}: ${missing} rows lack it`);
      assert.deepEqual(f.valueCount, { min: 1, max: 1 }, `${f.name} is a scalar`);
    }
    assert.deepEqual(feature(schema, 'Island').domain, { kind: 'string', values: sortedDistinct(rows.map((r) => r.Island!)) });
    assert.deepEqual(feature(schema, 'Sex').domain, { kind: 'string', values: ['.', 'FEMALE', 'MALE'] });
    assert.deepEqual(feature(schema, 'Species').notInEnvironment, ['SERVING'], 'the label is not served');
    assert.equal(feature(schema, 'Island').notInEnvironment, undefined);
    assert.deepEqual(schema.defaultEnvironments, ['TRAINING', 'SERVING']);

    const flipper = rows.map((r) => r['Flipper Length (mm)']).filter((v) => v !== null);
    assert.ok(new Set(flipper).size <= 100, 'few enough distinct whole numbers that TFDV would take the strings for a vocabulary');
    assert.equal(feature(schema, 'Flipper Length (mm)').domain, undefined, 'a column of whole numbers gets no vocabulary');
    assert.deepEqual(feature(schema, 'Beak Length (mm)').domain, { kind: 'float', disallowNan: true, disallowInf: true }, 'no NaN or infinity in training: both disallowed');
    assert.equal(feature(schema, 'Beak Length (mm)').annotations, undefined);

    const pbtxt = await readFile(path.join(run.outputDirs.schema!, SCHEMA_PBTXT_FILE_NAME), 'utf8');
    assert.deepEqual(schemaFromPbtxt(pbtxt).schema, schema, 'schema.pbtxt holds the same schema');
    assert.ok(
      pbtxt.includes(
        'feature {\n  name: "Island"\n  value_count {\n    min: 1\n    max: 1\n  }\n  type: BYTES\n  string_domain {\n    value: "Biscoe"\n    value: "Dream"\n    value: "Torgersen"\n  }\n  presence {\n    min_fraction: 1\n    min_count: 1\n  }\n' +
          '  annotation {\n    tag: "mlpipe:skewComparator.populationStabilityIndex=0.35"\n    tag: "mlpipe:driftComparator.populationStabilityIndex=0.35"\n  }\n' +
          '  skew_comparator {\n    infinity_norm {\n      threshold: 0.2\n    }\n    jensen_shannon_divergence {\n      threshold: 0.1\n    }\n  }\n' +
          '  drift_comparator {\n    infinity_norm {\n      threshold: 0.2\n    }\n    jensen_shannon_divergence {\n      threshold: 0.1\n    }\n  }\n}\n',
      ),
      pbtxt,
    );
    assert.deepEqual(run.result.properties?.schema, { [INFERRED_BY_PROPERTY]: 'test-SchemaGen' });
    assert.deepEqual(run.result.summary?.vocabularies, ['Species', 'Island', 'Sex']);
  });

  it('identifiers are flagged, big vocabularies are free text, small ones categorical (zipcodes: 42,049 rows)', async () => {
    await db.run(`CREATE TABLE zipcodes AS SELECT * FROM read_csv(${sqlString(vegaFile('zipcodes.csv'))})`);
    const stats = statisticsPayload([await splitStatistics(db, 'train', 'zipcodes')]);
    const counts = (await db.runAndReadAll(`SELECT COUNT(*) AS n, COUNT(DISTINCT zip_code) AS zips, COUNT(DISTINCT city) AS cities, COUNT(DISTINCT state) AS states FROM zipcodes`)).getRowObjectsJS()[0]!;
    assert.ok(Number(counts.zips) >= ID_LIKE_DISTINCT_FRACTION * Number(counts.n) && Number(counts.n) >= ID_LIKE_MIN_ROWS);
    assert.ok(Number(counts.cities) > 100 && Number(counts.states) <= 100);

    const { schema, run } = await inferred(stats);
    assert.deepEqual(feature(schema, 'zip_code').annotations, ['idLike']);
    assert.equal(feature(schema, 'zip_code').domain, undefined, 'an identifier gets no 42,049-value domain');
    assert.deepEqual(feature(schema, 'city').annotations, ['freeText']);
    assert.equal(feature(schema, 'city').domain, undefined);
    const states = (await db.runAndReadAll(`SELECT DISTINCT state FROM zipcodes WHERE state IS NOT NULL ORDER BY state`)).getRowObjectsJS().map((r) => String(r.state));
    assert.deepEqual(feature(schema, 'state').domain, { kind: 'string', values: states });
    assert.equal(feature(schema, 'latitude').annotations, undefined, 'a float column of distinct values is a measurement, not an identifier');
    assert.deepEqual(run.result.summary?.idLike, ['zip_code']);
    assert.deepEqual(run.result.summary?.freeText, ['city', 'county']);

    // A vocabulary limit above what the statistics rank: no domain, and the summary says what to raise.
    const wide = await inferred(stats, { maxStringDomainSize: 100_000 });
    assert.equal(feature(wide.schema, 'city').domain, undefined);
    assert.equal(feature(wide.schema, 'city').annotations, undefined);
    assert.match(String((wide.run.result.summary?.notes as string[]).find((n) => n.includes('"city"'))), /18931 distinct values, maxStringDomainSize is 100000, but the statistics do not rank every value/);
  });

  it('a string column with 3 values in 10,320 rows is categorical; NaN or infinity in training leaves its disallow unset', async () => {
    // Real penguins, 30 times over, with NaN planted where the beak depth was missing and infinities in a column of their own.
    const planted = `SELECT Island, COALESCE("Beak Depth (mm)", 'NaN'::DOUBLE) AS depth,
        CASE WHEN "Beak Length (mm)" > 45 THEN 'Infinity'::DOUBLE WHEN "Beak Length (mm)" > 40 THEN '-Infinity'::DOUBLE ELSE "Beak Length (mm)" END AS ratio
      FROM penguins, range(30)`;
    const stats = statisticsPayload([await splitStatistics(db, 'train', `(${planted})`)]);
    assert.equal(stats.splits[0]!.numExamples, 10_320);
    const { schema } = await inferred(stats);
    assert.deepEqual(feature(schema, 'Island').domain, { kind: 'string', values: ['Biscoe', 'Dream', 'Torgersen'] });
    assert.equal(feature(schema, 'Island').annotations, undefined);
    assert.deepEqual(feature(schema, 'depth').domain, { kind: 'float', disallowInf: true }, 'NaN was seen: only infinity is disallowed');
    assert.deepEqual(feature(schema, 'ratio').domain, { kind: 'float', disallowNan: true }, 'infinities were seen: only NaN is disallowed');
  });

  it('inferNumericBounds, maxStringDomainSize and dataset constraints', async () => {
    const bounds = (await db.runAndReadAll(`SELECT MIN("Body Mass (g)") AS lo, MAX("Body Mass (g)") AS hi, MIN("Beak Depth (mm)") AS dlo, MAX("Beak Depth (mm)") AS dhi FROM penguins`)).getRowObjectsJS()[0]!;
    const { schema } = await inferred(penguins, { inferNumericBounds: true, maxStringDomainSize: 2, datasetConstraints: { minExamplesCount: 100 } });
    assert.deepEqual(feature(schema, 'Body Mass (g)').domain, { kind: 'int', min: Number(bounds.lo), max: Number(bounds.hi) });
    assert.deepEqual(feature(schema, 'Beak Depth (mm)').domain, { kind: 'float', min: Number(bounds.dlo), max: Number(bounds.dhi), disallowNan: true, disallowInf: true });
    assert.deepEqual(feature(schema, 'Island').annotations, ['freeText'], '3 islands are more than maxStringDomainSize 2');
    assert.deepEqual(schema.datasetConstraints, { minExamplesCount: 100 });
    await rejects(inferred(penguins, { datasetConstraints: { minExamplesCount: 10, maxExamplesCount: 5 } }), /datasetConstraints\.minExamplesCount: minExamplesCount is above maxExamplesCount/);
  });

  it('several splits: evidence adds up (a value only in eval joins the vocabulary, missing rows in one split drop minFraction)', async () => {
    const train = await splitStatistics(db, 'train', `(SELECT * FROM penguins WHERE Island <> 'Torgersen' AND "Body Mass (g)" IS NOT NULL)`);
    const evalSplit = await splitStatistics(db, 'eval', `(SELECT * FROM penguins WHERE Island = 'Torgersen')`);
    const stats = statisticsPayload([train, evalSplit]);
    const nullsInEval = (await db.runAndReadAll(`SELECT COUNT(*) AS n FROM penguins WHERE Island = 'Torgersen' AND "Body Mass (g)" IS NULL`)).getRowObjectsJS()[0]!;

    const trainOnly = (await inferred(stats)).schema;
    assert.deepEqual(feature(trainOnly, 'Island').domain, { kind: 'string', values: ['Biscoe', 'Dream'] }, 'the default is the train split alone');
    assert.deepEqual(feature(trainOnly, 'Body Mass (g)').presence, { minFraction: 1, minCount: 1 });
    const all = (await inferred(stats, { splits: 'all' })).schema;
    assert.deepEqual(feature(all, 'Island').domain, { kind: 'string', values: ['Biscoe', 'Dream', 'Torgersen'] });
    assert.deepEqual(feature(all, 'Species').domain, { kind: 'string', values: ['Adelie', 'Chinstrap', 'Gentoo'] });
    assert.equal(Number(nullsInEval.n), 1);
    assert.deepEqual(feature(all, 'Body Mass (g)').presence, { minCount: 1 }, 'a row of eval lacks it');
    assert.deepEqual((await inferred(stats, { splits: 'all', excludeSplits: ['train'] })).schema, (await inferred(stats, { splits: ['eval'] })).schema);

    await rejects(inferred(stats, { splits: ['test'] }), /the statistics have no split test \(they have train, eval\)/);
    await rejects(inferred(stats, { splits: ['train'], excludeSplits: ['train'] }), /excludeSplits leaves none of the splits train/);
    await rejects(inferred(stats, { label: 'species' }), /label "species" is not a feature of split\(s\) train \(features: Species, Island, /);
    await rejects(inferred({ version: 1, splits: [] }), /SchemaGen statistics: .*statistics\.json does not match its format: version: /);
  });

  it('valency of list features as TFDV infers it: fixed length n → {n, n}, variable → {min: 1}, possibly empty → none', () => {
    // List features described on top of a real feature's statistics (the DuckDB helper computes scalar columns).
    const base = penguins.splits[0]!.features.find((f) => f.name === 'Species')!;
    const list = (name: string, min: number, max: number) => ({ ...base, name, valency: 'list' as const, valueCounts: { ...base.valueCounts, min, max } });
    const split: SplitStatistics = { ...penguins.splits[0]!, features: [list('pair', 2, 2), list('varying', 1, 3), list('maybeEmpty', 0, 3)] };
    const { schema } = inferSchema([split], { maxStringDomainSize: 100, inferNumericBounds: false });
    assert.deepEqual(schema.features.map((f) => [f.name, f.valueCount]), [
      ['pair', { min: 2, max: 2 }],
      ['varying', { min: 1 }],
      ['maybeEmpty', undefined],
    ]);
  });
});
