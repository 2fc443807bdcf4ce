import path from 'node:path';
import * as protobuf from 'protobufjs';
import { z } from 'zod';
import { parseTextProto, TextProtoError } from '../artifacts/text-proto';
import { issueLines, issuePath } from '../dsl/zod-issues';
import { protoDir } from './grpc/grpc-proto';

/**
 * `<repo>/<model>/config.pbtxt` or `config.json`: Triton's model configuration, as Triton's text
 * protobuf or in its JSON form (the field names of model_config.proto). Only fields this server acts
 * on are accepted, so a typo or an unsupported feature is an error naming the field rather than a
 * silently ignored setting.
 */

/**
 * The configuration files a model directory may hold, the one read first when both are there: Triton
 * reads config.pbtxt alone, so a repository made for Triton serves here as it does there.
 */
export const CONFIG_FILES = ['config.pbtxt', 'config.json'] as const;
export type ConfigFileName = (typeof CONFIG_FILES)[number];

/** Protobuf's JSON mapping (and so the text-format reader) writes 64-bit integers as strings; accept both. */
const uint = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/, 'expected a non-negative integer').transform(Number)]);
const positiveInt = z.number().int().positive();
const positiveInt64 = z.union([positiveInt, z.string().regex(/^\d+$/, 'expected a positive integer').transform(Number).pipe(positiveInt)]);
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
  z.strictObject({ specific: z.strictObject({ versions: z.array(positiveInt64).min(1) }) }),
]);
export type VersionPolicy = z.infer<typeof VersionPolicySchema>;

/** A file directly in the model's `warmup/` directory, as Triton reads input_data_file from there. */
const WarmupDataFileSchema = z
  .string()
  .regex(/^[^/\\]+$/, "expected a file name in the model's warmup directory (no path)")
  .refine((name) => name !== '.' && name !== '..', "expected a file name in the model's warmup directory (no path)");

/** Triton's input_data_type is a oneof: exactly one source of the sample's values. */
const WarmupInputSchema = z
  .strictObject({
    data_type: DataTypeSchema,
    dims: z.array(uint),
    zero_data: z.boolean().optional(),
    random_data: z.boolean().optional(),
    input_data_file: WarmupDataFileSchema.optional(),
  })
  .refine((v) => [v.zero_data === true, v.random_data === true, v.input_data_file !== undefined].filter(Boolean).length === 1, {
    message: 'set exactly one of zero_data, random_data (true) or input_data_file',
  });

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
    .record(z.string().regex(VERSION_LABEL, 'labels start with a letter and use letters, digits, _ and -'), positiveInt64)
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

/** A config file's content before validation, and how to name the place of a field in it. */
interface ConfigSource {
  raw: unknown;
  /** Every issue's text, each after the place it names. */
  describe(issues: ReadonlyArray<{ path: readonly PropertyKey[]; text: string }>): string;
}

/**
 * A field number for mlpipe's `version_labels` far above any Triton will give a field of ModelConfig;
 * the field only exists for reading text, it is never encoded.
 */
const VERSION_LABELS_FIELD_NUMBER = 536_870_911;
let tritonModelConfig: protobuf.Type | undefined;

/**
 * Triton's ModelConfig from Triton's own model_config.proto (the one the gRPC service uses too), plus
 * mlpipe's version_labels, so that config.pbtxt can say what config.json can. Loaded on first use:
 * most repositories hold config.json or nothing.
 */
export function tritonModelConfigType(): protobuf.Type {
  if (!tritonModelConfig) {
    const root = new protobuf.Root().loadSync(path.join(protoDir(), 'model_config.proto'), { keepCase: true });
    const type = root.lookupType('inference.ModelConfig');
    type.add(new protobuf.MapField('version_labels', VERSION_LABELS_FIELD_NUMBER, 'string', 'int64'));
    root.resolveAll();
    tritonModelConfig = type;
  }
  return tritonModelConfig;
}

function readJson(model: string, text: string): ConfigSource {
  const where = `model '${model}' config.json`;
  try {
    return { raw: JSON.parse(text), describe: (issues) => `${where}: ${issues.map((i) => i.text).join('; ')}` };
  } catch (err) {
    throw new ModelConfigError(model, `${where}: not valid JSON: ${(err as Error).message}`);
  }
}

function readPbtxt(model: string, text: string): ConfigSource {
  let parsed: ReturnType<typeof parseTextProto>;
  try {
    parsed = parseTextProto(text, tritonModelConfigType(), 'config.pbtxt');
  } catch (err) {
    if (err instanceof TextProtoError) throw new ModelConfigError(model, `model '${model}' ${err.message}`);
    throw err;
  }
  const place = (path: readonly PropertyKey[]) => {
    const at = parsed.positionOf(path);
    return at ? `config.pbtxt:${at.line}:${at.column}` : 'config.pbtxt';
  };
  return { raw: parsed.value, describe: (issues) => `model '${model}' ${issues.map((i) => `${place(i.path)}: ${i.text}`).join('; ')}` };
}

/** Where a zod issue points: an unknown key's own place rather than the object holding it. */
function issueTarget(issue: z.core.$ZodIssue): readonly PropertyKey[] {
  return issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined ? [...issue.path, issue.keys[0]] : issue.path;
}

/**
 * Parses a model's config.json or config.pbtxt text; every error names the model, the file and the
 * field, and for config.pbtxt the line and column.
 */
export function parseModelConfig(model: string, text: string, file: ConfigFileName = 'config.json'): ModelConfig {
  const source = file === 'config.json' ? readJson(model, text) : readPbtxt(model, text);
  const fail = (path: readonly PropertyKey[], text: string): never => {
    throw new ModelConfigError(model, source.describe([{ path, text: `field ${issuePath(path)}: ${text}` }]));
  };
  const parsed = ModelConfigSchema.safeParse(source.raw);
  if (!parsed.success) {
    const texts = issueLines(parsed.error, '', (i) => (i.path.length > 0 ? `field ${issuePath(i.path)}` : ''));
    throw new ModelConfigError(model, source.describe(parsed.error.issues.map((issue, i) => ({ path: issueTarget(issue), text: texts[i]! }))));
  }
  const config = parsed.data;
  if (config.name !== undefined && config.name !== model) {
    fail(['name'], `"${config.name}" differs from the model directory name "${model}"`);
  }
  const preferred = config.dynamic_batching?.preferred_batch_size ?? [];
  const maxBatch = config.max_batch_size;
  if (maxBatch !== undefined && maxBatch > 0) {
    const tooBig = preferred.find((p) => p > maxBatch);
    if (tooBig !== undefined) fail(['dynamic_batching', 'preferred_batch_size'], `${tooBig} exceeds max_batch_size ${maxBatch}`);
  }
  if (config.dynamic_batching && maxBatch === 0) {
    fail(['dynamic_batching'], 'needs max_batch_size > 0 (the model is declared unbatched)');
  }
  return config;
}
