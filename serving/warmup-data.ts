import { createTensorData, ortTypeOf, tensorDataFromRaw, tritonTypeOf, type NumericArray, type OipDatatype, type TensorData } from './datatypes';
import { ServingError } from './errors';
import { ModelConfigError, type ModelConfig } from './model-config';
import type { WireTensor } from './session-protocol';

/**
 * The requests a version runs before it takes traffic (Triton's model_warmup), and where each input's
 * values come from: zeros, random values, or one sample read from a file in the model's `warmup/`
 * directory (input_data_file), duplicated to the request's batch size as Triton does.
 */

/** The model directory's sub-directory holding input_data_file files, as in Triton. */
export const WARMUP_DIR = 'warmup';

export type WarmupValues = { kind: 'zero' } | { kind: 'random' } | { kind: 'file'; file: string; sample: TensorData };

export interface WarmupSample {
  name: string;
  /** Rows per warm-up request; 0 for unbatched models (the dims are the full shape). */
  batchSize: number;
  count: number;
  inputs: Array<{ name: string; datatype: OipDatatype; dims: number[]; values: WarmupValues }>;
}

/** The repository key of an input_data_file of `model`. */
export function warmupFileKey(model: string, file: string): string {
  return `${model}/${WARMUP_DIR}/${file}`;
}

/** The input_data_file names a model's config uses, once each. */
export function warmupFilesOf(config: ModelConfig | undefined): string[] {
  const files = (config?.model_warmup ?? []).flatMap((w) => Object.values(w.inputs).flatMap((i) => (i.input_data_file ? [i.input_data_file] : [])));
  return [...new Set(files)];
}

/**
 * One sample of `dims` from an input_data_file's bytes, in Triton's raw layout (row-major,
 * little-endian; a BYTES element is a 4-byte length then its bytes). The file must hold exactly one
 * sample: `where` names the model, the warm-up, the input and the file in the error.
 */
export function decodeWarmupFile(model: string, datatype: OipDatatype, dims: readonly number[], raw: Uint8Array, where: string): TensorData {
  const count = dims.reduce((a, b) => a * b, 1);
  const sample = createTensorData(datatype, 1);
  if (!Array.isArray(sample)) {
    const expected = count * (sample as NumericArray).byteLength;
    if (raw.byteLength !== expected) {
      throw new ModelConfigError(
        model,
        `${where}: holds ${raw.byteLength} bytes, expected ${expected} (one sample of dims [${dims.join(', ')}] in ${tritonTypeOf(datatype)}; batch_size repeats it)`,
      );
    }
  }
  try {
    return tensorDataFromRaw(datatype, raw, count, where);
  } catch (err) {
    if (err instanceof ServingError) throw new ModelConfigError(model, `${err.message} (one sample of dims [${dims.join(', ')}] in ${tritonTypeOf(datatype)})`);
    throw err;
  }
}

/** `sample` repeated until it fills `count` elements. */
function repeated(datatype: OipDatatype, sample: TensorData, count: number): TensorData {
  if (Array.isArray(sample)) return Array.from({ length: count }, (_, i) => sample[i % sample.length]!);
  const out = createTensorData(datatype, count) as NumericArray;
  const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  const one = new Uint8Array(sample.buffer, sample.byteOffset, sample.byteLength);
  for (let at = 0; one.byteLength > 0 && at < bytes.byteLength; at += one.byteLength) bytes.set(one, at);
  return out;
}

function warmupData(datatype: OipDatatype, count: number, values: WarmupValues): TensorData {
  if (values.kind === 'file') return repeated(datatype, values.sample, count);
  const data = createTensorData(datatype, count);
  if (values.kind === 'zero') return data;
  if (Array.isArray(data)) return data.map((_, i) => `warmup-${i}`);
  const numeric = data as NumericArray;
  for (let i = 0; i < count; i++) {
    if (numeric instanceof BigInt64Array || numeric instanceof BigUint64Array) numeric[i] = BigInt(i % 100);
    else if (numeric instanceof Float32Array || numeric instanceof Float64Array) numeric[i] = Math.random();
    else if (datatype === 'BOOL') numeric[i] = i % 2;
    else if (datatype === 'FP16') numeric[i] = 0x3c00;
    else numeric[i] = i % 100;
  }
  return numeric;
}

/** The tensors of one warm-up request. */
export function warmupFeeds(sample: WarmupSample): WireTensor[] {
  return sample.inputs.map((input) => {
    const dims = sample.batchSize > 0 ? [sample.batchSize, ...input.dims] : input.dims;
    const count = dims.reduce((a, b) => a * b, 1);
    return { name: input.name, type: ortTypeOf(input.datatype), dims, data: warmupData(input.datatype, count, input.values) };
  });
}
