import { ServingError } from '../errors';
import type { InferenceService } from '../inference-service';
import { parseJson, readBody, sendJson } from './http-io';
import type { RouteContext } from './oip-routes';
import { decodePredict, encodeModelMetadata, encodeModelStatus, encodePredict } from './tfserving-codec';
import { decodeSegment, versionSelector } from './route-params';

const TF_ROUTE = /^\/v1\/models\/([^/:]+)(?:\/versions\/([^/:]+)|\/labels\/([^/:]+))?(?::(predict|classify|regress)|\/(metadata))?$/;

/** TF Serving's REST API: model status, metadata and :predict, addressed by version or label. */
export async function handleTfServing(service: InferenceService, ctx: RouteContext): Promise<boolean> {
  const m = TF_ROUTE.exec(ctx.path);
  if (!m) return false;
  const model = decodeSegment(m[1]!);
  const selector = versionSelector(m[2], m[3]);
  const verb = m[4];
  const repo = service.repository;
  if (verb === undefined) {
    if (ctx.method !== 'GET') throw new ServingError('method_not_allowed', `${ctx.method} is not allowed on ${ctx.path}; use GET`);
    const statuses = repo.status(model);
    if (!statuses) throw new ServingError('not_found', `unknown model '${model}'`);
    if (m[5] === 'metadata') {
      const mv = repo.resolve(model, selector);
      const { inputs, outputs } = mv.resolved.signature;
      sendJson(ctx.res, 200, encodeModelMetadata(model, mv.version, inputs, outputs));
      return true;
    }
    let version: number | undefined;
    if ('label' in selector) {
      version = repo.versionLabels(model)[selector.label];
      if (version === undefined) throw new ServingError('not_found', `model '${model}' has no version label '${selector.label}'`);
    } else if ('version' in selector) {
      version = selector.version;
    }
    const chosen = version === undefined ? statuses : statuses.filter((s) => s.version === version);
    if (chosen.length === 0) throw new ServingError('not_found', `model '${model}' has no version ${version}`);
    sendJson(ctx.res, 200, encodeModelStatus(chosen));
    return true;
  }
  if (ctx.method !== 'POST') throw new ServingError('method_not_allowed', `${ctx.method} is not allowed on ${ctx.path}; use POST`);
  if (verb !== 'predict') throw new ServingError('invalid_argument', `:${verb} is not supported; this server answers :predict`);
  const body = parseJson((await readBody(ctx.req, ctx.maxRequestBytes)).toString('utf8'), 'request body');
  const mv = repo.resolve(model, selector);
  const decoded = decodePredict(body, mv.resolved.signature.inputs);
  const response = await service.infer(model, { version: mv.version }, { inputs: decoded.inputs }, { startedAt: ctx.startedAt, disconnect: ctx.disconnect });
  sendJson(ctx.res, 200, encodePredict(decoded.format, response.outputs));
  return true;
}
