import path from 'node:path';
import { Evaluator, ExampleGen, ExampleValidator, InfraValidator, Pusher, SchemaGen, StatisticsGen, Trainer, Transform, UserInputError, pipeline } from '../../dsl';
import { defaultModelRepository, vegaDataDir } from '../penguins/pipeline';
import { flightsTransform } from './transform';

/** As penguins': the TypeScript source, from the sources and from the build alike, so both key one file. */
const TRAINER_MODULE = path.resolve(__dirname, __filename.endsWith('.ts') ? '.' : path.join('..', '..', '..', 'examples', 'flights'), 'trainer.ts');

/** Splits the ExampleGen hash buckets come to for a sample of the rows (train:eval = 2:1 of it). */
export function sampleSplits(sample: number): Array<{ name: string; hashBuckets: number }> {
  if (!(sample > 0 && sample <= 1)) throw new UserInputError(`flights: --param sample must be a fraction in (0, 1] (0.01 for 1% of the rows), got ${sample}`);
  const total = Math.round(3 / sample);
  const splits = [
    { name: 'train', hashBuckets: 2 },
    { name: 'eval', hashBuckets: 1 },
  ];
  return total > 3 ? [...splits, { name: 'unused', hashBuckets: total - 3 }] : splits;
}

/**
 * US domestic flights of January to June 2001 (vega-datasets' flights-3m.parquet, 3 million rows): will
 * a flight arrive 15 minutes late or more? ExampleGen (hash split train:eval = 2:1), StatisticsGen,
 * SchemaGen (delay the label), ExampleValidator, Transform (transform.ts), Trainer (trainer.ts, a
 * dense classifier whose serving graph takes a raw flight and answers 'on time' or 'delayed'),
 * Evaluator (the label `delayed` computed by the transform graph; ROC AUC at least 0.6 and no more
 * than 0.01 below the last blessed model's; per origin airport), InfraValidator and Pusher (model
 * `flights` in `<MLPIPE_HOME>/models`, or `--param repository=<uri>`).
 * Parameters: `--param input=<file>` for other data with these columns; `--param sample=0.01` trains on
 * a deterministic 1% (ExampleGen's hash split puts the other rows in a split `unused` that nothing
 * after it reads); `--param epochs=<n>` (default 5).
 */
export default function createPipeline(params: Record<string, string> = {}) {
  const sample = params.sample === undefined ? 1 : Number(params.sample);
  const unused = sample < 1 ? ['unused'] : [];
  const examples = ExampleGen('example_gen', {
    parameters: { input: params.input ?? path.join(vegaDataDir(), 'flights-3m.parquet'), splits: sampleSplits(sample) },
  });
  const statistics = StatisticsGen('statistics_gen', { parameters: { excludeSplits: unused }, inputs: { examples: examples.outputs.examples } });
  const schema = SchemaGen('schema_gen', { parameters: { label: 'delay' }, inputs: { statistics: statistics.outputs.statistics } });
  const validator = ExampleValidator('example_validator', { inputs: { statistics: statistics.outputs.statistics, schema: schema.outputs.schema } });
  const transformed = Transform('transform', {
    parameters: { transform: flightsTransform, excludeSplits: unused },
    inputs: { examples: examples.outputs.examples, schema: schema.outputs.schema, anomalies: validator.outputs.anomalies },
  });
  const trainer = Trainer('trainer', {
    parameters: { module: TRAINER_MODULE, label: 'delayed', epochs: Number(params.epochs ?? 5), batchSize: 256, hyperparameters: { hidden: 32, learningRate: 0.003 } },
    inputs: { examples: transformed.outputs.transformedExamples, transformGraph: transformed.outputs.transformGraph, schema: schema.outputs.schema },
  });
  const evaluator = Evaluator('evaluator', {
    parameters: {
      label: 'delayed',
      slices: ['origin'],
      thresholds: [
        { metric: 'roc_auc', value: { lower: 0.6 } },
        { metric: 'roc_auc', change: { direction: 'higherIsBetter', absolute: -0.01 } },
      ],
    },
    inputs: { examples: examples.outputs.examples, model: trainer.outputs.servingModel, transformGraph: transformed.outputs.transformGraph },
  });
  const infraValidator = InfraValidator('infra_validator', {
    inputs: { examples: examples.outputs.examples, model: trainer.outputs.servingModel, blessing: evaluator.outputs.blessing },
  });
  const pusher = Pusher('pusher', {
    parameters: { repository: params.repository ?? defaultModelRepository(), modelName: 'flights' },
    inputs: { model: trainer.outputs.servingModel, blessing: evaluator.outputs.blessing, infraBlessing: infraValidator.outputs.infraBlessing },
  });
  return pipeline({ name: 'flights', nodes: [examples, statistics, schema, validator, transformed, trainer, evaluator, infraValidator, pusher] });
}
