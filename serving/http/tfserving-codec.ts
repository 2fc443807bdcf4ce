import { z } from 'zod';
import { tensorDataFromJson, tensorDataToJson, type OipDatatype } from '../datatypes';
import { ServingError } from '../errors';
import { checkTensorHeader, type InferTensor } from '../inference-request';
import type { TensorSpec } from '../model-signature';
import type { VersionStatus } from '../model-repository';
import { describeZodError } from '../zod-issues';

/** `POST /v1/models/{m}...:predict`: row form (`instances`) or columnar form (`inputs`), never both. */
export const PredictBodySchema = z
  .strictObject({
    signature_name: z.string().optional(),
    instances: z.custom<unknown[]>((v) => Array.isArray(v), { message: 'expected an array' }).optional(),
    inputs: z.unknown().optional(),
  })
  .refine((b) => (b.instances === undefined) !== (b.inputs === undefined), {
    message: 'expected exactly one of "instances" (row format) or "inputs" (columnar format)',
  });

export type PredictFormat = 'row' | 'columnar';

export interface DecodedPredict {
  format: PredictFormat;
  inputs: InferTensor[];
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isB64 = (v: unknown): v is { b64: string } => isPlainObject(v) && Object.keys(v).length === 1 && typeof v.b64 === 'string';

/** The shape of a nested JSON list, checking that it is rectangular. */
function inferShape(value: unknown, what: string, depth = 0): number[] {
  if (!Array.isArray(value)) return [];
  if (depth > 32) throw new ServingError('invalid_argument', `${what}: nested more than 32 levels deep`);
  if (value.length === 0) return [0];
  const inner = inferShape(value[0], what, depth + 1);
  for (let i = 1; i < value.length; i++) {
    const other = inferShape(value[i], what, depth + 1);
    if (other.length !== inner.length || other.some((d, j) => d !== inner[j])) {
      throw new ServingError(
        'invalid_argument',
        `${what}: ragged list: element 0 has shape [${inner.join(', ')}] but element ${i} has [${other.join(', ')}]`,
      );
    }
  }
  return [value.length, ...inner];
}

/** TF Serving writes binary strings as {"b64": "..."}; plain strings are taken as they are. */
function leaves(value: unknown, datatype: OipDatatype): unknown[] {
  const out: unknown[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) for (const x of v) walk(x);
    else if (datatype === 'BYTES' && isB64(v)) out.push(Buffer.from(v.b64, 'base64').toString('utf8'));
    else out.push(v);
  };
  walk(value);
  return out;
}

function tensorFrom(spec: TensorSpec, shape: number[], values: unknown[], what: string): InferTensor {
  const { count } = checkTensorHeader(spec.name, spec.datatype, shape);
  return { name: spec.name, datatype: spec.datatype, shape, data: tensorDataFromJson(spec.datatype, values, count, what) };
}

function decodeRows(instances: unknown[], inputs: readonly TensorSpec[]): InferTensor[] {
  if (instances.length === 0) throw new ServingError('invalid_argument', '"instances" is empty');
  const named = instances.every((i) => isPlainObject(i) && !isB64(i));
  if (!named && inputs.length !== 1) {
    throw new ServingError(
      'invalid_argument',
      `the model has ${inputs.length} inputs (${inputs.map((s) => s.name).join(', ')}), so each instance must be an object keyed by input name`,
    );
  }
  if (named) {
    const known = new Set(inputs.map((s) => s.name));
    instances.forEach((inst, i) => {
      for (const key of Object.keys(inst as object)) {
        if (!known.has(key)) throw new ServingError('invalid_argument', `instances[${i}]: the model has no input '${key}'`);
      }
    });
  }
  return inputs.map((spec) => {
    const rowValues = instances.map((inst, i) => {
      const v = named ? (inst as Record<string, unknown>)[spec.name] : inst;
      if (v === undefined) throw new ServingError('invalid_argument', `instances[${i}]: missing input '${spec.name}'`);
      return v;
    });
    const rowShape = inferShape(rowValues[0], `instances[0].${spec.name}`);
    rowValues.forEach((v, i) => {
      const s = inferShape(v, `instances[${i}].${spec.name}`);
      if (s.length !== rowShape.length || s.some((d, j) => d !== rowShape[j])) {
        throw new ServingError(
          'invalid_argument',
          `instances[${i}].${spec.name}: shape [${s.join(', ')}] differs from instances[0]'s [${rowShape.join(', ')}]`,
        );
      }
    });
    return tensorFrom(spec, [instances.length, ...rowShape], leaves(rowValues, spec.datatype), `input '${spec.name}'`);
  });
}

function decodeColumns(inputs: unknown, specs: readonly TensorSpec[]): InferTensor[] {
  const named = isPlainObject(inputs) && !isB64(inputs);
  if (!named) {
    if (specs.length !== 1) {
      throw new ServingError('invalid_argument', `the model has ${specs.length} inputs, so "inputs" must be an object keyed by input name`);
    }
    const spec = specs[0]!;
    return [tensorFrom(spec, inferShape(inputs, `inputs`), leaves(inputs, spec.datatype), `input '${spec.name}'`)];
  }
  const known = new Set(specs.map((s) => s.name));
  for (const key of Object.keys(inputs)) {
    if (!known.has(key)) throw new ServingError('invalid_argument', `inputs.${key}: the model has no input '${key}'`);
  }
  return specs
    .filter((spec) => inputs[spec.name] !== undefined || !spec.optional)
    .map((spec) => {
      const v = inputs[spec.name];
      if (v === undefined) throw new ServingError('invalid_argument', `inputs: missing input '${spec.name}'`);
      return tensorFrom(spec, inferShape(v, `inputs.${spec.name}`), leaves(v, spec.datatype), `input '${spec.name}'`);
    });
}

export function decodePredict(body: unknown, inputs: readonly TensorSpec[]): DecodedPredict {
  const parsed = PredictBodySchema.safeParse(body);
  if (!parsed.success) throw new ServingError('invalid_argument', `request body: ${describeZodError(parsed.error)}`);
  const { signature_name: signature, instances } = parsed.data;
  if (signature !== undefined && signature !== 'serving_default' && signature !== '') {
    throw new ServingError('invalid_argument', `unknown signature_name '${signature}' (this model has only "serving_default")`);
  }
  if (instances !== undefined) return { format: 'row', inputs: decodeRows(instances, inputs) };
  return { format: 'columnar', inputs: decodeColumns(parsed.data.inputs, inputs) };
}

function nest(values: readonly unknown[], shape: readonly number[], offset = 0): unknown {
  if (shape.length === 0) return values[offset];
  const [n, ...rest] = shape;
  const stride = rest.reduce((a, b) => a * b, 1);
  return Array.from({ length: n! }, (_, i) => nest(values, rest, offset + i * stride));
}

function flatValues(t: InferTensor): unknown[] {
  return JSON.parse(tensorDataToJson(t.datatype, t.data)) as unknown[];
}

/** `{"predictions": [...]}` for row requests, `{"outputs": ...}` for columnar ones, as TF Serving answers. */
export function encodePredict(format: PredictFormat, outputs: readonly InferTensor[]): string {
  if (format === 'columnar') {
    const nested = outputs.map((o) => [o.name, nest(flatValues(o), o.shape)] as const);
    return JSON.stringify({ outputs: nested.length === 1 ? nested[0]![1] : Object.fromEntries(nested) });
  }
  const rows = outputs[0]?.shape[0] ?? 0;
  const perOutput = outputs.map((o) => {
    if (o.shape.length === 0 || o.shape[0] !== rows) {
      throw new ServingError('internal', `output '${o.name}' has shape [${o.shape.join(', ')}], which has no row per instance`);
    }
    const nested = nest(flatValues(o), o.shape) as unknown[];
    return [o.name, nested] as const;
  });
  const predictions = Array.from({ length: rows }, (_, r) =>
    perOutput.length === 1 ? perOutput[0]![1][r] : Object.fromEntries(perOutput.map(([name, nested]) => [name, nested[r]])),
  );
  return JSON.stringify({ predictions });
}

const TF_STATE: Record<VersionStatus['state'], string> = { LOADING: 'LOADING', READY: 'AVAILABLE', UNLOADING: 'UNLOADING', FAILED: 'END' };

/** GetModelStatus in TF Serving's REST form. */
export function encodeModelStatus(statuses: readonly VersionStatus[]): string {
  return JSON.stringify({
    model_version_status: statuses.map((s) => ({
      version: String(s.version),
      state: TF_STATE[s.state],
      status: s.state === 'FAILED' ? { error_code: 'UNKNOWN', error_message: s.reason } : { error_code: 'OK', error_message: '' },
    })),
  });
}

const TF_DTYPE: Record<string, string> = {
  BOOL: 'DT_BOOL',
  UINT8: 'DT_UINT8',
  UINT16: 'DT_UINT16',
  UINT32: 'DT_UINT32',
  UINT64: 'DT_UINT64',
  INT8: 'DT_INT8',
  INT16: 'DT_INT16',
  INT32: 'DT_INT32',
  INT64: 'DT_INT64',
  FP16: 'DT_HALF',
  FP32: 'DT_FLOAT',
  FP64: 'DT_DOUBLE',
  BYTES: 'DT_STRING',
};

/** GetModelMetadata: the serving_default signature in TF Serving's REST form. */
export function encodeModelMetadata(model: string, version: number, inputs: readonly TensorSpec[], outputs: readonly TensorSpec[]): string {
  const sig = (specs: readonly TensorSpec[]) =>
    Object.fromEntries(
      specs.map((s) => [
        s.name,
        { dtype: TF_DTYPE[s.datatype], tensor_shape: { dim: s.dims.map((d) => ({ size: String(d), name: '' })), unknown_rank: false }, name: s.name },
      ]),
    );
  return JSON.stringify({
    model_spec: { name: model, signature_name: '', version: String(version) },
    metadata: {
      signature_def: {
        signature_def: {
          serving_default: { inputs: sig(inputs), outputs: sig(outputs), method_name: 'tensorflow/serving/predict' },
        },
      },
    },
  });
}
