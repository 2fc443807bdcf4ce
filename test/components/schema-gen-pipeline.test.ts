import assert from 'node:assert/strict';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExampleGen } from '../../components/example-gen/spec';
import { ImportSchemaGen } from '../../components/import-schema-gen/spec';
import { SCHEMA_FILE_NAME, SchemaPayloadSchema } from '../../components/schema-gen/payload';
import { FROZEN_FROM_PROPERTY, INFERRED_BY_PROPERTY, SchemaGen } from '../../components/schema-gen/spec';
import { StatisticsGen } from '../../components/statistics-gen/spec';
import { STATISTICS_FILE_NAME } from '../../components/statistics-gen/payload';
import { sqlString } from '../../components/data/sql';
import { pipeline } from '../../dsl/compile';
import { StatisticsFromFile } from '../fixtures/statistics-from-file';
import { startTestStack, type TestStack } from '../pipeline/harness';
import { runExecutorForTest } from '../support/executor-harness';
import { REPO_ROOT } from '../support/repo-root';
import { tempDir } from '../support/tmp';
import { openTestDb, splitStatistics, statisticsPayload } from './example-validator-statistics';
import { duckQuery } from './parquet-rows';
import { vegaFile } from './vega-data';

const PENGUINS = vegaFile('penguins.json');
const localDir = (uri: string) => fileURLToPath(uri);
const schemaText = (uri: string) => readFile(path.join(localDir(uri), SCHEMA_FILE_NAME), 'utf8');

/** statistics.json of penguins as `select` makes them (a train split only). */
async function penguinStatistics(file: string, select: string): Promise<void> {
  const { db, close } = await openTestDb();
  try {
    await db.run(`CREATE TABLE penguins AS SELECT * FROM read_json(${sqlString(PENGUINS)})`);
    await writeFile(file, JSON.stringify(statisticsPayload([await splitStatistics(db, 'train', `(${select})`)])));
  } finally {
    close();
  }
}

describe('SchemaGen and ImportSchemaGen in pipelines', function () {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack();
    stack.registry.register(StatisticsFromFile.spec);
    await stack.addWorkers(['control', 'cpu']);
  });
  after(() => stack?.stop());

  it('freeze: the second run, on other data, passes on the first inferred schema unchanged and records it as an input', async () => {
    const file = path.join(await tempDir('freeze'), STATISTICS_FILE_NAME);
    const frozenPipeline = () => {
      const statistics = StatisticsFromFile('statistics', { parameters: { file } });
      return pipeline({ name: 'frozen-schema', nodes: [statistics, SchemaGen('schema', { parameters: { freeze: true }, inputs: { statistics: statistics.outputs.statistics } })] });
    };
    await penguinStatistics(file, `SELECT * FROM penguins WHERE Island <> 'Torgersen'`);
    const first = await stack.run(frozenPipeline());
    assert.equal(first.status.state, 'succeeded', first.error);
    const firstUri = first.status.nodes.schema!.outputs!.schema![0]!;
    const firstSchema = SchemaPayloadSchema.parse(JSON.parse(await schemaText(firstUri)));
    assert.deepEqual(firstSchema.features.find((f) => f.name === 'Island')?.domain, { kind: 'string', values: ['Biscoe', 'Dream'] });

    // The next span: every island, so inference would now see Torgersen.
    await penguinStatistics(file, `SELECT * FROM penguins`);
    const second = await stack.run(frozenPipeline());
    assert.equal(second.status.state, 'succeeded', second.error);
    assert.equal(second.status.nodes.schema!.state, 'succeeded', 'new statistics: the node runs');
    const secondUri = second.status.nodes.schema!.outputs!.schema![0]!;
    assert.notEqual(secondUri, firstUri);
    assert.equal(await schemaText(secondUri), await schemaText(firstUri), 'the frozen schema, byte for byte');
    assert.equal(second.status.nodes.schema!.summary?.frozenFrom, firstUri);

    const unfrozen = await runExecutorForTest(SchemaGen, { inputs: { statistics: [localDir(second.status.nodes.statistics!.outputs!.statistics![0]!)] } });
    const inferred = SchemaPayloadSchema.parse(JSON.parse(await readFile(path.join(unfrozen.outputDirs.schema!, SCHEMA_FILE_NAME), 'utf8')));
    assert.deepEqual(inferred.features.find((f) => f.name === 'Island')?.domain, { kind: 'string', values: ['Biscoe', 'Dream', 'Torgersen'] }, 'unfrozen, the second data infers another schema');

    const run = await stack.metadata.getRun((await second.handle.describe()).runId);
    const execution = run!.executions.find((e) => e.nodeId === 'schema')!;
    assert.deepEqual(execution.inputs.frozen?.map((a) => a.uri), [firstUri], 'lineage: the frozen schema is an input of the run that passed it on');
    assert.deepEqual(execution.outputs.schema?.map((a) => a.properties), [{ [FROZEN_FROM_PROPERTY]: firstUri }]);
    assert.equal((await stack.metadata.getArtifact(firstUri))?.properties[INFERRED_BY_PROPERTY], 'schema');

    // A third span with the same statistics as the second: a cache hit, still the first schema.
    assert.equal((await stack.run(frozenPipeline())).status.nodes.schema!.state, 'cached');
  });

  it('ImportSchemaGen: the file is keyed by content, so an unchanged file is a cache hit and an edited one runs again', async () => {
    const file = path.join(await tempDir('import'), 'schema.pbtxt');
    await copyFile(path.join(REPO_ROOT, 'test', 'fixtures', 'tfx-schemas', 'penguin-schema.pbtxt'), file);
    const importing = () => pipeline({ name: 'curated-schema', nodes: [ImportSchemaGen('import', { parameters: { schemaFile: file } })] });
    const first = await stack.run(importing());
    assert.equal(first.status.nodes.import!.state, 'succeeded', first.error);
    assert.equal((await stack.run(importing())).status.nodes.import!.state, 'cached');

    await writeFile(file, (await readFile(file, 'utf8')).replace('value: "Torgersen"', 'value: "Torgersen"\n  value: "Anvers"'));
    const edited = await stack.run(importing());
    assert.equal(edited.status.nodes.import!.state, 'succeeded', 'an edited schema file runs the node again');
    const schema = SchemaPayloadSchema.parse(JSON.parse(await schemaText(edited.status.nodes.import!.outputs!.schema![0]!)));
    assert.deepEqual(schema.features.find((f) => f.name === 'island')?.domain, { kind: 'string', values: ['Biscoe', 'Dream', 'Torgersen', 'Anvers'] });
  });

  it('ExampleGen → StatisticsGen → SchemaGen through the real executors', async () => {
    const examples = await runExecutorForTest(ExampleGen, { parameters: { input: PENGUINS } });
    const statistics = await runExecutorForTest(StatisticsGen, { inputs: { examples: [examples.artifact('examples')] } });
    const run = await runExecutorForTest(SchemaGen, { parameters: { label: 'Species' }, inputs: { statistics: [statistics.artifact('statistics')] } });
    const schema = SchemaPayloadSchema.parse(JSON.parse(await readFile(path.join(run.outputDirs.schema!, SCHEMA_FILE_NAME), 'utf8')));
    const train = sqlString(path.join(examples.outputDirs.examples!, 'Split-train', '*.parquet'));
    const islands = (await duckQuery(`SELECT DISTINCT Island FROM read_parquet(${train}) WHERE Island IS NOT NULL ORDER BY Island`)).map((r) => String(r.Island));
    const columns = (await duckQuery(`DESCRIBE SELECT * FROM read_parquet(${train})`)).map((r) => String(r.column_name));
    assert.deepEqual(schema.features.map((f) => f.name), columns);
    assert.deepEqual(schema.features.find((f) => f.name === 'Island')?.domain, { kind: 'string', values: islands });
    assert.equal(schema.features.find((f) => f.name === 'Flipper Length (mm)')?.type, 'INT');
    assert.deepEqual(schema.features.find((f) => f.name === 'Species')?.notInEnvironment, ['SERVING']);
  });
});
