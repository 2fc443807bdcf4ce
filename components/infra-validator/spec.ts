import { z } from 'zod';
import { defineComponent } from '../../dsl/component';

export const InfraValidatorParametersSchema = z
  .object({
    /** The split whose raw rows are sent to the server. */
    split: z.string().min(1).default('eval'),
    /** Rows sent over each protocol and compared with in-process onnxruntime. */
    rows: z.number().int().min(1).max(10_000).default(64),
    /** Single-row HTTP requests timed for the latency percentiles. */
    latencyRequests: z.number().int().min(1).max(10_000).default(40),
    /** Rows written as the version's warm-up requests, one each (Triton's `model_warmup` with `input_data_file`). */
    warmupRows: z.number().int().min(1).max(256).default(4),
    /** How long the server may take to start and load the model. */
    readyTimeoutMs: z.number().int().min(100).default(60_000),
    /** How long one request may take before the model is judged not to answer. */
    requestTimeoutMs: z.number().int().min(100).default(10_000),
  })
  .strict();
export type InfraValidatorParameters = z.output<typeof InfraValidatorParametersSchema>;

/**
 * InfraValidator: the candidate served by `mlpipe serve` in its own process from a scratch repository,
 * real rows sent over HTTP and gRPC and the answers compared with in-process onnxruntime, single-row
 * latency measured; writes InfraBlessing (the verdict, and the config.json with warm-up to publish)
 * and stops the pipeline (the engine's gate) when the model does not load, answers wrong or too late.
 */
export const InfraValidator = defineComponent({
  type: 'InfraValidator',
  version: '2',
  description: 'Serves the model in a scratch model server, checks its answers over HTTP and gRPC against onnxruntime and measures latency',
  parameters: InfraValidatorParametersSchema,
  // `blessing` is read by no one: wiring the Evaluator's output there makes this node downstream of its
  // gate, so a model the Evaluator did not bless is never served.
  inputs: { examples: { type: 'Examples' }, model: { type: 'ServingModel' }, blessing: { type: 'ModelBlessing', optional: true } },
  outputs: { infraBlessing: 'InfraBlessing' },
  defaultResource: 'cpu',
  executor: { module: require.resolve('./executor') },
});
