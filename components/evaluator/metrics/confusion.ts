import type { MetricValues } from './inputs';

/** Each row's predicted class: the most probable, the first on a tie (numpy's argmax, so scikit-learn's predict). */
export function predictedClasses(scores: Float32Array, k: number): Int32Array {
  const n = scores.length / k;
  const predicted = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (scores[i * k + c]! > scores[i * k + best]!) best = c;
    predicted[i] = best;
  }
  return predicted;
}

/** k × k weights, row = true class, column = predicted class (row-major), as confusion_matrix(sample_weight=...). */
export function confusionMatrix(labels: Int32Array, predicted: Int32Array, k: number, weights: Float64Array | undefined): Float64Array {
  const matrix = new Float64Array(k * k);
  const n = labels.length;
  if (weights === undefined) for (let i = 0; i < n; i++) matrix[labels[i]! * k + predicted[i]!]++;
  else for (let i = 0; i < n; i++) matrix[labels[i]! * k + predicted[i]!] += weights[i]!;
  return matrix;
}

/** A ratio whose denominator is 0 is 0: scikit-learn's zero_division default ('warn') returns 0. */
const ratio = (numerator: number, denominator: number) => (denominator > 0 ? numerator / denominator : 0);

interface ClassCounts {
  /** Weight of rows of the class (support), of rows predicted as it, and of rows both. */
  actual: number[];
  predicted: number[];
  correct: number[];
}

function classCounts(matrix: Float64Array, k: number): ClassCounts {
  const actual = new Array<number>(k).fill(0);
  const predicted = new Array<number>(k).fill(0);
  const correct = new Array<number>(k).fill(0);
  for (let t = 0; t < k; t++) {
    for (let p = 0; p < k; p++) {
      actual[t]! += matrix[t * k + p]!;
      predicted[p]! += matrix[t * k + p]!;
    }
    correct[t] = matrix[t * k + t]!;
  }
  return { actual, predicted, correct };
}

const sum = (values: number[]) => values.reduce((s, v) => s + v, 0);
const mean = (values: number[]) => sum(values) / values.length;

/**
 * Accuracy, balanced accuracy, and precision, recall and F1 (of class 1 for a binary model; macro,
 * micro and weighted averages otherwise), all from the confusion matrix, with scikit-learn's
 * definitions:
 * - balanced accuracy: the mean recall over the classes present in the labels (a class only predicted
 *   is left out, as balanced_accuracy_score does with a warning);
 * - the averages run over the classes present in the labels or the predictions, as scikit-learn's
 *   default `labels=None` does (a slice of one class is not marked down for classes it cannot have);
 *   macro: their unweighted mean; weighted: weighted by support; micro: from the summed counts;
 * - F1 = 2·TP / (2·TP + FP + FN); every 0/0 is 0 (zero_division's default).
 * A class is present when it has positive weight, so a row of weight 0 counts as absent, as the
 * Poisson bootstrap needs (scikit-learn agrees whenever the weights are positive).
 * The matrix must hold some weight (the caller reports nulls otherwise).
 */
export function confusionMetrics(matrix: Float64Array, k: number): MetricValues {
  const { actual, predicted, correct } = classCounts(matrix, k);
  const total = sum(actual);
  const inLabels = [...Array(k).keys()].filter((c) => actual[c]! > 0);
  const accuracy = sum(correct) / total;
  const balancedAccuracy = mean(inLabels.map((c) => correct[c]! / actual[c]!));
  const precision = (c: number) => ratio(correct[c]!, predicted[c]!);
  const recall = (c: number) => ratio(correct[c]!, actual[c]!);
  const f1 = (c: number) => ratio(2 * correct[c]!, actual[c]! + predicted[c]!);
  if (k === 2) return { accuracy, balanced_accuracy: balancedAccuracy, precision: precision(1), recall: recall(1), f1: f1(1) };

  const present = [...Array(k).keys()].filter((c) => actual[c]! > 0 || predicted[c]! > 0);
  const pick = (values: number[]) => present.map((c) => values[c]!);
  const [tp, predictedSum, actualSum] = [sum(pick(correct)), sum(pick(predicted)), sum(pick(actual))];
  const metrics: MetricValues = { accuracy, balanced_accuracy: balancedAccuracy };
  const perClass = { precision, recall, f1 };
  const micro = { precision: ratio(tp, predictedSum), recall: ratio(tp, actualSum), f1: ratio(2 * tp, actualSum + predictedSum) };
  for (const name of ['precision', 'recall', 'f1'] as const) {
    const values = present.map(perClass[name]);
    metrics[`${name}_macro`] = mean(values);
    metrics[`${name}_micro`] = micro[name];
    metrics[`${name}_weighted`] = sum(values.map((v, i) => v * actual[present[i]!]!)) / total;
  }
  return metrics;
}
