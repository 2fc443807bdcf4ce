import type { ExactEntry, TopEntry, TopSummary } from '../partial-statistics';
import { compareValues } from './value-order';
import { addWeights } from './weighted-points';

/**
 * The most frequent values of a shard beyond the exact-count cap, as a mergeable summary in the manner
 * of Misra and Gries's frequent items (the mergeable form of Agarwal et al., "Mergeable Summaries",
 * 2012): each shard keeps its `size` most frequent values with exact counts and the count of the next
 * one (`unlisted`: no value left out occurs more often). Merging adds the counts of values listed on
 * both sides; a value listed on one side only may have up to the other side's `unlisted` occurrences
 * there, which its `error` records. Cutting back to `size` raises `unlisted` to the most a dropped
 * value can have. Every count is thus a lower bound, at most `error` below the true count, and the
 * error of any value is at most N / (size + 1) over N values.
 */
export const TOP_SUMMARY_METHOD = 'mergeable frequent-items summary (Misra-Gries style)';

const byCountThenValue = (a: TopEntry, b: TopEntry): number => b[2] - a[2] || compareValues(a[0], a[1], b[0], b[1]);

function cut(entries: TopEntry[], size: number, unlisted: number, exact: boolean): TopSummary {
  entries.sort(byCountThenValue);
  let bound = unlisted;
  for (let i = size; i < entries.length; i++) bound = Math.max(bound, entries[i]![2] + entries[i]![4]);
  return { entries: entries.slice(0, size), unlisted: bound, exact };
}

/** The summary of exact counts: the `size` most frequent, exact, and the next count. */
export function topSummaryOf(entries: readonly ExactEntry[], size: number): TopSummary {
  return cut(
    entries.map(([text, x, count, weight]) => [text, x, count, weight, 0]),
    size,
    0,
    true,
  );
}

export function mergeTopSummaries(a: TopSummary, b: TopSummary, size: number): TopSummary {
  const merged = new Map<string, TopEntry>();
  for (const [text, x, count, weight, error] of a.entries) merged.set(text, [text, x, count, weight, error + b.unlisted]);
  for (const [text, x, count, weight, error] of b.entries) {
    const had = merged.get(text);
    merged.set(text, had ? [text, x, had[2] + count, addWeights(had[3], weight), had[4] - b.unlisted + error] : [text, x, count, weight, error + a.unlisted]);
  }
  return cut([...merged.values()], size, a.unlisted + b.unlisted, false);
}
