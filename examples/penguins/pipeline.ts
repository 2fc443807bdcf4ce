import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../../config/config';
import { Evaluator, ExampleGen, ExampleValidator, ImportSchemaGen, InfraValidator, Pusher, SchemaGen, StatisticsGen, Trainer, Transform, UserInputError, pipeline } from '../../dsl';
import { penguinsTransform } from './transform';

/** Where the npm package `vega-datasets` keeps its files (its exports map hides them from require). */
export function vegaDataDir(): string {
  return path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data');
}

/**
 * Palmer penguins through ExampleGen (hash split train:eval = 2:1), StatisticsGen, SchemaGen (the
 * schema inferred from the training split, Species the label), ExampleValidator (both splits checked
 * against it; an ERROR anomaly stops the run) and Transform (transform.ts, compiled to one ONNX graph
 * that materialises both splits) and Trainer (trainer.ts, a small dense classifier in tfjs, exported to
 * ONNX and composed behind the transform into one serving graph: raw penguin in, species out) and
 * Evaluator (accuracy at least 0.9, and no more than 2 points below the last blessed model; per island),
 * InfraValidator (the blessed model served by `mlpipe serve` in a scratch repository, its answers
 * over HTTP and gRPC checked against onnxruntime) and Pusher (the next version of model `penguins` in
 * the model repository, which `mlpipe serve --repository <it>` serves).
 * Parameters: `--param input=<file or pattern>` to use other data (e.g. `data/span-{SPAN}/penguins.json`:
 * the newest span); `--param schema=<schema.json or .pbtxt>` to check the data against a curated schema
 * (ImportSchemaGen) instead of one inferred from it; `--param epochs=<n>` (default 40);
 * `--param repository=<file:///dir or s3://bucket>` for another model repository than `<MLPIPE_HOME>/models`;
 * `--param approvalHours=<h>`: the Pusher waits up to that long for `mlpipe approve <run>` (or `--reject`).
 */
/**
 * The trainer module as its TypeScript source, loaded through tsx, from the sources and from the build
 * alike: both then key the same file, so a run of either is served from the other's cache.
 */
const TRAINER_MODULE = path.resolve(__dirname, __filename.endsWith('.ts') ? '.' : path.join('..', '..', '..', 'examples', 'penguins'), 'trainer.ts');

/** `--param approvalHours=<h>`: how long the Pusher waits for `mlpipe approve` before the push is rejected. */
function approvalTimeoutMs(hours: string): number {
  const h = Number(hours);
  if (!(h > 0)) throw new UserInputError(`penguins: --param approvalHours must be a positive number of hours, got ${hours}`);
  return Math.round(h * 3600_000);
}

/** `<MLPIPE_HOME>/models`: beside the embedded stack's artifacts and metadata, where `mlpipe run --serve` looks. */
export function defaultModelRepository(): string {
  return pathToFileURL(path.join(loadConfig().home, 'models')).href;
}

export default function createPipeline(params: Record<string, string> = {}) {
  const examples = ExampleGen('example_gen', {
    parameters: { input: params.input ?? path.join(vegaDataDir(), 'penguins.json') },
  });
  const statistics = StatisticsGen('statistics_gen', { inputs: { examples: examples.outputs.examples } });
  // A curated schema (TFX's production way: inferred once, reviewed, kept) makes new data answer to it.
  const schema = params.schema
    ? ImportSchemaGen('import_schema_gen', { parameters: { schemaFile: params.schema } })
    : SchemaGen('schema_gen', { parameters: { label: 'Species' }, inputs: { statistics: statistics.outputs.statistics } });
  const validator = ExampleValidator('example_validator', { inputs: { statistics: statistics.outputs.statistics, schema: schema.outputs.schema } });
  const transformed = Transform('transform', {
    parameters: { transform: penguinsTransform },
    inputs: { examples: examples.outputs.examples, schema: schema.outputs.schema, anomalies: validator.outputs.anomalies },
  });
  const trainer = Trainer('trainer', {
    parameters: { module: TRAINER_MODULE, label: 'species', epochs: Number(params.epochs ?? 40), hyperparameters: { hidden: 16, learningRate: 0.01 } },
    inputs: { examples: transformed.outputs.transformedExamples, transformGraph: transformed.outputs.transformGraph, schema: schema.outputs.schema },
  });
  const evaluator = Evaluator('evaluator', {
    parameters: {
      label: 'Species',
      slices: ['Island'],
      thresholds: [
        { metric: 'accuracy', value: { lower: 0.9 } },
        { metric: 'accuracy', change: { direction: 'higherIsBetter', absolute: -0.02 } },
      ],
    },
    inputs: { examples: examples.outputs.examples, model: trainer.outputs.servingModel },
  });
  const infraValidator = InfraValidator('infra_validator', {
    inputs: { examples: examples.outputs.examples, model: trainer.outputs.servingModel, blessing: evaluator.outputs.blessing },
  });
  const pusher = Pusher('pusher', {
    parameters: { repository: params.repository ?? defaultModelRepository(), modelName: 'penguins' },
    ...(params.approvalHours ? { approval: { timeoutMs: approvalTimeoutMs(params.approvalHours) } } : {}),
    inputs: { model: trainer.outputs.servingModel, blessing: evaluator.outputs.blessing, infraBlessing: infraValidator.outputs.infraBlessing },
  });
  return pipeline({ name: 'penguins', nodes: [examples, statistics, schema, validator, transformed, trainer, evaluator, infraValidator, pusher] });
}
