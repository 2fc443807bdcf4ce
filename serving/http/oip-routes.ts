import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClientDisconnect } from '../client-disconnect';
import { ServingError } from '../errors';
import type { InferenceService } from '../inference-service';
import type { VersionSelector } from '../model-repository';
import { readBody, sendBody, sendJson } from './http-io';
import { BINARY_HEADER, decodeInferRequest, encodeInferResponse } from './oip-codec';
import { decodeSegment, versionSelector } from './route-params';

const MODEL_ROUTE = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(?:\/(ready|infer|config|stats))?$/;

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
    case '/v2/repository/index':
      requireMethod(ctx, 'POST');
      sendJson(res, 200, JSON.stringify(service.repository.index()));
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

async function infer(service: InferenceService, ctx: RouteContext, model: string, selector: VersionSelector): Promise<void> {
  const { req, res } = ctx;
  // Unknown models and versions answer 404 whatever the body holds.
  service.repository.resolve(model, selector);
  const body = await readBody(req, ctx.maxRequestBytes);
  const decoded = decodeInferRequest(body, req.headers[BINARY_HEADER]);
  const response = await service.infer(model, selector, decoded.request, { startedAt: ctx.startedAt, disconnect: ctx.disconnect });
  const encoded = encodeInferResponse(response, decoded);
  if (encoded.jsonLength === undefined) sendJson(res, 200, encoded.body as string);
  else sendBody(res, 200, encoded.body, { 'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': encoded.jsonLength });
}
