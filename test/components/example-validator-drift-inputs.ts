import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ANOMALIES_FILE_NAME, ExampleAnomaliesSchema, type ExampleAnomalies } from '../../components/example-validator/payload';
import { ExampleGen } from '../../components/example-gen/spec';
import { SchemaGen } from '../../components/schema-gen/spec';
import { StatisticsGen } from '../../components/statistics-gen/spec';
import { runExecutorForTest, type TestArtifact } from '../support/executor-harness';
import { tempDir } from '../support/tmp';

/** The inputs and outputs of the skew and drift tests: penguins through the executors. */

export type Penguin = Record<string, string | number | null>;

export async function readAnomalies(dir: string): Promise<ExampleAnomalies> {
  return ExampleAnomaliesSchema.parse(JSON.parse(await readFile(path.join(dir, ANOMALIES_FILE_NAME), 'utf8')));
}

/** ExampleGen → StatisticsGen → SchemaGen on a JSON file of rows, through the executors. */
export async function statisticsOf(rows: Penguin[], name: string): Promise<{ examples: string; statistics: TestArtifact; schema: TestArtifact }> {
  const dir = await tempDir(name);
  await writeFile(path.join(dir, 'rows.json'), JSON.stringify(rows));
  const examples = await runExecutorForTest(ExampleGen, { parameters: { input: path.join(dir, 'rows.json') } });
  const statistics = await runExecutorForTest(StatisticsGen, { inputs: { examples: [examples.artifact('examples')] } });
  const schema = await runExecutorForTest(SchemaGen, { parameters: { label: 'Species' }, inputs: { statistics: [statistics.artifact('statistics')] } });
  return { examples: examples.outputDirs.examples!, statistics: statistics.artifact('statistics'), schema: schema.artifact('schema') };
}
