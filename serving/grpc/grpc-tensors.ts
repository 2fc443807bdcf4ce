import { tensorDataFromJson, tensorDataFromRaw, tensorDataToRaw, type OipDatatype } from '../datatypes';
import { ServingError } from '../errors';
import { checkTensorHeader, type InferRequest, type InferResponse, type InferTensor } from '../inference-request';
import { sharedMemoryRef, type SharedMemoryRef, type SystemSharedMemory } from '../shared-memory';
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

/** A tensor's shared memory reference from its InferParameters (each reduced to the value its oneof holds). */
function grpcSharedMemoryRef(parameters: Record<string, InferParameterMessage>, what: string): SharedMemoryRef | undefined {
  // Most requests carry their data inline: skip building the plain map for them.
  if (parameters['shared_memory_region'] === undefined) return undefined;
  const values: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(parameters)) values[k] = p.parameter_choice ? p[p.parameter_choice] : undefined;
  return sharedMemoryRef(values, what);
}

export interface DecodedGrpcRequest {
  request: InferRequest;
  /** Outputs the client asked to receive in a registered shared memory region. */
  sharedMemoryOutputs: Map<string, SharedMemoryRef>;
}

/**
 * raw_input_contents holds, in order, the data of the inputs that are neither in shared memory nor
 * in `contents` (Triton's clients send none for the former).
 */
export function decodeGrpcRequest(msg: ModelInferRequestMessage, sharedMemory: SystemSharedMemory): DecodedGrpcRequest {
  if (msg.inputs.length === 0) throw new ServingError('invalid_argument', 'request has no inputs');
  const raw = msg.raw_input_contents;
  const shmRefs = msg.inputs.map((input) => grpcSharedMemoryRef(input.parameters, `input '${input.name}'`));
  const rawCount = shmRefs.filter((r) => r === undefined).length;
  if (raw.length > 0 && raw.length !== rawCount) {
    throw new ServingError('invalid_argument', `raw_input_contents has ${raw.length} entries for ${rawCount} inputs not in shared memory`);
  }
  let nextRaw = 0;
  const inputs: InferTensor[] = msg.inputs.map((input, i) => {
    const { datatype, count } = checkTensorHeader(input.name, input.datatype, input.shape);
    const what = `input '${input.name}'`;
    const shm = shmRefs[i];
    if (shm) return { name: input.name, datatype, shape: input.shape, data: tensorDataFromRaw(datatype, sharedMemory.read(shm, what), count, what) };
    if (raw.length > 0) return { name: input.name, datatype, shape: input.shape, data: tensorDataFromRaw(datatype, raw[nextRaw++]!, count, what) };
    if (!input.contents) throw new ServingError('invalid_argument', `${what}: has neither contents nor raw_input_contents`);
    const values = typedContents(datatype, input.contents);
    if (!values) throw new ServingError('invalid_argument', `${what}: ${datatype} data must be sent in raw_input_contents`);
    return { name: input.name, datatype, shape: input.shape, data: tensorDataFromJson(datatype, values, count, what) };
  });
  const timeoutUs = integerParameter(msg.parameters['timeout'], 'timeout');
  const classifications: Record<string, number> = {};
  const sharedMemoryOutputs = new Map<string, SharedMemoryRef>();
  for (const o of msg.outputs) {
    const k = integerParameter(o.parameters['classification'], 'classification');
    if (k !== undefined) classifications[o.name] = k;
    const shm = grpcSharedMemoryRef(o.parameters, `output '${o.name}'`);
    if (shm) sharedMemoryOutputs.set(o.name, shm);
  }
  const request: InferRequest = {
    ...(msg.id ? { id: msg.id } : {}),
    inputs,
    ...(msg.outputs.length > 0 ? { outputs: msg.outputs.map((o) => o.name) } : {}),
    ...(timeoutUs !== undefined ? { timeoutUs } : {}),
    ...(Object.keys(classifications).length > 0 ? { classifications } : {}),
  };
  return { request, sharedMemoryOutputs };
}

/**
 * Outputs go back as raw_output_contents, as Triton answers; one written to shared memory gets the
 * region and byte size as parameters and an empty raw entry, which keeps the entries in output order.
 */
export function encodeGrpcResponse(response: InferResponse, sharedMemoryOutputs: Map<string, SharedMemoryRef>, sharedMemory: SystemSharedMemory): object {
  const raws = response.outputs.map((o) => tensorDataToRaw(o.datatype, o.data));
  return {
    model_name: response.modelName,
    model_version: String(response.modelVersion),
    id: response.id ?? '',
    outputs: response.outputs.map((o, i) => {
      const shm = sharedMemoryOutputs.get(o.name);
      if (!shm) return { name: o.name, datatype: o.datatype, shape: o.shape };
      sharedMemory.write(shm, raws[i]!, `output '${o.name}'`);
      return {
        name: o.name,
        datatype: o.datatype,
        shape: o.shape,
        parameters: {
          shared_memory_region: { string_param: shm.region },
          shared_memory_byte_size: { int64_param: raws[i]!.length },
        },
      };
    }),
    raw_output_contents: response.outputs.map((o, i) => (sharedMemoryOutputs.has(o.name) ? Buffer.alloc(0) : raws[i]!)),
  };
}
