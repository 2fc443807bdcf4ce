import type { ResolveContext, ResolvedInputs } from '../../dsl/resolve';
import { SERVING_MODEL_FILE, SERVING_SIGNATURE_FILE } from '../trainer/payload';

/** The resolved baseline: its ServingModel artifact and its two files, keyed into the cache. */
export const BASELINE_KEY = 'baseline';
export const BASELINE_MODEL_KEY = 'baselineModel';
export const BASELINE_SIGNATURE_KEY = 'baselineSignature';

/** Properties of a ModelBlessing: the verdict, and the ServingModel it is about (how the next run finds its baseline). */
export const BLESSED_PROPERTY = 'blessed';
export const MODEL_URI_PROPERTY = 'model_uri';
export const MODEL_CONTENT_PROPERTY = 'model_content_hash';

/** How many of the pipeline's blessings are looked through for one whose model differs from the candidate. */
const BLESSINGS_SEARCHED = 100;

/** How many of the pipeline's pushes are read to learn which models were pushed. */
const PUSHES_SEARCHED = 1000;

/**
 * The baseline, found in the control step: the newest blessed ServingModel of the same pipeline whose
 * content differs from the candidate's, so an identical second run compares against the previous
 * different model (or none) and keeps the same cache key. Once the pipeline has pushed a model (a
 * PushedModel names the ServingModel's content), only pushed ones count: the baseline is the model in
 * production, not a blessed one a later gate (InfraValidator, approval) held back. A pipeline without a
 * Pusher compares with its newest blessed model. A model whose artifact is gone from the store is passed over.
 */
export async function resolveBaseline(ctx: ResolveContext<{ baseline: boolean }>): Promise<ResolvedInputs> {
  const none: ResolvedInputs = { files: {}, artifacts: {} };
  const candidate = ctx.inputs.model?.[0];
  if (!ctx.parameters.baseline || !candidate) return none;
  const blessings = await ctx.metadata.findArtifacts({
    type: 'ModelBlessing',
    pipeline: ctx.pipeline,
    properties: { [BLESSED_PROPERTY]: true },
    limit: BLESSINGS_SEARCHED,
  });
  const pushes = await ctx.metadata.findArtifacts({ type: 'PushedModel', pipeline: ctx.pipeline, limit: PUSHES_SEARCHED });
  const pushed = new Set(pushes.map((p) => p.properties[MODEL_CONTENT_PROPERTY]).filter((h) => typeof h === 'string'));
  for (const blessing of blessings) {
    const uri = blessing.properties[MODEL_URI_PROPERTY];
    const content = blessing.properties[MODEL_CONTENT_PROPERTY];
    if (typeof uri !== 'string' || content === candidate.contentHash) continue;
    if (pushed.size > 0 && !pushed.has(content as string)) continue;
    const model = await ctx.metadata.getArtifact(uri);
    if (!model || model.state !== 'live' || model.contentHash === candidate.contentHash) continue;
    const root = model.uri.replace(/\/$/, '');
    return {
      files: {
        [BASELINE_MODEL_KEY]: await ctx.listFiles(`${root}/${SERVING_MODEL_FILE}`),
        [BASELINE_SIGNATURE_KEY]: await ctx.listFiles(`${root}/${SERVING_SIGNATURE_FILE}`),
      },
      artifacts: { [BASELINE_KEY]: [{ id: model.id, type: model.type, uri: model.uri, contentHash: model.contentHash, properties: model.properties }] },
    };
  }
  return none;
}
