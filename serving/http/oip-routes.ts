import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { ClientDisconnect } from '../client-disconnect';
import { ServingError } from '../errors';
import type { InferenceService } from '../inference-service';
import type { VersionSelector } from '../model-repository';
import { cudaSharedMemory } from '../shared-memory';
import { describeZodError } from '../zod-issues';
import { parseJson, readBody, sendBody, sendJson } from './http-io';
import { BINARY_HEADER, decodeInferRequest, encodeInferResponse } from './oip-codec';
import { decodeSegment, versionSelector } from './route-params';

const MODEL_ROUTE = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(?:\/(ready|infer|config|stats))?$/;
const REPOSITORY_MODEL_ROUTE = /^\/v2\/repository\/models\/([^/]+)\/(load|unload)$/;

const SHARED_MEMORY_ROUTE = /^\/v2\/(system|cuda)sharedmemory(?:\/region\/([^/]+))?\/(status|register|unregister)$/;
/** Triton's system shared memory register request. */
const RegisterRequestSchema = z.object({
  key: z.string().min(1),
  offset: z.number().int().nonnegative().optional(),
  byte_size: z.number().int().positive(),
});

/** Triton's index request: `{"ready": true}` keeps the models ready for inference. */
const IndexRequestSchema = z.object({ ready: z.boolean().optional() });
/** Triton's load and unload requests; unload_dependents has nothing to act on (no ensembles). */
const ModelControlRequestSchema = z.object({
  parameters: z.record(z.string(), z.union([z.boolean(), z.number(), z.string()])).optional(),
});

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  path: string;
  startedAt: number;
  maxRequestBytes: number;
  /** Fires when the client closes the connection before its response is sent. */
  disconnect: ClientDisconnect;
}

function requireMethod(ctx: RouteContext, method: string): void {
  if (ctx.method !== method) {
    ctx.res.setHeader('Allow', method === 'GET' ? 'GET, HEAD' : method);
    throw new ServingError('method_not_allowed', `${ctx.method} is not allowed on ${ctx.path}; use ${method}`);
  }
}

/** Open Inference Protocol v2 over REST (plus Triton's config, statistics and repository index). */
export async function handleOip(service: InferenceService, ctx: RouteContext): Promise<boolean> {
  const { res, path } = ctx;
  switch (path) {
    case '/v2/health/live':
      requireMethod(ctx, 'GET');
      sendJson(res, 200, '{"live":true}');
      return true;
    case '/v2/health/ready':
      requireMethod(ctx, 'GET');
      if (service.ready) sendJson(res, 200, '{"ready":true}');
      else sendJson(res, 503, JSON.stringify({ error: 'server is not ready' }));
      return true;
    case '/v2':
      requireMethod(ctx, 'GET');
      sendJson(res, 200, JSON.stringify(service.serverMetadata()));
      return true;
    case '/v2/models/stats':
      requireMethod(ctx, 'GET');
      sendJson(res, 200, JSON.stringify(service.modelStatistics()));
      return true;
    case '/v2/repository/index': {
      requireMethod(ctx, 'POST');
      const body = await optionalJsonBody(ctx, IndexRequestSchema, 'repository index request');
      sendJson(res, 200, JSON.stringify(await service.repository.index(body?.ready === true)));
      return true;
    }
  }
  if (path.startsWith('/v2/systemsharedmemory') || path.startsWith('/v2/cudasharedmemory')) return handleSharedMemory(service, ctx);
  const control = path.startsWith('/v2/repository/models/') ? REPOSITORY_MODEL_ROUTE.exec(path) : null;
  if (control) {
    requireMethod(ctx, 'POST');
    const model = decodeSegment(control[1]!);
    const body = await optionalJsonBody(ctx, ModelControlRequestSchema, `${control[2]} request`);
    if (control[2] === 'load') await service.repository.loadModel(model, Object.keys(body?.parameters ?? {}));
    else await service.repository.unloadModel(model);
    sendJson(res, 200, '{}');
    return true;
  }
  const m = MODEL_ROUTE.exec(path);
  if (!m) return false;
  const model = decodeSegment(m[1]!);
  const selector = versionSelector(m[2]);
  switch (m[3]) {
    case undefined:
      requireMethod(ctx, 'GET');
      sendJson(res, 200, JSON.stringify(service.modelMetadata(model, selector)));
      return true;
    case 'ready':
      requireMethod(ctx, 'GET');
      if (service.modelReady(model, selector)) sendJson(res, 200, JSON.stringify({ name: model, ready: true }));
      else sendJson(res, 503, JSON.stringify({ error: `model '${model}' is not ready` }));
      return true;
    case 'config':
      requireMethod(ctx, 'GET');
      sendJson(res, 200, JSON.stringify(service.modelConfig(model, selector)));
      return true;
    case 'stats':
      requireMethod(ctx, 'GET');
      sendJson(res, 200, JSON.stringify(service.modelStatistics(model, 'version' in selector ? selector.version : undefined)));
      return true;
    case 'infer':
      requireMethod(ctx, 'POST');
      await infer(service, ctx, model, selector);
      return true;
  }
  return false;
}

/**
 * Triton's system shared memory extension: status, register and unregister, for every region or one.
 * CUDA shared memory is answered as a Triton built without GPU support (see cudaSharedMemory).
 */
async function handleSharedMemory(service: InferenceService, ctx: RouteContext): Promise<boolean> {
  const m = SHARED_MEMORY_ROUTE.exec(ctx.path);
  if (!m) return false;
  const region = m[2] === undefined ? undefined : decodeSegment(m[2]);
  if (m[1] === 'cuda') {
    requireMethod(ctx, m[3] === 'status' ? 'GET' : 'POST');
    if (m[3] === 'register') cudaSharedMemory.register();
    sendJson(ctx.res, 200, m[3] === 'status' ? JSON.stringify(cudaSharedMemory.status(region)) : '{}');
    return true;
  }
  const shm = service.sharedMemory;
  switch (m[3]) {
    case 'status':
      requireMethod(ctx, 'GET');
      sendJson(ctx.res, 200, JSON.stringify(shm.status(region)));
      return true;
    case 'register': {
      requireMethod(ctx, 'POST');
      if (region === undefined) throw new ServingError('invalid_argument', 'register needs a region: /v2/systemsharedmemory/region/{name}/register');
      const body = await optionalJsonBody(ctx, RegisterRequestSchema, 'register request');
      if (!body) throw new ServingError('invalid_argument', 'register request: expected {"key", "offset", "byte_size"}');
      shm.register(region, body.key, body.offset ?? 0, body.byte_size);
      sendJson(ctx.res, 200, '{}');
      return true;
    }
    default:
      requireMethod(ctx, 'POST');
      shm.unregister(region);
      sendJson(ctx.res, 200, '{}');
      return true;
  }
}

/** A JSON body checked against `schema`, or undefined when the request has none (Triton's clients may send none). */
async function optionalJsonBody<T>(ctx: RouteContext, schema: z.ZodType<T>, what: string): Promise<T | undefined> {
  const body = await readBody(ctx.req, ctx.maxRequestBytes);
  if (body.length === 0) return undefined;
  const parsed = schema.safeParse(parseJson(body.toString('utf8'), what));
  if (!parsed.success) throw new ServingError('invalid_argument', `${what}: ${describeZodError(parsed.error)}`);
  return parsed.data;
}

async function infer(service: InferenceService, ctx: RouteContext, model: string, selector: VersionSelector): Promise<void> {
  const { req, res } = ctx;
  // Unknown models and versions answer 404 whatever the body holds.
  service.repository.resolve(model, selector);
  const body = await readBody(req, ctx.maxRequestBytes);
  const decoded = decodeInferRequest(body, req.headers[BINARY_HEADER], service.sharedMemory);
  const response = await service.infer(model, selector, decoded.request, { startedAt: ctx.startedAt, disconnect: ctx.disconnect });
  const encoded = encodeInferResponse(response, decoded, service.sharedMemory);
  if (encoded.jsonLength === undefined) sendJson(res, 200, encoded.body as string);
  else sendBody(res, 200, encoded.body, 'application/octet-stream', 'Inference-Header-Content-Length', String(encoded.jsonLength));
}
