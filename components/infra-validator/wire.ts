import * as grpc from '@grpc/grpc-js';
import { loadInferenceService } from '../../serving/grpc/grpc-proto';
import type { TensorSpec } from '../transform/signature';
import type { InputColumn } from './eval-columns';

/**
 * The candidate's answers over the server's two protocols, both with raw tensor bytes (the HTTP binary
 * extension, gRPC's raw_input_contents): JSON cannot carry a missing float (NaN) or an int64 exactly.
 */

export type Answer = Record<string, Array<number | string>>;

const OIP_TYPE = { float32: 'FP32', int64: 'INT64', string: 'BYTES' } as const;

/** A column as OIP raw bytes; BYTES elements are each a 4-byte little-endian length, then UTF-8. */
export function rawBytes(column: InputColumn): Buffer {
  if (!Array.isArray(column)) return Buffer.from(column.buffer, column.byteOffset, column.byteLength);
  return Buffer.concat(
    column.flatMap((s) => {
      const bytes = Buffer.from(s, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32LE(bytes.length);
      return [length, bytes];
    }),
  );
}

function decodeRaw(datatype: string, bytes: Uint8Array, what: string): Array<number | string> {
  const copy = new Uint8Array(bytes).buffer;
  if (datatype === 'FP32') return Array.from(new Float32Array(copy));
  if (datatype === 'INT64') return Array.from(new BigInt64Array(copy), Number);
  if (datatype === 'BYTES') {
    const buffer = Buffer.from(copy);
    const out: string[] = [];
    for (let at = 0; at < buffer.length; ) {
      const length = buffer.readUInt32LE(at);
      out.push(buffer.toString('utf8', at + 4, at + 4 + length));
      at += 4 + length;
    }
    return out;
  }
  throw new Error(`${what}: the server answered with datatype ${datatype}, which the signature does not declare`);
}

export async function inferHttp(options: { http: string; model: string; inputs: TensorSpec[]; outputs: TensorSpec[]; columns: InputColumn[]; timeoutMs: number }): Promise<Answer> {
  const raw = options.columns.map(rawBytes);
  const header = Buffer.from(
    JSON.stringify({
      inputs: options.inputs.map((spec, k) => ({ name: spec.name, shape: [options.columns[k]!.length], datatype: OIP_TYPE[spec.dtype], parameters: { binary_data_size: raw[k]!.length } })),
      outputs: options.outputs.map((o) => ({ name: o.name, parameters: { binary_data: true } })),
    }),
  );
  const reply = await fetch(`${options.http}/v2/models/${options.model}/infer`, {
    method: 'POST',
    body: Buffer.concat([header, ...raw]),
    headers: { 'Inference-Header-Content-Length': String(header.length), 'Content-Type': 'application/octet-stream' },
    signal: AbortSignal.timeout(options.timeoutMs),
  });
  const body = Buffer.from(await reply.arrayBuffer());
  if (reply.status !== 200) throw new Error(`HTTP ${reply.status}: ${body.toString('utf8').slice(0, 500)}`);
  const length = Number(reply.headers.get('inference-header-content-length'));
  const answer = JSON.parse(body.subarray(0, length).toString('utf8')) as { outputs: Array<{ name: string; datatype: string; parameters: { binary_data_size: number } }> };
  const result: Answer = {};
  let offset = length;
  for (const output of answer.outputs) {
    const size = output.parameters.binary_data_size;
    result[output.name] = decodeRaw(output.datatype, body.subarray(offset, offset + size), `HTTP output ${output.name}`);
    offset += size;
  }
  return result;
}

interface ModelInferResponse {
  outputs: Array<{ name: string; datatype: string }>;
  raw_output_contents: Buffer[];
}

/** A gRPC client of inference.GRPCInferenceService for one server. */
export function grpcInferer(address: string): { infer(options: { model: string; inputs: TensorSpec[]; outputs: TensorSpec[]; columns: InputColumn[]; timeoutMs: number }): Promise<Answer>; close(): void } {
  const Service = loadInferenceService();
  const client = new Service(address, grpc.credentials.createInsecure());
  const modelInfer = client.ModelInfer as (r: object, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: ModelInferResponse) => void) => void;
  return {
    infer: (options) =>
      new Promise((resolve, reject) => {
        const request = {
          model_name: options.model,
          inputs: options.inputs.map((spec, k) => ({ name: spec.name, datatype: OIP_TYPE[spec.dtype], shape: [options.columns[k]!.length] })),
          outputs: options.outputs.map((o) => ({ name: o.name })),
          raw_input_contents: options.columns.map(rawBytes),
        };
        modelInfer.call(client, request, { deadline: Date.now() + options.timeoutMs }, (err, res) => {
          if (err) return reject(new Error(`gRPC ${grpc.status[err.code]}: ${err.details}`));
          try {
            resolve(Object.fromEntries(res.outputs.map((o, i) => [o.name, decodeRaw(o.datatype, res.raw_output_contents[i] ?? new Uint8Array(), `gRPC output ${o.name}`)])));
          } catch (e) {
            reject(e as Error);
          }
        });
      }),
    close: () => client.close(),
  };
}
