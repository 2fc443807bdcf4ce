import { checkRegression, type InputDescription, type MetricValues, type RegressionData } from './inputs';
import { inReportOrder } from './registry';
import { checkResampleWeights } from './weighted-mean';

/** scikit-learn's mean_absolute_percentage_error divides by max(|y|, ε) with ε = finfo(float64).eps. */
export const MAPE_EPSILON = 2 ** -52;

/** Regression needs no sort: preparing only checks the rows, so the bootstrap's calls look the same as for classification. */
export interface PreparedRegression {
  readonly labels: Float64Array;
  readonly predictions: Float32Array;
  readonly weights: Float64Array | undefined;
}

export function prepareRegression(data: RegressionData, options: InputDescription = {}): PreparedRegression {
  checkRegression(data, options);
  return { labels: data.labels, predictions: data.predictions, weights: data.weights };
}

/**
 * MAE, MSE, RMSE, R² and MAPE with scikit-learn's definitions, weighted (np.average), in two passes.
 * R² of a constant target is 1 for a perfect prediction and 0 otherwise (r2_score's force_finite=True),
 * the target counting as constant when every row with weight holds the same value (scikit-learn tests
 * the rounded variance for 0, which a weighted mean off by one ulp defeats); null with fewer than two
 * rows of weight, where r2_score returns NaN.
 */
export function evaluateRegression(prepared: PreparedRegression, weights: Float64Array | undefined = prepared.weights): MetricValues {
  const { labels, predictions } = prepared;
  const n = labels.length;
  checkResampleWeights(weights, n);
  let total = 0;
  let rowsWithWeight = 0;
  let absolute = 0;
  let squared = 0;
  let percentage = 0;
  let labelSum = 0;
  let first = NaN;
  let constant = true;
  for (let i = 0; i < n; i++) {
    const w = weights === undefined ? 1 : weights[i]!;
    if (w === 0) continue;
    const y = labels[i]!;
    const error = Math.abs(y - predictions[i]!);
    total += w;
    rowsWithWeight++;
    absolute += w * error;
    squared += w * error * error;
    percentage += (w * error) / Math.max(Math.abs(y), MAPE_EPSILON);
    labelSum += w * y;
    if (rowsWithWeight === 1) first = y;
    else if (y !== first) constant = false;
  }
  const computed: MetricValues = { example_count: n, weighted_example_count: total };
  if (total > 0) {
    const mean = labelSum / total;
    let variance = 0;
    for (let i = 0; i < n; i++) {
      const w = weights === undefined ? 1 : weights[i]!;
      variance += w * (labels[i]! - mean) ** 2;
    }
    Object.assign(computed, {
      mae: absolute / total,
      mse: squared / total,
      rmse: Math.sqrt(squared / total),
      r2: rowsWithWeight < 2 ? null : constant ? (squared === 0 ? 1 : 0) : 1 - squared / variance,
      mape: percentage / total,
    });
  }
  return inReportOrder({ task: 'regression', weighted: prepared.weights !== undefined }, computed);
}
