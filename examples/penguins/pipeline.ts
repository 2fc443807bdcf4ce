import path from 'node:path';
import { ExampleGen, StatisticsGen, pipeline } from '../../dsl';

/** Where the npm package `vega-datasets` keeps its files (its exports map hides them from require). */
export function vegaDataDir(): string {
  return path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data');
}

/**
 * Palmer penguins through ExampleGen (hash split train:eval = 2:1) and StatisticsGen.
 * Parameters: `--param input=<file>` to use other data.
 */
export default function createPipeline(params: Record<string, string> = {}) {
  const examples = ExampleGen('example_gen', {
    parameters: { input: params.input ?? path.join(vegaDataDir(), 'penguins.json') },
  });
  const statistics = StatisticsGen('statistics_gen', { inputs: { examples: examples.outputs.examples } });
  return pipeline({ name: 'penguins', nodes: [examples, statistics] });
}
