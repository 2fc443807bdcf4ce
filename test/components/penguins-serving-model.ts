import path from 'node:path';
import { ExampleGen } from '../../components/example-gen/spec';
import { SchemaGen } from '../../components/schema-gen/spec';
import { StatisticsGen } from '../../components/statistics-gen/spec';
import { Trainer } from '../../components/trainer/spec';
import { Transform } from '../../components/transform/spec';
import { penguinsTransform } from '../../examples/penguins/transform';
import { runExecutorForTest, type TestArtifact } from '../support/executor-harness';
import { REPO_ROOT } from '../support/repo-root';
import { vegaFile } from './vega-data';

/** The real chain ExampleGen → … → Trainer on penguins through the executor harness: the raw Examples, the TransformGraph and the ServingModel. */
export async function penguinsServingModel(epochs: number): Promise<{ examples: TestArtifact; transformGraph: TestArtifact; servingModel: TestArtifact }> {
  const examples = (await runExecutorForTest(ExampleGen, { parameters: { input: vegaFile('penguins.json') } })).artifact('examples');
  const statistics = (await runExecutorForTest(StatisticsGen, { inputs: { examples: [examples] } })).artifact('statistics');
  const schema = (await runExecutorForTest(SchemaGen, { parameters: { label: 'Species' }, inputs: { statistics: [statistics] } })).artifact('schema');
  const transform = await runExecutorForTest(Transform, { parameters: { transform: penguinsTransform }, inputs: { examples: [examples], schema: [schema] } });
  const trainer = await runExecutorForTest(Trainer, {
    parameters: { module: path.join(REPO_ROOT, 'examples', 'penguins', 'trainer.ts'), label: 'species', epochs },
    inputs: { examples: [transform.artifact('transformedExamples')], transformGraph: [transform.artifact('transformGraph')], schema: [schema] },
  });
  return { examples, transformGraph: transform.artifact('transformGraph'), servingModel: trainer.artifact('servingModel') };
}
