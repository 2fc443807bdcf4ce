import path from 'node:path';
import { ExampleGen, ExampleValidator, SchemaGen, StatisticsGen, Transform, pipeline } from '../../dsl';
import { penguinsTransform } from './transform';

/** Where the npm package `vega-datasets` keeps its files (its exports map hides them from require). */
export function vegaDataDir(): string {
  return path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data');
}

/**
 * Palmer penguins through ExampleGen (hash split train:eval = 2:1), StatisticsGen, SchemaGen (the
 * schema inferred from the training split, Species the label), ExampleValidator (both splits checked
 * against it; an ERROR anomaly stops the run) and Transform (transform.ts, compiled to one ONNX graph
 * that materialises both splits).
 * Parameters: `--param input=<file>` to use other data.
 */
export default function createPipeline(params: Record<string, string> = {}) {
  const examples = ExampleGen('example_gen', {
    parameters: { input: params.input ?? path.join(vegaDataDir(), 'penguins.json') },
  });
  const statistics = StatisticsGen('statistics_gen', { inputs: { examples: examples.outputs.examples } });
  const schema = SchemaGen('schema_gen', { parameters: { label: 'Species' }, inputs: { statistics: statistics.outputs.statistics } });
  const validator = ExampleValidator('example_validator', { inputs: { statistics: statistics.outputs.statistics, schema: schema.outputs.schema } });
  const transformed = Transform('transform', {
    parameters: { transform: penguinsTransform },
    inputs: { examples: examples.outputs.examples, schema: schema.outputs.schema, anomalies: validator.outputs.anomalies },
  });
  return pipeline({ name: 'penguins', nodes: [examples, statistics, schema, validator, transformed] });
}
