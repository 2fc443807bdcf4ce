import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sqlString } from '../../components/data/sql';
import { ExampleGen } from '../../components/example-gen/spec';
import { SCHEMA_FILE_NAME, type SchemaPayload } from '../../components/schema-gen/payload';
import { scaleToZScore, transform, vocabulary } from '../../components/transform/dsl';
import { Transform } from '../../components/transform/spec';
import { runExecutorForTest, type TestArtifact } from '../support/executor-harness';
import { tempDir } from '../support/tmp';
import { rejects } from '../support/user-input-errors';
import { duckQuery } from './parquet-rows';

/**
 * A Schema that types a column differently from the Examples' Parquet files (an imported schema, a span
 * whose column changed type) is refused before the analyzers read a row, naming the file and the column:
 * the analyzers would otherwise read the column as the files type it (a DuckDB error, or a vocabulary of
 * numbers for a graph input of strings) and the graph as the Schema does.
 */
describe('Transform: a column typed differently by the Schema and the Parquet files', () => {
  let examples: TestArtifact;
  let dir: string;

  const schemaDir = async (name: string, features: SchemaPayload['features']): Promise<string> => {
    const schemaPath = path.join(dir, name);
    await mkdir(schemaPath, { recursive: true });
    const schema: SchemaPayload = { version: 1, defaultEnvironments: ['TRAINING', 'SERVING'], features };
    await writeFile(path.join(schemaPath, SCHEMA_FILE_NAME), JSON.stringify(schema));
    return schemaPath;
  };

  before(async () => {
    dir = await tempDir('transform-column-types');
    const input = path.join(dir, 'rows.parquet');
    await duckQuery(`COPY (SELECT CAST(i * 1.5 AS VARCHAR) AS amount, i % 3 AS code FROM range(60) t(i)) TO ${sqlString(input)} (FORMAT parquet)`);
    examples = (await runExecutorForTest(ExampleGen, { parameters: { input } })).artifact('examples');
  });

  it('refuses a number feature stored as strings, naming the file and the column', async () => {
    const schema = await schemaDir('schema-float', [
      { name: 'amount', type: 'FLOAT' },
      { name: 'code', type: 'INT' },
    ]);
    await rejects(
      runExecutorForTest(Transform, { parameters: { transform: transform(({ f }) => ({ z: scaleToZScore(f.amount) })) }, inputs: { examples: [examples], schema: [schema] } }),
      /Split-train\/data-\d+\.parquet: column "amount" is VARCHAR, but the transform graph reads it as float32/,
    );
  });

  it('refuses a string feature stored as integers, naming the file and the column', async () => {
    const schema = await schemaDir('schema-string', [
      { name: 'amount', type: 'STRING' },
      { name: 'code', type: 'STRING' },
    ]);
    await rejects(
      runExecutorForTest(Transform, { parameters: { transform: transform(({ f }) => ({ codeId: vocabulary(f.code).ids() })) }, inputs: { examples: [examples], schema: [schema] } }),
      /Split-train\/data-\d+\.parquet: column "code" is BIGINT, but the transform graph reads it as string/,
    );
  });
});
