import { UserInputError } from '../../../dsl/executor';

/** A classifier's predictions over some rows: class ids 0..k-1 and n × k probabilities, row-major. */
export interface ClassificationData {
  labels: Int32Array;
  scores: Float32Array;
  k: number;
  weights?: Float64Array;
}

/** A regressor's predictions over some rows. */
export interface RegressionData {
  labels: Float64Array;
  predictions: Float32Array;
  weights?: Float64Array;
}

/** Metric name → value; null where the metric is undefined on these rows (AUC of a single-class slice). */
export type MetricValues = Record<string, number | null>;

/**
 * How far a row of probabilities may sum from 1: a float32 softmax lands within about 1e-6, while
 * logits or one-vs-rest sigmoids miss by far more, and every ranking metric here assumes probabilities.
 */
const ROW_SUM_TOLERANCE = 1e-4;

/** Names the rows in messages (the Evaluator says which split and slice); row numbers count from 0. */
export interface InputDescription {
  source?: string;
}

const sourceOf = (options: InputDescription) => options.source ?? 'the evaluated rows';
const where = (options: InputDescription, row: number) => `${sourceOf(options)}, row ${row}`;

export function checkWeights(weights: Float64Array | undefined, n: number, options: InputDescription): void {
  if (weights === undefined) return;
  if (weights.length !== n) throw new UserInputError(`${sourceOf(options)}: ${weights.length} weights for ${n} rows`);
  for (let i = 0; i < n; i++) {
    const w = weights[i]!;
    if (!(Number.isFinite(w) && w >= 0)) throw new UserInputError(`${where(options, i)}: the example weight is ${w}; expected a finite number >= 0`);
  }
}

export function checkClassification(data: ClassificationData, options: InputDescription): void {
  const { labels, scores, k } = data;
  const n = labels.length;
  if (!Number.isInteger(k) || k < 2) throw new UserInputError(`a classifier needs at least 2 classes; got k = ${k}`);
  if (scores.length !== n * k) throw new UserInputError(`${sourceOf(options)}: ${scores.length} scores for ${n} rows of ${k} classes (expected ${n * k})`);
  for (let i = 0; i < n; i++) {
    const label = labels[i]!;
    if (label < 0 || label >= k) throw new UserInputError(`${where(options, i)}: the label's class id is ${label}; expected 0..${k - 1}`);
    let sum = 0;
    for (let c = 0; c < k; c++) {
      const p = scores[i * k + c]!;
      if (!(p >= 0 && p <= 1)) throw new UserInputError(`${where(options, i)}: the probability of class ${c} is ${p}; expected a number in [0, 1]`);
      sum += p;
    }
    if (Math.abs(sum - 1) > ROW_SUM_TOLERANCE) throw new UserInputError(`${where(options, i)}: the class probabilities sum to ${sum}; expected 1 (the model's scores must be probabilities, not logits)`);
  }
  checkWeights(data.weights, n, options);
}

export function checkRegression(data: RegressionData, options: InputDescription): void {
  const n = data.labels.length;
  if (data.predictions.length !== n) throw new UserInputError(`${sourceOf(options)}: ${data.predictions.length} predictions for ${n} rows`);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(data.labels[i]!)) throw new UserInputError(`${where(options, i)}: the label is ${data.labels[i]}; expected a finite number`);
    if (!Number.isFinite(data.predictions[i]!)) throw new UserInputError(`${where(options, i)}: the prediction is ${data.predictions[i]}; expected a finite number`);
  }
  checkWeights(data.weights, n, options);
}

/** The rows' total weight: their count when they carry no weight. */
export function totalWeight(weights: Float64Array | undefined, n: number): number {
  if (weights === undefined) return n;
  let total = 0;
  for (let i = 0; i < n; i++) total += weights[i]!;
  return total;
}
