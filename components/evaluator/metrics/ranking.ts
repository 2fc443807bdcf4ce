import type { SliceResult } from '../payload';
import type { ScoreGroups } from './score-groups';

/** One-vs-rest weights per threshold group: how much positive and negative weight each group holds. */
export interface GroupTotals {
  positives: Float64Array;
  negatives: Float64Array;
  totalPositive: number;
  totalNegative: number;
}

export type Curve = NonNullable<SliceResult['roc']>[string];

/** Each group's positive and negative weight: the points of the curves. */
export function groupTotals(groups: ScoreGroups, weights: Float64Array | undefined): GroupTotals {
  const { order, groupEnds, positive } = groups;
  const positives = new Float64Array(groupEnds.length);
  const negatives = new Float64Array(groupEnds.length);
  let totalPositive = 0;
  let totalNegative = 0;
  let j = 0;
  for (let g = 0; g < groupEnds.length; g++) {
    let p = 0;
    let q = 0;
    for (const end = groupEnds[g]!; j < end; j++) {
      const w = weights === undefined ? 1 : weights[order[j]!]!;
      if (positive[j]) p += w;
      else q += w;
    }
    positives[g] = p;
    negatives[g] = q;
    totalPositive += p;
    totalNegative += q;
  }
  return { positives, negatives, totalPositive, totalNegative };
}

export interface RankingMetrics {
  rocAuc: number | null;
  averagePrecision: number | null;
}

/**
 * ROC AUC and average precision in one pass over the sorted rows, without the curves: O(n), what a
 * bootstrap resample pays per score column.
 *
 * ROC AUC is scikit-learn's roc_auc_score: the trapezoid under the ROC curve through one point per
 * group, so a tied positive-negative pair counts one half. Average precision is scikit-learn's
 * average_precision_score: Σ (R_g − R_{g−1}) · P_g over the groups, a step sum, not a trapezoid.
 * ROC AUC is null without positive or without negative weight (scikit-learn warns and returns NaN);
 * average precision is null without positive weight, where recall is undefined (scikit-learn warns,
 * takes recall as 1 and returns 0).
 */
export function rankingMetrics(groups: ScoreGroups, weights: Float64Array | undefined): RankingMetrics {
  const { order, groupEnds, positive } = groups;
  let tp = 0;
  let fp = 0;
  let area = 0;
  let precisionSum = 0;
  let j = 0;
  for (let g = 0; g < groupEnds.length; g++) {
    let p = 0;
    let q = 0;
    const end = groupEnds[g]!;
    if (weights === undefined) {
      for (; j < end; j++) {
        if (positive[j]) p++;
        else q++;
      }
    } else {
      for (; j < end; j++) {
        if (positive[j]) p += weights[order[j]!]!;
        else q += weights[order[j]!]!;
      }
    }
    area += q * (2 * tp + p);
    tp += p;
    fp += q;
    // A group without positive weight adds no recall, and may hold no weight at all (0/0 precision).
    if (p > 0) precisionSum += (p * tp) / (tp + fp);
  }
  return { rocAuc: tp > 0 && fp > 0 ? area / (2 * tp * fp) : null, averagePrecision: tp > 0 ? precisionSum / tp : null };
}

/**
 * The ROC curve (x = FPR, y = TPR) from (0, 0) and the precision-recall curve (x = recall, y =
 * precision) from (0, 1), one point per group holding weight towards lower thresholds: scikit-learn's
 * roc_curve(drop_intermediate=False) and precision_recall_curve read from its end, both after they drop
 * zero-weight rows. The ROC curve needs positives and negatives, the PR curve positives.
 */
export function curves(totals: GroupTotals): { roc: Curve | null; pr: Curve | null } {
  const { positives, negatives, totalPositive, totalNegative } = totals;
  if (!(totalPositive > 0)) return { roc: null, pr: null };
  const roc = { x: [0], y: [0] };
  const pr = { x: [0], y: [1] };
  let tp = 0;
  let fp = 0;
  for (let g = 0; g < positives.length; g++) {
    if (positives[g]! + negatives[g]! === 0) continue;
    tp += positives[g]!;
    fp += negatives[g]!;
    roc.x.push(fp / totalNegative);
    roc.y.push(tp / totalPositive);
    pr.x.push(tp / totalPositive);
    pr.y.push(tp / (tp + fp));
  }
  return { roc: totalNegative > 0 ? roc : null, pr };
}
