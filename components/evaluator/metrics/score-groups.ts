import type { Evaluation } from '../payload';

/**
 * One score column's rows by descending score, cut into threshold groups: the ROC and PR curves have
 * one point per group, and rows of one group count as tied. The sort is the only expensive step of a
 * ranking metric, so it is done once per slice and column; every re-weighting after it (the Poisson
 * bootstrap's resamples) is one pass over `order`.
 */
export interface ScoreGroups {
  /** The class whose probability is the score, positive against the rest. */
  positiveClass: number;
  /** Row indices, highest score first. */
  order: Uint32Array;
  /** Where each group ends in `order` (exclusive), in order. */
  groupEnds: Uint32Array;
  /** Per position in `order`: 1 when that row is of the positive class (one-vs-rest). */
  positive: Uint8Array;
}

/** Slices up to this many rows get exact AUCs (a sort per score column); larger ones are binned. */
export const DEFAULT_EXACT_AUC_LIMIT = 1_000_000;

/** TFMA's default number of thresholds for its AUCs and confusion-matrix curves. */
export const BINNED_AUC_THRESHOLDS = 10_000;

export type AucMethod = Evaluation['auc'];

export function aucMethod(rows: number, exactAucLimit: number): AucMethod {
  return rows <= exactAucLimit ? { method: 'exact', exactAucLimit } : { method: 'binned', thresholds: BINNED_AUC_THRESHOLDS, exactAucLimit };
}

export function scoreGroups(scores: Float32Array, k: number, labels: Int32Array, positiveClass: number, method: AucMethod): ScoreGroups {
  const keys = method.method === 'exact' ? exactKeys(scores, positiveClass, k) : binnedKeys(scores, positiveClass, k);
  const ascending = sortByKey(keys);
  const n = keys.length;
  const order = new Uint32Array(n);
  const positive = new Uint8Array(n);
  const ends = new Uint32Array(n);
  let groups = 0;
  for (let j = 0; j < n; j++) {
    const from = n - 1 - j;
    if (j > 0 && ascending.keys[from] !== ascending.keys[from + 1]) ends[groups++] = j;
    order[j] = ascending.rows[from]!;
    positive[j] = labels[order[j]!] === positiveClass ? 1 : 0;
  }
  if (n > 0) ends[groups++] = n;
  return { positiveClass, order, groupEnds: ends.slice(0, groups), positive };
}

/**
 * One group per distinct score, as scikit-learn's `_binary_clf_curve` takes a threshold at each
 * distinct score: ties share a point, which makes the trapezoid over the points tie-correct (a tied
 * positive-negative pair counts one half). Non-negative float32s order as their bit patterns do.
 */
function exactKeys(scores: Float32Array, column: number, k: number): Uint32Array {
  const n = scores.length / k;
  const bits = new Uint32Array(scores.buffer, scores.byteOffset, scores.length);
  const keys = new Uint32Array(n);
  // -0 would sort below every positive score; it is +0.
  for (let i = 0; i < n; i++) keys[i] = scores[i * k + column] === 0 ? 0 : bits[i * k + column]!;
  return keys;
}

/**
 * TFMA's binning: thresholds at -ε, 1/(T-1), 2/(T-1), ..., (T-2)/(T-1), 1+ε for T = 10,000, a row
 * predicted positive at a threshold when its score is above it. The T-1 groups between neighbouring
 * thresholds are scores in (b/(T-1), (b+1)/(T-1)] (the lowest also holding 0), and rows within one
 * group count as tied: the AUC is the exact one of scores rounded up to their group's upper edge. It
 * differs from the exact ROC AUC only in pairs sharing a group, each counted ½ instead of 0 or 1, so by
 * at most ½ · Σ_g P_g·N_g / (P·N) (P_g, N_g: a group's positive and negative weight); on 2 M smooth
 * scores that bound is 3.9e-5 and the difference 2.8e-8 (test/components/evaluator-metrics.test.ts).
 */
function binnedKeys(scores: Float32Array, column: number, k: number): Uint32Array {
  const n = scores.length / k;
  const steps = BINNED_AUC_THRESHOLDS - 1;
  const keys = new Uint32Array(n);
  for (let i = 0; i < n; i++) keys[i] = Math.min(steps - 1, Math.max(0, Math.ceil(scores[i * k + column]! * steps) - 1));
  return keys;
}

/**
 * Row indices by ascending key, with the keys in that order: a stable LSD radix sort on two 16-bit
 * digits that carries the keys along (sequential reads), O(n) where a comparison sort of 1 M rows
 * takes most of a second.
 */
function sortByKey(keys: Uint32Array): { rows: Uint32Array; keys: Uint32Array } {
  const n = keys.length;
  let rows = new Uint32Array(n);
  for (let i = 0; i < n; i++) rows[i] = i;
  let sorted = keys.slice();
  let rowsOut = new Uint32Array(n);
  let sortedOut = new Uint32Array(n);
  const counts = new Uint32Array(65536);
  for (const shift of [0, 16]) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[(sorted[i]! >>> shift) & 0xffff]++;
    let at = 0;
    for (let d = 0; d < counts.length; d++) {
      const c = counts[d]!;
      counts[d] = at;
      at += c;
    }
    for (let i = 0; i < n; i++) {
      const to = counts[(sorted[i]! >>> shift) & 0xffff]++;
      rowsOut[to] = rows[i]!;
      sortedOut[to] = sorted[i]!;
    }
    [rows, rowsOut] = [rowsOut, rows];
    [sorted, sortedOut] = [sortedOut, sorted];
  }
  return { rows, keys: sorted };
}
