import assert from 'node:assert/strict';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { sqlString } from '../../components/data/sql';
import { severities, type AnomalyKind } from '../../components/example-validator/anomaly-kinds';
import { validateSplit } from '../../components/example-validator/validate-split';
import type { Anomaly } from '../../components/example-validator/payload';
import type { SplitStatistics } from '../../components/statistics-gen/payload';
import { SchemaPayloadSchema, type FeatureSpec, type SchemaPayload } from '../../components/schema-gen/payload';
import { tempDir } from '../support/tmp';
import { openTestDb, splitStatistics } from './example-validator-statistics';
import { vegaFile } from './vega-data';

const DEFAULTS = severities({});
const pct = (part: number, whole: number) => `${Number(((100 * part) / whole).toPrecision(3))}%`;

function schemaOf(features: FeatureSpec[], extra: Partial<SchemaPayload> = {}): SchemaPayload {
  return SchemaPayloadSchema.parse({ version: 1, features, ...extra });
}

/** What a person reads first: kind, feature and severity of each anomaly, in order. */
const brief = (anomalies: Anomaly[]) => anomalies.map((a) => [a.kind, a.feature, a.severity]);

/** Penguins as a curated schema states it: the domains are the values each column has in the file. */
const PENGUINS_FEATURES: FeatureSpec[] = [
  { name: 'Species', type: 'STRING', presence: { minFraction: 1, minCount: 1 }, domain: { kind: 'string', values: ['Adelie', 'Chinstrap', 'Gentoo'] } },
  { name: 'Island', type: 'STRING', presence: { minFraction: 1, minCount: 1 }, domain: { kind: 'string', values: ['Biscoe', 'Dream', 'Torgersen'] } },
  { name: 'Beak Length (mm)', type: 'FLOAT', presence: { minCount: 1 }, domain: { kind: 'float', disallowNan: true, disallowInf: true } },
  { name: 'Beak Depth (mm)', type: 'FLOAT', presence: { minCount: 1 }, domain: { kind: 'float', disallowNan: true, disallowInf: true } },
  { name: 'Flipper Length (mm)', type: 'INT', presence: { minCount: 1 }, valueCount: { min: 1, max: 1 }, domain: { kind: 'int', min: 170, max: 235 } },
  { name: 'Body Mass (g)', type: 'INT', presence: { minCount: 1 } },
  // The file has one Sex of '.', a real data error: a domain mass of 0.99 tolerates it.
  { name: 'Sex', type: 'STRING', presence: { minFraction: 0.95 }, domain: { kind: 'string', values: ['FEMALE', 'MALE'] }, minDomainMass: 0.99 },
];

const WEATHER_FEATURES: FeatureSpec[] = [
  { name: 'date', type: 'TEMPORAL', presence: { minFraction: 1 } },
  { name: 'precipitation', type: 'FLOAT', presence: { minFraction: 1 }, domain: { kind: 'float', min: 0, disallowNan: true, disallowInf: true } },
  { name: 'temp_max', type: 'FLOAT', presence: { minFraction: 1 }, domain: { kind: 'float', min: -10, max: 40, disallowNan: true, disallowInf: true } },
  { name: 'temp_min', type: 'FLOAT', presence: { minFraction: 1 }, domain: { kind: 'float', disallowNan: true, disallowInf: true } },
  { name: 'wind', type: 'FLOAT', presence: { minFraction: 1 }, domain: { kind: 'float', min: 0, disallowNan: true, disallowInf: true } },
  { name: 'weather', type: 'STRING', presence: { minFraction: 1 }, domain: { kind: 'string', values: ['drizzle', 'fog', 'rain', 'snow', 'sun'] } },
];

describe('ExampleValidator: planted anomalies in real data (penguins, seattle-weather, flights)', function () {
  let db: DuckDBConnection;
  let close: () => void;
  const penguinsSchema = schemaOf(PENGUINS_FEATURES, { datasetConstraints: { minExamplesCount: 100 } });
  const weatherSchema = schemaOf(WEATHER_FEATURES);

  before(async () => {
    ({ db, close } = await openTestDb());
    await db.run(`CREATE TABLE penguins AS SELECT * FROM read_json(${sqlString(vegaFile('penguins.json'))})`);
    await db.run(`CREATE TABLE weather AS SELECT * FROM read_csv(${sqlString(vegaFile('seattle-weather.csv'))})`);
    await db.run(`CREATE TABLE flights AS SELECT * FROM read_parquet(${sqlString(vegaFile('flights-3m.parquet'))}) LIMIT 20000`);
  });
  after(() => close());

  const count = async (sql: string): Promise<number> => Number((await db.runAndReadAll(sql)).getRowObjectsJS()[0]!.n);
  const stats = (relation: string, name = 'eval'): Promise<SplitStatistics> => splitStatistics(db, name, relation);
  const validate = async (schema: SchemaPayload, relation: string, options: { environment?: string } = {}) =>
    validateSplit(schema, await stats(relation), { severities: DEFAULTS, ...options });

  it('the unchanged files have no anomaly against their schemas', async () => {
    assert.deepEqual(await validate(penguinsSchema, 'penguins'), []);
    assert.deepEqual(await validate(weatherSchema, 'weather'), []);
  });

  it("penguins' real '.' in Sex is an unexpected value once the domain must hold every value, with its exact share", async () => {
    const strict = schemaOf(PENGUINS_FEATURES.map((f) => (f.name === 'Sex' ? { ...f, minDomainMass: undefined } : f)));
    const dots = await count(`SELECT COUNT(*) AS n FROM penguins WHERE Sex = '.'`);
    const values = await count(`SELECT COUNT(Sex) AS n FROM penguins`);
    const [anomaly, ...rest] = await validate(strict, 'penguins');
    assert.deepEqual(rest, []);
    assert.deepEqual(brief([anomaly!]), [['ENUM_TYPE_UNEXPECTED_STRING_VALUES', 'Sex', 'ERROR']]);
    assert.equal(anomaly!.description, `Sex: ${pct(dots, values)} of values (${dots} of ${values}) are '.', not in the domain [FEMALE, MALE]`);
  });

  it('a new column is a WARNING naming it; a dropped column is SCHEMA_MISSING_COLUMN', async () => {
    const added = await validate(penguinsSchema, `(SELECT *, "Body Mass (g)" / 1000 AS "Body Mass (kg)" FROM penguins)`);
    assert.deepEqual(brief(added), [['SCHEMA_NEW_COLUMN', 'Body Mass (kg)', 'WARNING']]);
    assert.match(added[0]!.description, /^Body Mass \(kg\): a FLOAT column of split eval \(present in 342 of 344 rows\) is not in the schema/);

    const dropped = await validate(penguinsSchema, `(SELECT * EXCLUDE ("Sex") FROM penguins)`);
    assert.deepEqual(brief(dropped), [['SCHEMA_MISSING_COLUMN', 'Sex', 'ERROR']]);
    assert.match(dropped[0]!.description, /split eval has no such column \(its columns: Species, Island, .*Body Mass \(g\)\)$/);
  });

  it('out-of-domain categories: the exact fraction, each value, and min_domain_mass as TFDV applies it', async () => {
    const planted = `(SELECT * REPLACE (CASE WHEN Island = 'Torgersen' AND "Body Mass (g)" > 3700 THEN 'Torgersen2' ELSE Island END AS Island) FROM penguins)`;
    const moved = await count(`SELECT COUNT(*) AS n FROM ${planted} WHERE Island = 'Torgersen2'`);
    assert.ok(moved > 5 && moved < 25, `${moved} rows planted`);
    const [anomaly, ...rest] = await validate(penguinsSchema, planted);
    assert.deepEqual(rest, []);
    assert.deepEqual(brief([anomaly!]), [['ENUM_TYPE_UNEXPECTED_STRING_VALUES', 'Island', 'ERROR']]);
    assert.equal(anomaly!.description, `Island: ${pct(moved, 344)} of values (${moved} of 344) are 'Torgersen2', not in the domain [Biscoe, Dream, Torgersen]`);

    // Fires when the out-of-domain fraction exceeds 1 − minDomainMass, not when it equals or is below it.
    const withMass = (mass: number) => schemaOf(PENGUINS_FEATURES.map((f) => (f.name === 'Island' ? { ...f, minDomainMass: mass } : f)));
    const fraction = moved / 344;
    assert.deepEqual(await validate(withMass(1 - fraction - 0.001), planted), []);
    const tight = await validate(withMass(1 - fraction + 0.001), planted);
    assert.deepEqual(brief(tight), [['ENUM_TYPE_UNEXPECTED_STRING_VALUES', 'Island', 'ERROR']]);
    assert.match(tight[0]!.description, /; the schema allows at most [\d.]+% \(minDomainMass 0\.9\d+\)$/);
  });

  it('values the statistics do not rank count as outside the domain when there are more of them than unranked domain values', async () => {
    const split = await stats('penguins');
    const island = split.features.find((f) => f.name === 'Island')!;
    // Only the most frequent value ranked (Biscoe, 168): 2 unranked values, both in the domain → nothing.
    const cut = { ...split, features: split.features.map((f) => (f === island ? { ...f, rankHistogram: f.rankHistogram.slice(0, 1) } : f)) };
    assert.deepEqual(validateSplit(penguinsSchema, cut, { severities: DEFAULTS }), []);
    // A domain of Biscoe alone: the 2 unranked values are outside for certain, each at least once.
    const biscoeOnly = schemaOf(PENGUINS_FEATURES.map((f) => (f.name === 'Island' ? { ...f, domain: { kind: 'string', values: ['Biscoe'] } } : f)));
    const [anomaly] = validateSplit(biscoeOnly, cut, { severities: DEFAULTS });
    assert.equal(anomaly?.description, `Island: at least ${pct(2, 344)} of values (2 of 344) are 2 values the statistics do not rank, not in the domain [Biscoe]`);
  });

  it('a number column turned to text by one bad value is UNEXPECTED_DATA_TYPE alone', async () => {
    const dir = await tempDir('weather-text');
    const csv = path.join(dir, 'weather.csv');
    await db.run(`COPY (SELECT * REPLACE (CASE WHEN date = DATE '2013-07-04' THEN 'n/a' ELSE CAST(precipitation AS VARCHAR) END AS precipitation) FROM weather) TO ${sqlString(csv)} (HEADER)`);
    await db.run(`CREATE TABLE weather_text AS SELECT * FROM read_csv(${sqlString(csv)})`);
    const anomalies = await validate(weatherSchema, 'weather_text');
    assert.deepEqual(brief(anomalies), [['UNEXPECTED_DATA_TYPE', 'precipitation', 'ERROR']]);
    assert.match(anomalies[0]!.description, /^precipitation: expected FLOAT values, found STRING \(VARCHAR\) \(most frequent: '0\.0'/);
  });

  it('NaN and infinity are found where the schema disallows them, with their counts, and nowhere else', async () => {
    const planted = `(SELECT * REPLACE (CASE WHEN day(date) = 1 THEN 'NaN'::DOUBLE ELSE wind END AS wind,
        CASE WHEN date = DATE '2014-06-15' THEN 'Infinity'::DOUBLE WHEN date = DATE '2014-12-15' THEN '-Infinity'::DOUBLE ELSE temp_max END AS temp_max) FROM weather)`;
    const nans = await count(`SELECT COUNT(*) AS n FROM weather WHERE day(date) = 1`);
    const anomalies = await validate(weatherSchema, planted);
    assert.deepEqual(brief(anomalies), [
      ['FLOAT_TYPE_HAS_INF', 'temp_max', 'ERROR'],
      ['FLOAT_TYPE_HAS_NAN', 'wind', 'ERROR'],
    ]);
    assert.equal(anomalies[0]!.description, `temp_max: 2 infinite values (+Infinity 1, -Infinity 1; ${pct(2, 1461)} of 1,461 values); the schema disallows them (disallowInf)`);
    assert.equal(anomalies[1]!.description, `wind: ${nans} NaN values (${pct(nans, 1461)} of 1,461 values); the schema disallows NaN (disallowNan)`);
    // Without disallowNan/disallowInf (TFDV's inferred schemas) the same data passes.
    const lenient = schemaOf(WEATHER_FEATURES.map((f) => (f.domain?.kind === 'float' ? { ...f, domain: { ...f.domain, disallowNan: false, disallowInf: false } } : f)));
    assert.deepEqual(await validate(lenient, planted), []);
  });

  it('too few rows is DATASET_LOW_NUM_EXAMPLES, too many DATASET_HIGH_NUM_EXAMPLES', async () => {
    const few = await validate(penguinsSchema, `(SELECT * FROM penguins WHERE Sex IS NOT NULL LIMIT 40)`);
    assert.deepEqual(brief(few), [['DATASET_LOW_NUM_EXAMPLES', null, 'ERROR']]);
    assert.equal(few[0]!.description, 'split eval has 40 rows; the schema requires at least 100 (datasetConstraints.minExamplesCount)');
    const capped = schemaOf(PENGUINS_FEATURES, { datasetConstraints: { maxExamplesCount: 300 } });
    assert.deepEqual(brief(await validate(capped, 'penguins')), [['DATASET_HIGH_NUM_EXAMPLES', null, 'ERROR']]);
  });

  it('low presence: below minFraction, below minCount, and a column with no value at all', async () => {
    const planted = `(SELECT * REPLACE (CASE WHEN "Flipper Length (mm)" % 4 = 0 THEN NULL ELSE Sex END AS Sex) FROM penguins)`;
    const present = await count(`SELECT COUNT(Sex) AS n FROM ${planted}`);
    const low = await validate(penguinsSchema, planted);
    assert.deepEqual(brief(low), [['FEATURE_TYPE_LOW_FRACTION_PRESENT', 'Sex', 'ERROR']]);
    assert.equal(low[0]!.description, `Sex: present in ${present} of 344 rows (${pct(present, 344)}, ${344 - present} missing); the schema requires at least 95% (presence.minFraction 0.95)`);

    const counted = schemaOf(PENGUINS_FEATURES.map((f) => (f.name === 'Sex' ? { ...f, presence: { minCount: 300 } } : f)));
    assert.deepEqual(brief(await validate(counted, planted)), [['FEATURE_TYPE_LOW_NUMBER_PRESENT', 'Sex', 'ERROR']]);

    // Island is required everywhere: a column of nulls is NOT_PRESENT, and nothing else is said of it.
    const gone = await validate(penguinsSchema, `(SELECT * REPLACE (CAST(NULL AS VARCHAR) AS Island) FROM penguins)`);
    assert.deepEqual(brief(gone), [['FEATURE_TYPE_NOT_PRESENT', 'Island', 'ERROR']]);
  });

  it('valency: a scalar against a schema that wants 2 to 3 values per row', async () => {
    const listy = schemaOf(PENGUINS_FEATURES.map((f) => (f.name === 'Body Mass (g)' ? { ...f, valueCount: { min: 2, max: 3 } } : f)));
    assert.deepEqual(brief(await validate(listy, 'penguins')), [['FEATURE_TYPE_LOW_NUMBER_VALUES', 'Body Mass (g)', 'ERROR']]);
    const none = schemaOf(PENGUINS_FEATURES.map((f) => (f.name === 'Body Mass (g)' ? { ...f, valueCount: { max: 0 } } : f)));
    assert.deepEqual(brief(await validate(none, 'penguins')), [['FEATURE_TYPE_HIGH_NUMBER_VALUES', 'Body Mass (g)', 'ERROR']]);
  });

  it('flights: integers and floats outside their domains, with the figures found', async () => {
    const clean = await stats('flights');
    const distance = clean.features.find((f) => f.name === 'distance')!.numeric!;
    const schema = schemaOf([
      { name: 'date', type: 'TEMPORAL', presence: { minFraction: 1 } },
      { name: 'delay', type: 'INT', presence: { minFraction: 1 }, domain: { kind: 'int', min: -100, max: 1500 } },
      { name: 'distance', type: 'FLOAT', presence: { minFraction: 1 }, domain: { kind: 'float', min: distance.min!, max: distance.max! } },
      { name: 'origin', type: 'STRING', presence: { minFraction: 1 } },
      { name: 'destination', type: 'STRING', presence: { minFraction: 1 } },
    ]);
    // INT data meets the FLOAT feature distance: no type anomaly.
    assert.deepEqual(await validate(schema, 'flights'), []);
    const planted = `(SELECT * REPLACE (CASE WHEN origin = 'LAX' THEN -999 ELSE delay END AS delay, CASE WHEN destination = 'SFO' THEN distance * 10 ELSE distance END AS distance) FROM flights)`;
    const maxDistance = await count(`SELECT MAX(distance) AS n FROM ${planted}`);
    const anomalies = await validate(schema, planted);
    assert.deepEqual(brief(anomalies), [
      ['INT_TYPE_SMALL_INT', 'delay', 'ERROR'],
      ['FLOAT_TYPE_BIG_FLOAT', 'distance', 'ERROR'],
    ]);
    assert.equal(anomalies[0]!.description, "delay: minimum -999 is below the domain's minimum -100");
    assert.equal(anomalies[1]!.description, `distance: maximum ${maxDistance.toLocaleString('en-US')} is above the domain's maximum ${distance.max!.toLocaleString('en-US')}`);
  });

  it("environments: a label kept out of SERVING is not missing there, and is 'new' if it shows up", async () => {
    const schema = schemaOf(
      PENGUINS_FEATURES.map((f) => (f.name === 'Species' ? { ...f, notInEnvironment: ['SERVING'] } : f)),
      { defaultEnvironments: ['TRAINING', 'SERVING'] },
    );
    const serving = `(SELECT * EXCLUDE (Species) FROM penguins)`;
    assert.deepEqual(await validate(schema, serving, { environment: 'SERVING' }), []);
    assert.deepEqual(brief(await validate(schema, serving, { environment: 'TRAINING' })), [['SCHEMA_MISSING_COLUMN', 'Species', 'ERROR']]);
    const leaked = await validate(schema, 'penguins', { environment: 'SERVING' });
    assert.deepEqual(brief(leaked), [['SCHEMA_NEW_COLUMN', 'Species', 'WARNING']]);
    assert.equal(leaked[0]!.description, 'Species: present in 344 rows of split eval, but the schema keeps this feature out of environment SERVING');
  });

  it('severities follow the overrides, kind by kind', async () => {
    const levels = severities({ SCHEMA_NEW_COLUMN: 'ERROR', DATASET_LOW_NUM_EXAMPLES: 'WARNING' } satisfies Partial<Record<AnomalyKind, 'ERROR' | 'WARNING'>>);
    const split = await stats(`(SELECT *, 1 AS extra FROM penguins WHERE Sex IS NOT NULL LIMIT 40)`);
    assert.deepEqual(brief(validateSplit(penguinsSchema, split, { severities: levels })), [
      ['SCHEMA_NEW_COLUMN', 'extra', 'ERROR'],
      ['DATASET_LOW_NUM_EXAMPLES', null, 'WARNING'],
    ]);
  });
});
