import { tensorDataFromJson, tensorDataFromRaw, tensorDataToRaw, type OipDatatype } from '../datatypes';
import { ServingError } from '../errors';
import { checkTensorHeader, type InferRequest, type InferResponse, type InferTensor } from '../inference-request';
import type { InferParameterMessage, InferTensorContentsMessage, ModelInferRequestMessage } from './grpc-messages';

/** Which InferTensorContents field carries each datatype when raw_input_contents is not used. */
function typedContents(datatype: OipDatatype, contents: InferTensorContentsMessage): unknown[] | undefined {
  switch (datatype) {
    case 'BOOL':
      return contents.bool_contents;
    case 'INT8':
    case 'INT16':
    case 'INT32':
      return contents.int_contents;
    case 'INT64':
      return contents.int64_contents;
    case 'UINT8':
    case 'UINT16':
    case 'UINT32':
      return contents.uint_contents;
    case 'UINT64':
      return contents.uint64_contents;
    case 'FP32':
      return contents.fp32_contents;
    case 'FP64':
      return contents.fp64_contents;
    case 'BYTES':
      return contents.bytes_contents.map((b) => b.toString('utf8'));
    default:
      return undefined;
  }
}

function integerParameter(p: InferParameterMessage | undefined, name: string): number | undefined {
  if (!p) return undefined;
  const value = p.parameter_choice === 'int64_param' ? p.int64_param : p.parameter_choice === 'uint64_param' ? p.uint64_param : undefined;
  if (value === undefined || value < 0) throw new ServingError('invalid_argument', `parameter '${name}' must be a non-negative int64_param`);
  return value;
}

export function decodeGrpcRequest(msg: ModelInferRequestMessage): InferRequest {
  if (msg.inputs.length === 0) throw new ServingError('invalid_argument', 'request has no inputs');
  const raw = msg.raw_input_contents;
  if (raw.length > 0 && raw.length !== msg.inputs.length) {
    throw new ServingError('invalid_argument', `raw_input_contents has ${raw.length} entries for ${msg.inputs.length} inputs`);
  }
  const inputs: InferTensor[] = msg.inputs.map((input, i) => {
    const { datatype, count } = checkTensorHeader(input.name, input.datatype, input.shape);
    const what = `input '${input.name}'`;
    if (raw.length > 0) return { name: input.name, datatype, shape: input.shape, data: tensorDataFromRaw(datatype, raw[i]!, count, what) };
    if (!input.contents) throw new ServingError('invalid_argument', `${what}: has neither contents nor raw_input_contents`);
    const values = typedContents(datatype, input.contents);
    if (!values) throw new ServingError('invalid_argument', `${what}: ${datatype} data must be sent in raw_input_contents`);
    return { name: input.name, datatype, shape: input.shape, data: tensorDataFromJson(datatype, values, count, what) };
  });
  const timeoutUs = integerParameter(msg.parameters['timeout'], 'timeout');
  const classifications: Record<string, number> = {};
  for (const o of msg.outputs) {
    const k = integerParameter(o.parameters['classification'], 'classification');
    if (k !== undefined) classifications[o.name] = k;
  }
  return {
    ...(msg.id ? { id: msg.id } : {}),
    inputs,
    ...(msg.outputs.length > 0 ? { outputs: msg.outputs.map((o) => o.name) } : {}),
    ...(timeoutUs !== undefined ? { timeoutUs } : {}),
    ...(Object.keys(classifications).length > 0 ? { classifications } : {}),
  };
}

/** Outputs go back as raw_output_contents, as Triton answers. */
export function encodeGrpcResponse(response: InferResponse): object {
  return {
    model_name: response.modelName,
    model_version: String(response.modelVersion),
    id: response.id ?? '',
    outputs: response.outputs.map((o) => ({ name: o.name, datatype: o.datatype, shape: o.shape })),
    raw_output_contents: response.outputs.map((o) => tensorDataToRaw(o.datatype, o.data)),
  };
}
