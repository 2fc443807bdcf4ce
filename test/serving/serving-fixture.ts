import * as grpc from '@grpc/grpc-js';
import { loadInferenceService } from '../../serving/grpc/grpc-proto';
import type { RepositoryEvent } from '../../serving/model-repository';
import { startModelServer, type ModelServer, type ModelServerOptions } from '../../serving/server';
import { tempDir } from '../support/tmp';

export interface ServerUnderTest {
  server: ModelServer;
  repo: string;
  /** http://127.0.0.1:port */
  http: string;
  /** 127.0.0.1:port */
  grpcAddress: string;
  events: RepositoryEvent[];
  stop(): Promise<void>;
}

/** A real server on loopback free ports over a fresh repository directory that `fill` populates. */
export async function startTestServer(
  fill: (repo: string) => Promise<void>,
  options: Partial<ModelServerOptions> = {},
): Promise<ServerUnderTest> {
  const repo = await tempDir('serving-repo');
  await fill(repo);
  const events: RepositoryEvent[] = [];
  const server = await startModelServer(
    { repository: repo, httpPort: 0, grpcPort: 0, pollIntervalMs: 0, ...options },
    (e) => events.push(e),
  );
  return {
    server,
    repo,
    http: `http://127.0.0.1:${server.httpPort}`,
    grpcAddress: `127.0.0.1:${server.grpcPort}`,
    events,
    stop: () => server.stop(),
  };
}

export interface HttpReply {
  status: number;
  headers: Headers;
  body: Buffer;
  /** The body parsed as JSON, when it is JSON. */
  json: unknown;
}

export async function request(url: string, init: RequestInit = {}): Promise<HttpReply> {
  const res = await fetch(url, init);
  const body = Buffer.from(await res.arrayBuffer());
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, body, json };
}

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpReply> {
  return request(url, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers });
}

/** A binary-extension request body: the JSON header, then the raw tensors in input order. */
export function binaryBody(header: unknown, tensors: Buffer[]): { body: Buffer; headers: Record<string, string> } {
  const json = Buffer.from(JSON.stringify(header));
  return {
    body: Buffer.concat([json, ...tensors]),
    headers: { 'Inference-Header-Content-Length': String(json.length), 'Content-Type': 'application/octet-stream' },
  };
}

export function floats(values: number[]): Buffer {
  return Buffer.from(new Float32Array(values).buffer);
}

/** Splits a binary-extension response into its JSON header and the raw bytes that follow. */
export function splitBinaryResponse(reply: HttpReply): { header: { outputs: Array<Record<string, unknown>> }; rest: Buffer } {
  const length = Number(reply.headers.get('inference-header-content-length'));
  if (!Number.isInteger(length)) throw new Error(`no Inference-Header-Content-Length in reply (status ${reply.status})`);
  return {
    header: JSON.parse(reply.body.subarray(0, length).toString('utf8')) as { outputs: Array<Record<string, unknown>> },
    rest: reply.body.subarray(length),
  };
}

export type GrpcCall = (request: object, options?: { deadline?: number }) => Promise<Record<string, unknown>>;

/** A client of inference.GRPCInferenceService generated at run time from the server's .proto. */
export function grpcClient(address: string): { call: (method: string) => GrpcCall; close(): void } {
  const Service = loadInferenceService();
  const client = new Service(address, grpc.credentials.createInsecure());
  const call =
    (method: string): GrpcCall =>
    (req, options = {}) =>
      new Promise((resolve, reject) => {
        const fn = client[method] as (
          r: object,
          meta: grpc.Metadata,
          opts: grpc.CallOptions,
          cb: (err: grpc.ServiceError | null, res: Record<string, unknown>) => void,
        ) => void;
        const callOptions: grpc.CallOptions = options.deadline ? { deadline: Date.now() + options.deadline } : {};
        fn.call(client, req, new grpc.Metadata(), callOptions, (err, res) => (err ? reject(err) : resolve(res)));
      });
  return { call, close: () => client.close() };
}

export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Prometheus text as `name{labels}` -> value. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}
