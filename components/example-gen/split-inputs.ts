import { UserInputError } from '../../dsl/executor';
import type { ResolveContext, ResolvedFileSet } from '../../dsl/resolve';
import { listInput } from './input-patterns';
import type { ExampleGenParameters } from './spec';

/** The resolved file set of a pre-split input's split: `input:<split>`. */
export const splitInputKey = (split: string): string => `input:${split}`;

/** The split names of a pre-split input, in the order given; undefined for an input to hash. */
export function preSplitNames(input: ExampleGenParameters['input']): string[] | undefined {
  return typeof input === 'string' ? undefined : Object.keys(input);
}

const describeSpans = (set: ResolvedFileSet): string =>
  set.spans === undefined ? 'no span (no span pattern)' : set.spans.map((s) => `span ${s.span} version ${s.version}`).join(', ');

/**
 * The splits of a pre-split input read the same spans at the same versions, as TFX requires of
 * `input_config.splits` ("Latest span should be the same for each split"): the Examples record one span,
 * and a train split of one day beside an eval split of another would pass unnoticed.
 */
function checkSameSpans(sets: ReadonlyArray<[split: string, set: ResolvedFileSet]>): void {
  const [first, ...rest] = sets;
  if (!first) return;
  const other = rest.find(([, set]) => describeSpans(set) !== describeSpans(first[1]));
  if (other) {
    throw new UserInputError(
      `the splits of a pre-split input must read the same spans: split ${first[0]} ("${first[1].location}") reads ${describeSpans(first[1])}, ` +
        `split ${other[0]} ("${other[1].location}") reads ${describeSpans(other[1])}`,
    );
  }
}

/**
 * The resolve step: one file set per location the parameters name: `input`, or `input:<split>` for each
 * split of a pre-split input, every split reading the same spans. Each location is listed as
 * input-patterns.ts lists it (globs, spans, s3://).
 */
export async function resolveInputFiles(
  listFiles: ResolveContext<unknown>['listFiles'],
  params: Pick<ExampleGenParameters, 'input' | 'range' | 's3Source'>,
): Promise<Record<string, ResolvedFileSet>> {
  if (typeof params.input === 'string') return { input: await listInput(listFiles, params.input, params) };
  const sets: Array<[string, ResolvedFileSet]> = [];
  for (const [split, location] of Object.entries(params.input)) sets.push([split, await listInput(listFiles, location, params)]);
  checkSameSpans(sets);
  return Object.fromEntries(sets.map(([split, set]) => [splitInputKey(split), set]));
}
