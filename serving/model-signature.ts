import { datatypeOfOrtType, datatypeOfTritonType, tritonTypeOf, type OipDatatype } from './datatypes';
import { ModelConfigError, type ConfigFileName, type ModelConfig, type TensorConfig, type VersionPolicy, type WarmupConfig } from './model-config';
import type { WireValueInfo } from './session-protocol';
import { DEFAULT_VERSION_POLICY } from './version-policy';
import { decodeWarmupFile, warmupFileKey, type WarmupSample, type WarmupValues } from './warmup-data';

export interface TensorSpec {
  name: string;
  datatype: OipDatatype;
  /** Every dimension, the batch dimension first when the model batches; -1 is variable. */
  dims: number[];
  optional: boolean;
}

export interface ModelSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** 0: the model does not batch and requests carry the model's full shape. */
  maxBatchSize: number;
}

/** How the scheduler treats one model version's requests. */
export interface SchedulingPolicy {
  /** False: each request runs alone (max_batch_size 0). */
  dynamicBatching: boolean;
  maxBatchSize: number;
  preferredBatchSizes: number[];
  maxQueueDelayUs: number;
  /** 0 = unbounded. */
  maxQueueSize: number;
  /** 0 = requests never time out in the queue. */
  defaultTimeoutUs: number;
  timeoutAction: 'REJECT' | 'DELAY';
  allowTimeoutOverride: boolean;
}

export interface ResolvedModel extends InstanceSettings {
  signature: ModelSignature;
  scheduling: SchedulingPolicy;
  versionPolicy: VersionPolicy;
  versionLabels: Record<string, number>;
  warmup: WarmupSample[];
  /** The effective configuration in Triton's JSON form, as `/v2/models/{m}/config` reports it. */
  tritonConfig: TritonConfigView;
}

export interface TritonTensorView {
  name: string;
  data_type: string;
  dims: number[];
  optional?: boolean;
}

export interface TritonConfigView {
  name: string;
  platform: 'onnxruntime_onnx';
  backend: 'onnxruntime';
  version_policy: VersionPolicy;
  max_batch_size: number;
  input: TritonTensorView[];
  output: TritonTensorView[];
  dynamic_batching?: {
    preferred_batch_size: number[];
    max_queue_delay_microseconds: number;
    default_queue_policy: {
      timeout_action: 'REJECT' | 'DELAY';
      default_timeout_microseconds: number;
      allow_timeout_override: boolean;
      max_queue_size: number;
    };
  };
  instance_group: Array<{ name: string; kind: 'KIND_CPU'; count: number }>;
  default_model_filename: string;
  parameters: Record<string, { string_value: string }>;
  model_warmup: Array<{
    name: string;
    batch_size: number;
    count: number;
    inputs: Record<string, { data_type: string; dims: number[]; zero_data?: boolean; random_data?: boolean; input_data_file?: string }>;
  }>;
}

export const DEFAULT_MODEL_FILENAME = 'model.onnx';

function toSpecs(model: string, kind: 'input' | 'output', values: readonly WireValueInfo[]): TensorSpec[] {
  return values.map((v) => {
    const datatype = v.isTensor ? datatypeOfOrtType(v.type) : undefined;
    if (!datatype) {
      throw new ModelConfigError(model, `model '${model}': ${kind} '${v.name}' has type ${v.type}, which this server cannot carry`);
    }
    return { name: v.name, datatype, dims: v.dims, optional: false };
  });
}

function parseThreadCount(model: string, config: ModelConfig | undefined, configFile: ConfigFileName, key: string): number | undefined {
  const raw = config?.parameters?.[key]?.string_value;
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) {
    throw new ModelConfigError(model, `model '${model}' ${configFile}: field parameters.${key}.string_value: expected a whole number, got "${raw}"`);
  }
  return Number(raw);
}

/**
 * Where sessions run: `worker` threads (one per instance), the server's `event_loop`, or `auto`: the
 * event loop when a full batch takes well under a millisecond, threads otherwise.
 */
export type SessionThread = 'auto' | 'worker' | 'event_loop';
const SESSION_THREADS: readonly SessionThread[] = ['auto', 'worker', 'event_loop'];

export interface InstanceSettings {
  instanceCount: number;
  intraOpThreads?: number;
  interOpThreads?: number;
  sessionThread: SessionThread;
}

/** What each session needs before it starts: how many, and the onnxruntime backend's thread parameters. */
export function resolveInstances(model: string, config: ModelConfig | undefined, configFile: ConfigFileName): InstanceSettings {
  const instanceCount = (config?.instance_group ?? [{}]).reduce((n, g) => n + (g.count ?? 1), 0);
  const intraOpThreads = parseThreadCount(model, config, configFile, 'intra_op_thread_count');
  const interOpThreads = parseThreadCount(model, config, configFile, 'inter_op_thread_count');
  const sessionThread = config?.parameters?.['session_thread']?.string_value ?? 'auto';
  if (!(SESSION_THREADS as readonly string[]).includes(sessionThread)) {
    throw new ModelConfigError(
      model,
      `model '${model}' ${configFile}: field parameters.session_thread.string_value: expected ${SESSION_THREADS.join(', ')}, got "${sessionThread}"`,
    );
  }
  return {
    instanceCount,
    sessionThread: sessionThread as SessionThread,
    ...(intraOpThreads !== undefined ? { intraOpThreads } : {}),
    ...(interOpThreads !== undefined ? { interOpThreads } : {}),
  };
}

/**
 * A config entry may narrow a variable model dimension but never contradict a fixed one; the result
 * is what requests are checked against.
 */
function applyTensorConfig(
  model: string,
  configFile: ConfigFileName,
  field: string,
  spec: TensorSpec,
  entry: TensorConfig,
  batched: boolean,
): TensorSpec {
  const where = `model '${model}' ${configFile}: field ${field}`;
  let datatype = spec.datatype;
  if (entry.data_type !== undefined) {
    const declared = datatypeOfTritonType(entry.data_type);
    if (declared !== spec.datatype) {
      throw new ModelConfigError(model, `${where}.data_type: ${entry.data_type} but the ONNX model has ${tritonTypeOf(spec.datatype)}`);
    }
    datatype = declared;
  }
  let dims = spec.dims;
  if (entry.dims !== undefined) {
    const modelDims = batched ? spec.dims.slice(1) : spec.dims;
    if (entry.dims.length !== modelDims.length) {
      throw new ModelConfigError(
        model,
        `${where}.dims: [${entry.dims.join(', ')}] has ${entry.dims.length} dimensions but the ONNX model has [${modelDims.join(', ')}]` +
          (batched ? ' after the batch dimension' : ''),
      );
    }
    const merged = modelDims.map((d, i) => {
      const c = entry.dims![i]!;
      if (d !== -1 && c !== -1 && c !== d) {
        throw new ModelConfigError(model, `${where}.dims[${i}]: ${c} but the ONNX model fixes it at ${d}`);
      }
      return d === -1 ? c : d;
    });
    dims = batched ? [-1, ...merged] : merged;
  }
  return { name: spec.name, datatype, dims, optional: entry.optional ?? false };
}

function mergeTensorConfigs(
  model: string,
  configFile: ConfigFileName,
  kind: 'input' | 'output',
  specs: TensorSpec[],
  entries: TensorConfig[] | undefined,
  batched: boolean,
): TensorSpec[] {
  if (!entries) return specs;
  const byName = new Map(specs.map((s) => [s.name, s]));
  const merged = new Map(byName);
  entries.forEach((entry, i) => {
    const spec = byName.get(entry.name);
    if (!spec) {
      throw new ModelConfigError(
        model,
        `model '${model}' ${configFile}: field ${kind}[${i}].name: the ONNX model has no ${kind} '${entry.name}' (it has ${specs.map((s) => `'${s.name}'`).join(', ')})`,
      );
    }
    merged.set(entry.name, applyTensorConfig(model, configFile, `${kind}[${i}]`, spec, entry, batched));
  });
  return specs.map((s) => merged.get(s.name)!);
}

/** Where a warm-up input's values come from; an input_data_file's content must be one sample of its dims. */
function warmupValues(
  model: string,
  where: string,
  datatype: OipDatatype,
  given: WarmupConfig['inputs'][string],
  warmupFiles: ReadonlyMap<string, Uint8Array>,
): WarmupValues {
  const file = given.input_data_file;
  if (file === undefined) return { kind: given.random_data === true ? 'random' : 'zero' };
  const fileWhere = `${where}: input_data_file ${warmupFileKey(model, file)}`;
  const raw = warmupFiles.get(file);
  if (!raw) throw new ModelConfigError(model, `${fileWhere}: the file was not read`);
  return { kind: 'file', file, sample: decodeWarmupFile(model, datatype, given.dims, raw, fileWhere) };
}

function resolveWarmup(
  model: string,
  config: ModelConfig | undefined,
  configFile: ConfigFileName,
  signature: ModelSignature,
  warmupFiles: ReadonlyMap<string, Uint8Array>,
): WarmupSample[] {
  const batched = signature.maxBatchSize > 0;
  const sampleDims = (spec: TensorSpec) => (batched ? spec.dims.slice(1) : spec.dims).map((d) => (d === -1 ? 1 : d));
  if (!config?.model_warmup || config.model_warmup.length === 0) {
    // Triton warms up only when asked; a first request paying session start-up costs is one of the pains
    // users report, so every version runs one zero-filled request before it takes traffic.
    return [
      {
        name: 'default',
        batchSize: batched ? 1 : 0,
        count: 1,
        inputs: signature.inputs.map((s) => ({ name: s.name, datatype: s.datatype, dims: sampleDims(s), values: { kind: 'zero' } })),
      },
    ];
  }
  return config.model_warmup.map((w, wi) => {
    const where = `model '${model}' ${configFile}: field model_warmup[${wi}]`;
    const batchSize = batched ? Math.max(1, w.batch_size ?? 1) : 0;
    if (batched && batchSize > signature.maxBatchSize) {
      throw new ModelConfigError(model, `${where}.batch_size: ${batchSize} exceeds max_batch_size ${signature.maxBatchSize}`);
    }
    for (const name of Object.keys(w.inputs)) {
      if (!signature.inputs.some((s) => s.name === name)) {
        throw new ModelConfigError(model, `${where}.inputs.${name}: the ONNX model has no input '${name}'`);
      }
    }
    const inputs = signature.inputs.map((s) => {
      const given = w.inputs[s.name];
      if (!given) throw new ModelConfigError(model, `${where}.inputs: input '${s.name}' is missing`);
      if (datatypeOfTritonType(given.data_type) !== s.datatype) {
        throw new ModelConfigError(model, `${where}.inputs.${s.name}.data_type: ${given.data_type} but the model has ${tritonTypeOf(s.datatype)}`);
      }
      const expected = batched ? s.dims.slice(1) : s.dims;
      const ok = given.dims.length === expected.length && given.dims.every((d, i) => expected[i] === -1 || expected[i] === d);
      if (!ok) {
        throw new ModelConfigError(model, `${where}.inputs.${s.name}.dims: [${given.dims.join(', ')}] does not fit the model's [${expected.join(', ')}]`);
      }
      const sampleWhere = `model '${model}' ${configFile}: model_warmup[${wi}] '${w.name}' input '${s.name}'`;
      return { name: s.name, datatype: s.datatype, dims: given.dims, values: warmupValues(model, sampleWhere, s.datatype, given, warmupFiles) };
    });
    return { name: w.name, batchSize, count: Math.max(1, w.count ?? 1), inputs };
  });
}

/** A warm-up input's source as Triton's config names it. */
function warmupSourceView(values: WarmupValues): { zero_data: true } | { random_data: true } | { input_data_file: string } {
  if (values.kind === 'file') return { input_data_file: values.file };
  return values.kind === 'random' ? { random_data: true } : { zero_data: true };
}

/**
 * Combines what the ONNX model declares with the model's optional config, the way Triton's onnxruntime
 * backend auto-completes a configuration: without max_batch_size, a model whose every input and output
 * has a variable first dimension batches up to `defaultMaxBatchSize` with dynamic batching on.
 * Errors name `configFile`, the file `config` came from, so the user edits the file the model has.
 */
export function resolveModel(
  model: string,
  config: ModelConfig | undefined,
  configFile: ConfigFileName,
  session: { inputs: readonly WireValueInfo[]; outputs: readonly WireValueInfo[] },
  defaults: { defaultMaxBatchSize: number; modelFilename: string },
  /** The input_data_file contents of the config's warm-up, by file name (read from the model's warmup/ directory). */
  warmupFiles: ReadonlyMap<string, Uint8Array> = new Map(),
): ResolvedModel {
  const rawInputs = toSpecs(model, 'input', session.inputs);
  const rawOutputs = toSpecs(model, 'output', session.outputs);
  const all = [...rawInputs, ...rawOutputs];
  const batchable = all.length > 0 && all.every((s) => s.dims.length > 0 && s.dims[0] === -1);
  const maxBatchSize = config?.max_batch_size ?? (batchable ? defaults.defaultMaxBatchSize : 0);
  if (maxBatchSize > 0 && !batchable) {
    const culprit = all.find((s) => s.dims.length === 0 || s.dims[0] !== -1)!;
    throw new ModelConfigError(
      model,
      `model '${model}' ${configFile}: field max_batch_size: ${maxBatchSize} needs a variable first dimension on every input and output, ` +
        `but '${culprit.name}' has shape [${culprit.dims.join(', ')}]; set max_batch_size to 0`,
    );
  }
  const batched = maxBatchSize > 0;
  const signature: ModelSignature = {
    inputs: mergeTensorConfigs(model, configFile, 'input', rawInputs, config?.input, batched),
    outputs: mergeTensorConfigs(model, configFile, 'output', rawOutputs, config?.output, batched),
    maxBatchSize,
  };
  const queuePolicy = config?.dynamic_batching?.default_queue_policy;
  const scheduling: SchedulingPolicy = {
    dynamicBatching: batched,
    maxBatchSize,
    preferredBatchSizes: [...(config?.dynamic_batching?.preferred_batch_size ?? [])].sort((a, b) => a - b),
    maxQueueDelayUs: config?.dynamic_batching?.max_queue_delay_microseconds ?? 0,
    maxQueueSize: queuePolicy?.max_queue_size ?? 0,
    defaultTimeoutUs: queuePolicy?.default_timeout_microseconds ?? 0,
    timeoutAction: queuePolicy?.timeout_action ?? 'REJECT',
    allowTimeoutOverride: queuePolicy?.allow_timeout_override ?? false,
  };
  const { instanceCount, intraOpThreads, interOpThreads, sessionThread } = resolveInstances(model, config, configFile);
  const versionPolicy = config?.version_policy ?? DEFAULT_VERSION_POLICY;
  const warmup = resolveWarmup(model, config, configFile, signature, warmupFiles);
  const tensorView = (s: TensorSpec): TritonTensorView => ({
    name: s.name,
    data_type: tritonTypeOf(s.datatype),
    dims: batched ? s.dims.slice(1) : s.dims,
    ...(s.optional ? { optional: true } : {}),
  });
  const tritonConfig: TritonConfigView = {
    name: model,
    platform: 'onnxruntime_onnx',
    backend: 'onnxruntime',
    version_policy: versionPolicy,
    max_batch_size: maxBatchSize,
    input: signature.inputs.map(tensorView),
    output: signature.outputs.map(tensorView),
    ...(batched
      ? {
          dynamic_batching: {
            preferred_batch_size: scheduling.preferredBatchSizes,
            max_queue_delay_microseconds: scheduling.maxQueueDelayUs,
            default_queue_policy: {
              timeout_action: scheduling.timeoutAction,
              default_timeout_microseconds: scheduling.defaultTimeoutUs,
              allow_timeout_override: scheduling.allowTimeoutOverride,
              max_queue_size: scheduling.maxQueueSize,
            },
          },
        }
      : {}),
    instance_group: [{ name: `${model}_0`, kind: 'KIND_CPU', count: instanceCount }],
    default_model_filename: defaults.modelFilename,
    parameters: config?.parameters ?? {},
    model_warmup: warmup.map((w) => ({
      name: w.name,
      batch_size: w.batchSize,
      count: w.count,
      inputs: Object.fromEntries(
        w.inputs.map((i) => [
          i.name,
          { data_type: tritonTypeOf(i.datatype), dims: i.dims, ...warmupSourceView(i.values) },
        ]),
      ),
    })),
  };
  return {
    signature,
    scheduling,
    instanceCount,
    sessionThread,
    ...(intraOpThreads !== undefined ? { intraOpThreads } : {}),
    ...(interOpThreads !== undefined ? { interOpThreads } : {}),
    versionPolicy,
    versionLabels: config?.version_labels ?? {},
    warmup,
    tritonConfig,
  };
}
