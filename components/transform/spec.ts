import { z } from 'zod';
import { defineComponent } from '../../dsl/component';
import { TransformIrSchema } from './expression';

export const TransformParametersSchema = z
  .object({
    /** The transform's IR, as `transform(fn)` (dsl.ts) builds it: hashed into the cache key, no user module on workers. */
    transform: TransformIrSchema,
    /** The split the analyzers run over: TFT analyzes the training split only, so evaluation and serving see its values. */
    analyzeSplit: z.string().min(1).default('train'),
    /** Splits not materialised into TransformedExamples (TFX's `splits_config.transform` is the complement). */
    excludeSplits: z.array(z.string()).default([]),
  })
  .strict();
export type TransformParameters = z.output<typeof TransformParametersSchema>;

/**
 * Transform: analyzers over the training split, one ONNX graph compiled from the user's transform
 * (`transform.onnx`, and the serving signature's `transform_serving.onnx`, with `signature.json` and
 * `analyzers.json` beside them), and every split run through that graph into TransformedExamples.
 */
export const Transform = defineComponent({
  type: 'Transform',
  version: '1',
  description: "Analyzes the training split, compiles the transform to one ONNX graph and runs every split through it",
  parameters: TransformParametersSchema,
  // `anomalies` is read by no one: wiring ExampleValidator's output there makes Transform downstream of
  // its gate, so data with an ERROR anomaly never reaches the graph (TFX leaves the two side by side).
  inputs: { examples: { type: 'Examples' }, schema: { type: 'Schema' }, anomalies: { type: 'ExampleAnomalies', optional: true } },
  outputs: { transformGraph: 'TransformGraph', transformedExamples: 'Examples' },
  defaultResource: 'cpu',
  executor: { module: require.resolve('./executor') },
});
