import { UserInputError } from '../../../dsl/executor';
import { NOTHING_RESOLVED, type ResolveContext, type ResolvedInputs } from '../../../dsl/resolve';
import type { ExampleValidatorParameters } from '../spec';

/** The resolved file set and artifact of the previous span's statistics. */
export const PREVIOUS_SPAN_KEY = 'previousSpan';

/**
 * Drift's baseline, found in the metadata store when the node is prepared: among the ExampleStatistics
 * of this pipeline (StatisticsGen records the span of the Examples it read), the one of the largest
 * span below the span of the `statistics` input, the newest of that span. Its statistics.json and
 * partial_statistics.json are listed with their content, so they enter the cache key (a recomputed
 * previous span runs the node again), and the artifact is recorded as an input of the execution.
 * The first span finds nothing: the executor notes that no drift was measured.
 *
 * A pipeline with several StatisticsGen nodes over different data would have their statistics mixed
 * here: the search knows artifacts by type, pipeline and span, not by the node that made them.
 */
export async function resolvePreviousSpan(ctx: ResolveContext<ExampleValidatorParameters>): Promise<ResolvedInputs> {
  if (!ctx.parameters.drift) return NOTHING_RESOLVED;
  const [current] = ctx.inputs.statistics ?? [];
  if (!current) return NOTHING_RESOLVED;
  const span = current.properties.span;
  if (typeof span !== 'number') {
    throw new UserInputError(
      `ExampleValidator drift compares spans, but its statistics input ${current.uri} carries no span ` +
        '(StatisticsGen records the span of the Examples it reads; statistics made before it did need a new run)',
    );
  }
  const candidates = await ctx.metadata.findArtifacts({ type: 'ExampleStatistics', pipeline: ctx.pipeline, limit: 1000 });
  let previous: (typeof candidates)[number] | undefined;
  // Newest first: a span recomputed later wins over its older statistics.
  for (const c of candidates) {
    const s = c.properties.span;
    if (typeof s === 'number' && s < span && (previous === undefined || s > (previous.properties.span as number))) previous = c;
  }
  if (!previous) return NOTHING_RESOLVED;
  const { id, type, uri, contentHash, properties } = previous;
  return {
    files: { [PREVIOUS_SPAN_KEY]: await ctx.listFiles(`${uri.replace(/\/$/, '')}/*statistics.json`) },
    artifacts: { [PREVIOUS_SPAN_KEY]: [{ id, type, uri, contentHash, properties }] },
  };
}
