import { z } from 'zod';
import { describeZodError } from './zod-issues';

/**
 * `<repo>/<model>/config.json`: Triton's model configuration in its JSON form (the field names of
 * model_config.proto). Only fields this server acts on are accepted, so a typo or an unsupported
 * feature is an error naming the field rather than a silently ignored setting.
 */

/** Protobuf's JSON mapping writes 64-bit integers as strings; accept both. */
const uint = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/, 'expected a non-negative integer').transform(Number)]);
const positiveInt = z.number().int().positive();
const dim = z.union([z.number().int().min(-1), z.string().regex(/^-?\d+$/, 'expected an integer').transform(Number)]);

export const TRITON_DATA_TYPES = [
  'TYPE_BOOL',
  'TYPE_UINT8',
  'TYPE_UINT16',
  'TYPE_UINT32',
  'TYPE_UINT64',
  'TYPE_INT8',
  'TYPE_INT16',
  'TYPE_INT32',
  'TYPE_INT64',
  'TYPE_FP16',
  'TYPE_FP32',
  'TYPE_FP64',
  'TYPE_STRING',
  'TYPE_BF16',
] as const;
const DataTypeSchema = z.enum(TRITON_DATA_TYPES);

const TensorConfigSchema = z.strictObject({
  name: z.string().min(1),
  data_type: DataTypeSchema.optional(),
  /** Without the batch dimension when max_batch_size > 0, as in Triton; -1 is variable. */
  dims: z.array(dim).optional(),
  format: z.enum(['FORMAT_NONE', 'FORMAT_NHWC', 'FORMAT_NCHW']).optional(),
  optional: z.boolean().optional(),
  /** Outputs only: a file in the model's directory with one label per class, for classification requests. */
  label_filename: z
    .string()
    .regex(/^[^/\\]+$/, 'expected a file name in the model directory (no path)')
    .refine((name) => name !== '.' && name !== '..', 'expected a file name in the model directory (no path)')
    .optional(),
});
export type TensorConfig = z.infer<typeof TensorConfigSchema>;

const QueuePolicySchema = z.strictObject({
  /** DELAY keeps a timed-out request queued (it is no longer rejected); REJECT fails it. */
  timeout_action: z.enum(['REJECT', 'DELAY']).optional(),
  default_timeout_microseconds: uint.optional(),
  allow_timeout_override: z.boolean().optional(),
  /** 0 = unbounded. */
  max_queue_size: uint.optional(),
});

const DynamicBatchingSchema = z.strictObject({
  preferred_batch_size: z.array(positiveInt).optional(),
  max_queue_delay_microseconds: uint.optional(),
  preserve_ordering: z.boolean().optional(),
  default_queue_policy: QueuePolicySchema.optional(),
});

const InstanceGroupSchema = z.strictObject({
  name: z.string().optional(),
  kind: z
    .enum(['KIND_AUTO', 'KIND_CPU'], { message: 'expected KIND_AUTO or KIND_CPU (this server runs onnxruntime-node on CPU)' })
    .optional(),
  count: positiveInt.optional(),
});

export const VersionPolicySchema = z.union([
  z.strictObject({ latest: z.strictObject({ num_versions: positiveInt }) }),
  z.strictObject({ all: z.strictObject({}) }),
  z.strictObject({ specific: z.strictObject({ versions: z.array(positiveInt).min(1) }) }),
]);
export type VersionPolicy = z.infer<typeof VersionPolicySchema>;

const WarmupInputSchema = z
  .strictObject({
    data_type: DataTypeSchema,
    dims: z.array(z.number().int().nonnegative()),
    zero_data: z.boolean().optional(),
    random_data: z.boolean().optional(),
  })
  .refine((v) => v.zero_data === true || v.random_data === true, { message: 'set zero_data or random_data to true' });

const WarmupSchema = z.strictObject({
  name: z.string().min(1),
  batch_size: uint.optional(),
  count: uint.optional(),
  inputs: z.record(z.string(), WarmupInputSchema),
});
export type WarmupConfig = z.infer<typeof WarmupSchema>;

/** Triton's backend parameters; the onnxruntime backend's thread settings are honoured. */
const ParametersSchema = z.record(z.string(), z.strictObject({ string_value: z.string() }));

const VERSION_LABEL = /^[A-Za-z][A-Za-z0-9_-]*$/;

export const ModelConfigSchema = z.strictObject({
  name: z.string().min(1).optional(),
  platform: z.literal('onnxruntime_onnx', { message: 'expected "onnxruntime_onnx"' }).optional(),
  backend: z.literal('onnxruntime', { message: 'expected "onnxruntime"' }).optional(),
  max_batch_size: uint.optional(),
  input: z.array(TensorConfigSchema).optional(),
  output: z.array(TensorConfigSchema).optional(),
  version_policy: VersionPolicySchema.optional(),
  dynamic_batching: DynamicBatchingSchema.optional(),
  instance_group: z.array(InstanceGroupSchema).optional(),
  parameters: ParametersSchema.optional(),
  model_warmup: z.array(WarmupSchema).optional(),
  default_model_filename: z.string().regex(/^[^/\\]+$/, 'expected a file name').optional(),
  /** TF Serving's version labels (model_server_config.proto `version_labels`): label -> version. */
  version_labels: z
    .record(z.string().regex(VERSION_LABEL, 'labels start with a letter and use letters, digits, _ and -'), positiveInt)
    .optional(),
});
export type ModelConfig = z.infer<typeof ModelConfigSchema>;

export class ModelConfigError extends Error {
  constructor(
    readonly model: string,
    message: string,
  ) {
    super(message);
    this.name = 'ModelConfigError';
  }
}

/** Parses a model's config.json text; every error names the model, the file and the field. */
export function parseModelConfig(model: string, text: string): ModelConfig {
  const where = `model '${model}' config.json`;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ModelConfigError(model, `${where}: not valid JSON: ${(err as Error).message}`);
  }
  const parsed = ModelConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ModelConfigError(model, `${where}: ${describeZodError(parsed.error)}`);
  }
  const config = parsed.data;
  if (config.name !== undefined && config.name !== model) {
    throw new ModelConfigError(model, `${where}: field name: "${config.name}" differs from the model directory name "${model}"`);
  }
  const preferred = config.dynamic_batching?.preferred_batch_size ?? [];
  const maxBatch = config.max_batch_size;
  if (maxBatch !== undefined && maxBatch > 0) {
    const tooBig = preferred.find((p) => p > maxBatch);
    if (tooBig !== undefined) {
      throw new ModelConfigError(
        model,
        `${where}: field dynamic_batching.preferred_batch_size: ${tooBig} exceeds max_batch_size ${maxBatch}`,
      );
    }
  }
  if (config.dynamic_batching && maxBatch === 0) {
    throw new ModelConfigError(model, `${where}: field dynamic_batching: needs max_batch_size > 0 (the model is declared unbatched)`);
  }
  return config;
}
