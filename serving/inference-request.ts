import { isSupportedDatatype, OIP_DATATYPES, type OipDatatype, type TensorData } from './datatypes';
import { ServingError } from './errors';
import type { ModelSignature } from './model-signature';

/** A decoded tensor, protocol-independent. */
export interface InferTensor {
  name: string;
  datatype: OipDatatype;
  shape: number[];
  data: TensorData;
}

export interface InferRequest {
  id?: string;
  inputs: InferTensor[];
  /** Outputs to return; all of the model's outputs when absent. */
  outputs?: string[];
  /** Queue timeout in microseconds (honoured when the model allows timeout override). */
  timeoutUs?: number;
  /** The classification extension: output name -> how many top classes to return instead of the scores. */
  classifications?: Record<string, number>;
}

export interface InferResponse {
  modelName: string;
  modelVersion: number;
  id?: string;
  outputs: InferTensor[];
}

/** A request checked against a model signature and ready for the batcher. */
export interface PreparedRequest {
  rows: number;
  batchKey: string;
  /** In the model's input order. */
  inputs: InferTensor[];
  outputNames: string[];
}

/** Largest element count one tensor may declare; keeps a hostile shape from allocating gigabytes. */
export const MAX_TENSOR_ELEMENTS = 2 ** 28;

/** Checks a protocol's datatype string and shape before any data is decoded. */
export function checkTensorHeader(name: string, datatype: string, shape: readonly number[]): { datatype: OipDatatype; count: number } {
  const what = `input '${name}'`;
  if (!(OIP_DATATYPES as readonly string[]).includes(datatype)) {
    throw new ServingError('invalid_argument', `${what}: unknown datatype '${datatype}' (expected one of ${OIP_DATATYPES.join(', ')})`);
  }
  if (!isSupportedDatatype(datatype)) {
    throw new ServingError('invalid_argument', `${what}: datatype ${datatype} is not supported by onnxruntime-node`);
  }
  let count = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ServingError('invalid_argument', `${what}: shape [${shape.join(', ')}] must hold non-negative integers`);
    count *= d;
  }
  if (count > MAX_TENSOR_ELEMENTS) {
    throw new ServingError('invalid_argument', `${what}: shape [${shape.join(', ')}] has ${count} elements, more than the limit of ${MAX_TENSOR_ELEMENTS}`);
  }
  return { datatype, count };
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Checks inputs against the signature: every required input present once, no unknown names, datatypes
 * equal, shapes compatible, one batch size shared by all inputs and within max_batch_size.
 */
export function prepareRequest(model: string, signature: ModelSignature, request: InferRequest): PreparedRequest {
  // Linear scans: models have a handful of inputs, and this runs for every request.
  const given = request.inputs;
  for (let i = 0; i < given.length; i++) {
    const name = given[i]!.name;
    for (let j = 0; j < i; j++) if (given[j]!.name === name) throw new ServingError('invalid_argument', `input '${name}' is given twice`);
    if (!signature.inputs.some((s) => s.name === name)) {
      throw new ServingError(
        'invalid_argument',
        `model '${model}' has no input '${name}' (inputs: ${signature.inputs.map((s) => s.name).join(', ')})`,
      );
    }
  }
  const batched = signature.maxBatchSize > 0;
  let rows = -1;
  let batchKey = '';
  const inputs: InferTensor[] = [];
  for (const spec of signature.inputs) {
    const t = given.find((g) => g.name === spec.name);
    if (!t) {
      if (spec.optional) continue;
      throw new ServingError('invalid_argument', `missing input '${spec.name}' for model '${model}'`);
    }
    if (t.datatype !== spec.datatype) {
      throw new ServingError('invalid_argument', `input '${spec.name}': datatype ${t.datatype}, but model '${model}' expects ${spec.datatype}`);
    }
    const shapeOk = t.shape.length === spec.dims.length && spec.dims.every((d, i) => d === -1 || d === t.shape[i]);
    if (!shapeOk) {
      throw new ServingError(
        'invalid_argument',
        `input '${spec.name}': shape ${shapeText(t.shape)} does not match model '${model}' shape ${shapeText(spec.dims)} (-1 is any size)`,
      );
    }
    if (batched) {
      const n = t.shape[0]!;
      if (rows === -1) rows = n;
      else if (n !== rows) {
        throw new ServingError('invalid_argument', `input '${spec.name}': batch size ${n} differs from the other inputs' ${rows}`);
      }
      batchKey += `${t.shape.slice(1).join(',')};`;
    }
    inputs.push(t);
  }
  if (batched) {
    if (rows < 1) throw new ServingError('invalid_argument', `batch size must be at least 1 for model '${model}'`);
    if (rows > signature.maxBatchSize) {
      throw new ServingError('invalid_argument', `batch size ${rows} exceeds max_batch_size ${signature.maxBatchSize} of model '${model}'`);
    }
  }
  let outputNames = signature.outputs.map((o) => o.name);
  if (request.outputs) {
    const seen = new Set<string>();
    for (const name of request.outputs) {
      if (!outputNames.includes(name)) {
        throw new ServingError('invalid_argument', `model '${model}' has no output '${name}' (outputs: ${outputNames.join(', ')})`);
      }
      if (seen.has(name)) throw new ServingError('invalid_argument', `output '${name}' is requested twice`);
      seen.add(name);
    }
    outputNames = request.outputs;
  }
  return { rows: batched ? rows : 1, batchKey, inputs, outputNames };
}
