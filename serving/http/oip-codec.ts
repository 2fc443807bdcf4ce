import { z } from 'zod';
import { tensorDataFromJson, tensorDataFromRaw, tensorDataToJson, tensorDataToRaw } from '../datatypes';
import { ServingError } from '../errors';
import { checkTensorHeader, type InferRequest, type InferResponse, type InferTensor } from '../inference-request';
import { sharedMemoryRef, type SharedMemoryRef, type SystemSharedMemory } from '../shared-memory';
import { describeZodError } from '../zod-issues';
import { parseJson } from './http-io';

/** The Open Inference Protocol's request header name for the JSON part of a binary request or response. */
export const BINARY_HEADER = 'inference-header-content-length';

const ParameterValue = z.union([z.boolean(), z.number(), z.string()]);
/** Checked as an array only: each element is checked against the tensor's datatype while decoding. */
const DataArray = z.custom<unknown[]>((v) => Array.isArray(v), { message: 'expected an array' });

const InputSchema = z.object({
  name: z.string().min(1),
  shape: z.array(z.number().int().nonnegative()),
  datatype: z.string().min(1),
  parameters: z.object({ binary_data_size: z.number().int().nonnegative().optional() }).catchall(ParameterValue).optional(),
  data: DataArray.optional(),
});

const OutputSchema = z.object({
  name: z.string().min(1),
  parameters: z
    .object({ binary_data: z.boolean().optional(), classification: z.number().optional() })
    .catchall(ParameterValue)
    .optional(),
});

/** `POST /v2/models/{m}[/versions/{v}]/infer` body (or the JSON header of a binary request). */
export const InferRequestBodySchema = z.object({
  id: z.string().optional(),
  parameters: z
    .object({ binary_data_output: z.boolean().optional(), timeout: z.number().int().nonnegative().optional() })
    .catchall(ParameterValue)
    .optional(),
  inputs: z.array(InputSchema).min(1, 'expected at least one input'),
  outputs: z.array(OutputSchema).optional(),
});
export type InferRequestBody = z.infer<typeof InferRequestBodySchema>;

export interface DecodedHttpRequest {
  request: InferRequest;
  /** Outputs the client asked to receive in a registered shared memory region. */
  sharedMemoryOutputs: ReadonlyMap<string, SharedMemoryRef>;
  /** Per-output choice (output parameter binary_data): raw binary when true, JSON data when false. */
  binaryOutputs: ReadonlyMap<string, boolean>;
  /** For outputs without their own choice (request parameter binary_data_output). */
  binaryByDefault: boolean;
}

/** The output choices of a request that names no outputs (shared, never written). */
const NO_CHOICES: ReadonlyMap<string, never> = new Map<string, never>();

function headerLength(value: string | string[] | undefined, bodyLength: number): number | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value[0]! : value;
  if (!/^\d+$/.test(text)) throw new ServingError('invalid_argument', `Inference-Header-Content-Length '${text}' is not a byte count`);
  const n = Number(text);
  if (n > bodyLength) {
    throw new ServingError('invalid_argument', `Inference-Header-Content-Length ${n} exceeds the body length ${bodyLength}`);
  }
  return n;
}

/**
 * Decodes a JSON or binary-extension infer request: JSON header, then each input with
 * `parameters.binary_data_size` takes that many bytes of the rest of the body, in input order.
 */
export function decodeInferRequest(body: Buffer, headerLengthValue: string | string[] | undefined, sharedMemory: SystemSharedMemory): DecodedHttpRequest {
  const jsonLength = headerLength(headerLengthValue, body.length);
  const jsonText = body.toString('utf8', 0, jsonLength ?? body.length);
  const parsed = InferRequestBodySchema.safeParse(parseJson(jsonText, 'request body'));
  if (!parsed.success) throw new ServingError('invalid_argument', `request body: ${describeZodError(parsed.error)}`);
  const header = parsed.data;
  let offset = jsonLength ?? body.length;
  const inputs: InferTensor[] = header.inputs.map((input) => {
    const { datatype, count } = checkTensorHeader(input.name, input.datatype, input.shape);
    const what = `input '${input.name}'`;
    const binarySize = input.parameters?.binary_data_size;
    const shm = sharedMemoryRef(input.parameters, what);
    if (shm) {
      if (input.data !== undefined || binarySize !== undefined) {
        throw new ServingError('invalid_argument', `${what}: has shared memory parameters and data of its own`);
      }
      return { name: input.name, datatype, shape: input.shape, data: tensorDataFromRaw(datatype, sharedMemory.read(shm, what), count, what) };
    }
    if (binarySize !== undefined) {
      if (jsonLength === undefined) {
        throw new ServingError('invalid_argument', `${what}: binary_data_size is set but the request has no Inference-Header-Content-Length header`);
      }
      if (input.data !== undefined) throw new ServingError('invalid_argument', `${what}: has both data and binary_data_size`);
      if (offset + binarySize > body.length) {
        throw new ServingError(
          'invalid_argument',
          `${what}: binary_data_size ${binarySize} runs past the end of the body (${body.length - offset} bytes left)`,
        );
      }
      const raw = body.subarray(offset, offset + binarySize);
      offset += binarySize;
      return { name: input.name, datatype, shape: input.shape, data: tensorDataFromRaw(datatype, raw, count, what) };
    }
    if (input.data === undefined) throw new ServingError('invalid_argument', `${what}: has neither data nor parameters.binary_data_size`);
    return { name: input.name, datatype, shape: input.shape, data: tensorDataFromJson(datatype, input.data, count, what) };
  });
  if (offset !== body.length) {
    throw new ServingError('invalid_argument', `${body.length - offset} bytes follow the last binary input`);
  }
  const timeout = header.parameters?.timeout;
  const request: InferRequest = { id: header.id, inputs, timeoutUs: timeout };
  const decoded: DecodedHttpRequest = {
    request,
    binaryOutputs: NO_CHOICES,
    sharedMemoryOutputs: NO_CHOICES,
    binaryByDefault: header.parameters?.binary_data_output === true,
  };
  // Most requests name no outputs: the maps are made only for those that do. An empty list names none
  // and so asks for all of them, as over gRPC, where an empty repeated field cannot be told from none.
  if (header.outputs && header.outputs.length > 0) {
    const binaryOutputs = new Map<string, boolean>();
    const sharedMemoryOutputs = new Map<string, SharedMemoryRef>();
    const classifications: Record<string, number> = {};
    for (const o of header.outputs) {
      const shm = sharedMemoryRef(o.parameters, `output '${o.name}'`);
      if (shm) sharedMemoryOutputs.set(o.name, shm);
      if (o.parameters?.classification !== undefined) classifications[o.name] = o.parameters.classification;
      if (o.parameters?.binary_data !== undefined) binaryOutputs.set(o.name, o.parameters.binary_data);
    }
    request.outputs = header.outputs.map((o) => o.name);
    if (Object.keys(classifications).length > 0) request.classifications = classifications;
    decoded.binaryOutputs = binaryOutputs;
    decoded.sharedMemoryOutputs = sharedMemoryOutputs;
  }
  return decoded;
}


function wantsBinary(decoded: DecodedHttpRequest, name: string): boolean {
  return decoded.binaryOutputs.get(name) ?? decoded.binaryByDefault;
}

export interface EncodedResponse {
  body: string | Buffer;
  /** Set when the body carries binary tensors after the JSON header. */
  jsonLength?: number;
}

/** The infer response: plain JSON, or a JSON header followed by the binary outputs. */
export function encodeInferResponse(response: InferResponse, decoded: DecodedHttpRequest, sharedMemory: SystemSharedMemory): EncodedResponse {
  const raws: Buffer[] = [];
  const outputs = response.outputs.map((o) => {
    const head = `{"name":${JSON.stringify(o.name)},"datatype":"${o.datatype}","shape":[${o.shape.join(',')}]`;
    const shm = decoded.sharedMemoryOutputs.get(o.name);
    if (shm) {
      // Data and parameters both left out, as Triton answers: its C++ client (perf_analyzer) reads any
      // output `parameters` as the binary extension's and fails without binary_data_size.
      sharedMemory.write(shm, tensorDataToRaw(o.datatype, o.data), `output '${o.name}'`);
      return `${head}}`;
    }
    if (wantsBinary(decoded, o.name)) {
      const raw = tensorDataToRaw(o.datatype, o.data);
      raws.push(raw);
      return `${head},"parameters":{"binary_data_size":${raw.length}}}`;
    }
    return `${head},"data":${tensorDataToJson(o.datatype, o.data)}}`;
  });
  const id = response.id !== undefined ? `,"id":${JSON.stringify(response.id)}` : '';
  const json = `{"model_name":${JSON.stringify(response.modelName)},"model_version":"${response.modelVersion}"${id},"outputs":[${outputs.join(',')}]}`;
  if (raws.length === 0) return { body: json };
  const header = Buffer.from(json, 'utf8');
  return { body: Buffer.concat([header, ...raws]), jsonLength: header.length };
}
