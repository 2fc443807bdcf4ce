import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { z } from 'zod';
import { sqlString } from '../../components/data/sql';
import { ExampleValidator, ExampleValidatorParametersSchema } from '../../components/example-validator/spec';
import { ExampleGen } from '../../components/example-gen/spec';
import { SchemaGen } from '../../components/schema-gen/spec';
import { StatisticsGen } from '../../components/statistics-gen/spec';
import { ANOMALIES_FILE_NAME, ExampleAnomaliesSchema } from '../../components/example-validator/payload';
import { STATISTICS_FILE_NAME, type ExampleStatistics } from '../../components/statistics-gen/payload';
import { SCHEMA_FILE_NAME, type SchemaPayload } from '../../components/schema-gen/payload';
import { runExecutorForTest } from '../support/executor-harness';
import { tempDir } from '../support/tmp';
import { rejects } from '../support/user-input-errors';
import { openTestDb, splitStatistics, statisticsPayload } from './example-validator-statistics';
import { vegaFile } from './vega-data';

const SCHEMA: SchemaPayload = {
  version: 1,
  defaultEnvironments: ['TRAINING', 'SERVING'],
  features: [
    { name: 'Species', type: 'STRING', presence: { minFraction: 1 }, domain: { kind: 'string', values: ['Adelie', 'Chinstrap', 'Gentoo'] }, notInEnvironment: ['SERVING'] },
    { name: 'Island', type: 'STRING', presence: { minFraction: 1 }, domain: { kind: 'string', values: ['Biscoe', 'Dream', 'Torgersen'] } },
    { name: 'Beak Length (mm)', type: 'FLOAT', presence: { minCount: 1 } },
    { name: 'Beak Depth (mm)', type: 'FLOAT', presence: { minCount: 1 } },
    { name: 'Flipper Length (mm)', type: 'INT', presence: { minCount: 1 } },
    { name: 'Body Mass (g)', type: 'INT', presence: { minCount: 1 } },
    { name: 'Sex', type: 'STRING', presence: { minCount: 1 } },
  ],
};

async function artifactDir(name: string, file: string, content: string): Promise<string> {
  const dir = await tempDir(name);
  await writeFile(path.join(dir, file), content);
  return dir;
}

describe('ExampleValidator executor: anomalies.json, the gate, the run summary, bad inputs', function () {
  let db: DuckDBConnection;
  let close: () => void;
  let statistics: ExampleStatistics;
  let statisticsDir: string;
  let schemaDir: string;

  before(async () => {
    ({ db, close } = await openTestDb());
    await db.run(`CREATE TABLE penguins AS SELECT * FROM read_json(${sqlString(vegaFile('penguins.json'))})`);
    // train: the file as is; eval: a new column and Islands out of the domain; serving: no label.
    const evalRows = `(SELECT * REPLACE (CASE WHEN Island = 'Dream' AND "Body Mass (g)" < 3400 THEN 'Dream Island' ELSE Island END AS Island), 0 AS tag FROM penguins)`;
    statistics = statisticsPayload([
      await splitStatistics(db, 'train', 'penguins'),
      await splitStatistics(db, 'eval', evalRows),
      await splitStatistics(db, 'serving', '(SELECT * EXCLUDE (Species) FROM penguins)'),
    ]);
    statisticsDir = await artifactDir('statistics', STATISTICS_FILE_NAME, JSON.stringify(statistics));
    schemaDir = await artifactDir('schema', SCHEMA_FILE_NAME, JSON.stringify(SCHEMA));
  });
  after(() => close());

  const run = (parameters: z.input<typeof ExampleValidatorParametersSchema> = {}, dirs = { statistics: statisticsDir, schema: schemaDir }) =>
    runExecutorForTest(ExampleValidator, { parameters, inputs: { statistics: [dirs.statistics], schema: [dirs.schema] } });

  it('an ERROR anomaly publishes anomalies.json and blocks with each anomaly named; WARNINGs go to the summary', async () => {
    const outcome = await run({ splits: ['train', 'eval'] });
    const written = ExampleAnomaliesSchema.parse(JSON.parse(await readFile(path.join(outcome.outputDirs.anomalies!, ANOMALIES_FILE_NAME), 'utf8')));
    assert.deepEqual(
      written.splits.map((s) => [s.name, s.numExamples, s.anomalies.map((a) => [a.kind, a.feature, a.severity])]),
      [
        ['train', 344, []],
        ['eval', 344, [['ENUM_TYPE_UNEXPECTED_STRING_VALUES', 'Island', 'ERROR'], ['SCHEMA_NEW_COLUMN', 'tag', 'WARNING']]],
      ],
    );
    const moved = Number((await db.runAndReadAll(`SELECT COUNT(*) AS n FROM penguins WHERE Island = 'Dream' AND "Body Mass (g)" < 3400`)).getRowObjectsJS()[0]!.n);
    assert.match(written.splits[1]!.anomalies[0]!.description, new RegExp(`^Island: [\\d.]+% of values \\(${moved} of 344\\) are 'Dream Island', not in the domain`));
    assert.equal(written.severities.SCHEMA_NEW_COLUMN, 'WARNING');
    assert.equal(outcome.result.block?.reason, '1 ERROR anomaly: Island in eval: ENUM_TYPE_UNEXPECTED_STRING_VALUES');
    assert.deepEqual(outcome.result.summary, {
      splits: { train: { numExamples: 344, errors: 0, warnings: 0 }, eval: { numExamples: 344, errors: 1, warnings: 1 } },
      errors: ['Island in eval: ENUM_TYPE_UNEXPECTED_STRING_VALUES'],
      warnings: ['tag in eval: SCHEMA_NEW_COLUMN'],
    });
    assert.deepEqual(outcome.result.properties?.anomalies, { split_names: '["train","eval"]', errors: 1, warnings: 1 });
  });

  it('WARNINGs alone do not block; severities are configurable; excludeSplits leaves a split out', async () => {
    const outcome = await run({ excludeSplits: ['serving'], severity: { ENUM_TYPE_UNEXPECTED_STRING_VALUES: 'WARNING' } });
    assert.equal(outcome.result.block, undefined);
    assert.deepEqual(outcome.result.summary?.warnings, ['Island in eval: ENUM_TYPE_UNEXPECTED_STRING_VALUES', 'tag in eval: SCHEMA_NEW_COLUMN']);
    const strict = await run({ splits: ['eval'], severity: { SCHEMA_NEW_COLUMN: 'ERROR' } });
    assert.equal(strict.result.block?.reason, '2 ERROR anomalies: Island in eval: ENUM_TYPE_UNEXPECTED_STRING_VALUES; tag in eval: SCHEMA_NEW_COLUMN');
  });

  it('serving data without its label passes in environment SERVING and fails in TRAINING', async () => {
    assert.equal((await run({ splits: ['serving'], environment: 'SERVING' })).result.block, undefined);
    assert.equal((await run({ splits: ['serving'], environment: 'TRAINING' })).result.block?.reason, '1 ERROR anomaly: Species in serving: SCHEMA_MISSING_COLUMN');
  });

  it('bad inputs are UserInputErrors naming the file, the field or the split', async () => {
    await rejects(run({ splits: ['test'] }), /the statistics have no split "test" \(they have train, eval, serving\)/);
    await rejects(run({ excludeSplits: ['train', 'eval', 'serving'] }), /excludeSplits leaves no split to validate/);
    await rejects(run({ environment: 'SERVNG' }), /environment "SERVNG" is not one the schema names \(TRAINING, SERVING\)/);
    await rejects(run({ severity: { NO_SUCH_KIND: 'ERROR' } as never }), /severity/);

    const notJson = await artifactDir('schema-bad', SCHEMA_FILE_NAME, '{ "version": 1, features: [] }');
    await rejects(run({}, { statistics: statisticsDir, schema: notJson }), new RegExp(`^${notJson}/schema\\.json:1:\\d+: \\w+ \\(not valid JSON\\)$`));
    const untyped = await artifactDir('schema-untyped', SCHEMA_FILE_NAME, JSON.stringify({ version: 1, features: [{ name: 'Island', type: 'TEXT' }] }));
    await rejects(run({}, { statistics: statisticsDir, schema: untyped }), /schema\.json: not an mlpipe schema .*: features\[0\]\.type: /);
    const twice = await artifactDir('schema-twice', SCHEMA_FILE_NAME, JSON.stringify({ version: 1, features: [{ name: 'Sex', type: 'STRING' }, { name: 'Sex', type: 'STRING' }] }));
    await rejects(run({}, { statistics: statisticsDir, schema: twice }), /features\[1\]\.name: feature "Sex" is listed twice/);

    const noSchema = await tempDir('schema-empty');
    await rejects(run({}, { statistics: statisticsDir, schema: noSchema }), /schema: cannot read .*schema\.json: no such file/);
    const empty = await tempDir('statistics-empty');
    await rejects(run({}, { statistics: empty, schema: schemaDir }), /statistics: cannot read .*statistics\.json: no such file/);
    const v1 = await artifactDir('statistics-v1', STATISTICS_FILE_NAME, JSON.stringify({ ...statistics, version: 1 }));
    await rejects(run({}, { statistics: v1, schema: schemaDir }), /statistics\.json does not match its format: version: /);
    await rejects(runExecutorForTest(ExampleValidator, { inputs: { statistics: [statisticsDir] } }), /needs a Schema artifact on its "schema" input/);
  });
});

describe('ExampleValidator on what StatisticsGen and SchemaGen really write', function () {
  it('penguins: a schema inferred from the clean training split finds each planted anomaly in eval, and nothing else', async () => {
    const { db, close } = await openTestDb();
    const dir = await tempDir('validator-real');
    try {
      const source = `read_json(${sqlString(vegaFile('penguins.json'))})`;
      await db.run(`COPY (SELECT * FROM ${source} WHERE "Beak Length (mm)" IS NOT NULL) TO ${sqlString(path.join(dir, 'train.parquet'))}`);
      // eval: NaN and +Infinity where training had none, an island outside the vocabulary, Species
      // missing where training always had it, and a column the schema does not know.
      await db.run(`COPY (SELECT * REPLACE (
          CASE WHEN "Body Mass (g)" > 5800 THEN 'NaN'::DOUBLE ELSE "Beak Length (mm)" END AS "Beak Length (mm)",
          CASE WHEN "Body Mass (g)" < 2900 THEN 'Infinity'::DOUBLE ELSE "Beak Depth (mm)" END AS "Beak Depth (mm)",
          CASE WHEN Island = 'Dream' AND "Flipper Length (mm)" > 200 THEN 'Dream North' ELSE Island END AS Island,
          CASE WHEN "Flipper Length (mm)" = 190 THEN NULL ELSE Species END AS Species), 1 AS batch
        FROM ${source} WHERE "Beak Length (mm)" IS NOT NULL) TO ${sqlString(path.join(dir, 'eval.parquet'))}`);
      const count = async (where: string) => Number((await db.runAndReadAll(`SELECT COUNT(*) AS n FROM read_parquet(${sqlString(path.join(dir, 'eval.parquet'))}) WHERE ${where}`)).getRowObjectsJS()[0]!.n);
      const [nan, inf, moved, noSpecies, rows] = [await count('isnan("Beak Length (mm)")'), await count('isinf("Beak Depth (mm)")'), await count(`Island = 'Dream North'`), await count('Species IS NULL'), await count('true')];
      assert.ok(nan > 0 && inf > 0 && moved > 0 && noSpecies > 0, `planted: ${nan} NaN, ${inf} inf, ${moved} islands, ${noSpecies} without species`);

      const examples = await runExecutorForTest(ExampleGen, { parameters: { input: { train: path.join(dir, 'train.parquet'), eval: path.join(dir, 'eval.parquet') } } });
      const statistics = await runExecutorForTest(StatisticsGen, { inputs: { examples: [examples.artifact('examples')] } });
      const schema = await runExecutorForTest(SchemaGen, { inputs: { statistics: [statistics.artifact('statistics')] } });
      const outcome = await runExecutorForTest(ExampleValidator, { inputs: { statistics: [statistics.artifact('statistics')], schema: [schema.artifact('schema')] } });
      const written = ExampleAnomaliesSchema.parse(JSON.parse(await readFile(path.join(outcome.outputDirs.anomalies!, ANOMALIES_FILE_NAME), 'utf8')));
      assert.deepEqual(written.splits.find((s) => s.name === 'train')!.anomalies, []);
      const found = written.splits.find((s) => s.name === 'eval')!.anomalies;
      assert.deepEqual(
        found.map((a) => [a.kind, a.feature, a.severity]),
        [
          ['FEATURE_TYPE_LOW_FRACTION_PRESENT', 'Species', 'ERROR'],
          ['ENUM_TYPE_UNEXPECTED_STRING_VALUES', 'Island', 'ERROR'],
          ['FLOAT_TYPE_HAS_NAN', 'Beak Length (mm)', 'ERROR'],
          ['FLOAT_TYPE_HAS_INF', 'Beak Depth (mm)', 'ERROR'],
          ['SCHEMA_NEW_COLUMN', 'batch', 'WARNING'],
        ],
      );
      const described = Object.fromEntries(found.map((a) => [a.kind, a.description]));
      assert.match(described.FEATURE_TYPE_LOW_FRACTION_PRESENT!, new RegExp(`^Species: present in ${rows - noSpecies} of ${rows} rows \\([\\d.]+%, ${noSpecies} missing\\); the schema requires at least 100%`));
      assert.match(described.ENUM_TYPE_UNEXPECTED_STRING_VALUES!, new RegExp(`^Island: [\\d.]+% of values \\(${moved} of ${rows}\\) are 'Dream North', not in the domain \\[Biscoe, Dream, Torgersen\\]$`));
      assert.match(described.FLOAT_TYPE_HAS_NAN!, new RegExp(`^Beak Length \\(mm\\): ${nan} NaN values`));
      assert.match(described.FLOAT_TYPE_HAS_INF!, new RegExp(`^Beak Depth \\(mm\\): ${inf} infinite values \\(\\+Infinity ${inf}, -Infinity 0;`));
      assert.equal(outcome.result.block?.reason.startsWith('4 ERROR anomalies: Species in eval: FEATURE_TYPE_LOW_FRACTION_PRESENT;'), true, outcome.result.block?.reason);
    } finally {
      close();
    }
  });
});
