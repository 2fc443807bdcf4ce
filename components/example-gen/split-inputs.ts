import type { ResolveContext, ResolvedFileSet } from '../../dsl/resolve';
import { listInput } from './input-patterns';
import type { ExampleGenParameters } from './spec';

/** The resolved file set of a pre-split input's split: `input:<split>`. */
export const splitInputKey = (split: string): string => `input:${split}`;

/** The split names of a pre-split input, in the order given; undefined for an input to hash. */
export function preSplitNames(input: ExampleGenParameters['input']): string[] | undefined {
  return typeof input === 'string' ? undefined : Object.keys(input);
}

/**
 * The resolve step: one file set per location the parameters name: `input`, or `input:<split>` for each
 * split of a pre-split input. Each location is listed as input-patterns.ts lists it (globs, spans, s3://).
 */
export async function resolveInputFiles(
  listFiles: ResolveContext<unknown>['listFiles'],
  params: Pick<ExampleGenParameters, 'input' | 'range' | 's3Source'>,
): Promise<Record<string, ResolvedFileSet>> {
  if (typeof params.input === 'string') return { input: await listInput(listFiles, params.input, params) };
  const sets: Record<string, ResolvedFileSet> = {};
  for (const [split, location] of Object.entries(params.input)) sets[splitInputKey(split)] = await listInput(listFiles, location, params);
  return sets;
}
