import { calibrationBins, type CalibrationBins } from './calibration';
import { confusionMatrix, confusionMetrics, predictedClasses } from './confusion';
import { downsampleCurve, MAX_CURVE_POINTS } from './downsample-curve';
import { checkClassification, totalWeight, type ClassificationData, type InputDescription, type MetricValues } from './inputs';
import { curves, groupTotals, rankingMetrics, type Curve } from './ranking';
import { inReportOrder } from './registry';
import { aucMethod, DEFAULT_EXACT_AUC_LIMIT, scoreGroups, type AucMethod, type ScoreGroups } from './score-groups';
import { checkResampleWeights, weightedMean } from './weighted-mean';

/**
 * Log loss clips probabilities to [ε, 1 − ε] with ε the machine epsilon of their dtype, as
 * scikit-learn's log_loss does; the scores are float32, so ε = 2^-23 (numpy's finfo(float32).eps).
 */
export const LOG_LOSS_EPSILON = 2 ** -23;

export interface ClassificationOptions extends InputDescription {
  /** Rows up to which AUCs are exact; binned over 10,000 thresholds beyond (DEFAULT_EXACT_AUC_LIMIT). */
  exactAucLimit?: number;
}

/** What every evaluation of the same rows shares, whatever their weights: the sorts, the predicted classes, each row's loss. */
export interface PreparedClassification {
  readonly k: number;
  readonly labels: Int32Array;
  readonly scores: Float32Array;
  readonly predicted: Int32Array;
  /** −ln of the true class's clipped probability, per row. */
  readonly rowLogLoss: Float64Array;
  /** Class 1's scores sorted and grouped (binary), or each class's, one-vs-rest. */
  readonly rankings: ScoreGroups[];
  /** The rows' own weights, the default of evaluateClassification. */
  readonly weights: Float64Array | undefined;
  readonly auc: AucMethod;
}

/** Checks the rows (a bad one is a UserInputError naming it) and does the work every resample shares: O(n·k) plus one radix sort per score column. */
export function prepareClassification(data: ClassificationData, options: ClassificationOptions = {}): PreparedClassification {
  checkClassification(data, options);
  const { labels, scores, k } = data;
  const n = labels.length;
  const auc = aucMethod(n, options.exactAucLimit ?? DEFAULT_EXACT_AUC_LIMIT);
  const rowLogLoss = new Float64Array(n);
  for (let i = 0; i < n; i++) rowLogLoss[i] = -Math.log(Math.min(1 - LOG_LOSS_EPSILON, Math.max(LOG_LOSS_EPSILON, scores[i * k + labels[i]!]!)));
  const positiveClasses = k === 2 ? [1] : [...Array(k).keys()];
  return {
    k,
    labels,
    scores,
    predicted: predictedClasses(scores, k),
    rowLogLoss,
    rankings: positiveClasses.map((c) => scoreGroups(scores, k, labels, c, auc)),
    weights: data.weights,
    auc,
  };
}

/**
 * A macro average is undefined when one of its classes' values is: for a class absent from the labels
 * scikit-learn 1.9's roc_auc_score(multi_class='ovr', labels=...) returns NaN (without `labels` it
 * raises) and average_precision_score raises.
 */
const macro = (values: Array<number | null>): number | null => (values.some((v) => v === null) ? null : (values as number[]).reduce((s, v) => s + v, 0) / values.length);

/**
 * Every metric of the prepared rows under `weights` (their own by default; a bootstrap resample passes
 * its own, weight × Poisson count): O(n·k), no sort. A weight of 0 is the same as leaving the row out.
 * ROC AUC and PR AUC of a multi-class model are one-vs-rest macro averages, null when a class has no
 * positive weight (scikit-learn raises there) and for a slice of a single class.
 */
export function evaluateClassification(prepared: PreparedClassification, weights: Float64Array | undefined = prepared.weights): MetricValues {
  const { k, labels, predicted } = prepared;
  const n = labels.length;
  checkResampleWeights(weights, n);
  const total = totalWeight(weights, n);
  const computed: MetricValues = { example_count: n, weighted_example_count: total };
  if (total > 0) {
    Object.assign(computed, confusionMetrics(confusionMatrix(labels, predicted, k, weights), k));
    const ranked = prepared.rankings.map((groups) => rankingMetrics(groups, weights));
    computed.roc_auc = macro(ranked.map((r) => r.rocAuc));
    computed.pr_auc = macro(ranked.map((r) => r.averagePrecision));
    computed.log_loss = weightedMean(prepared.rowLogLoss, weights);
  }
  return inReportOrder({ task: 'classification', k, weighted: prepared.weights !== undefined }, computed);
}

/** What the report draws for a slice: confusion matrix (weighted), curves per class id, calibration bins. */
export interface ClassificationReport {
  confusionMatrix: number[][];
  /** Keyed by class id: '1' for a binary model, every class with positives and negatives (ROC) or positives (PR) one-vs-rest otherwise. */
  roc: Record<string, Curve>;
  pr: Record<string, Curve>;
  calibration: CalibrationBins;
}

export function classificationReport(prepared: PreparedClassification, maxCurvePoints = MAX_CURVE_POINTS): ClassificationReport {
  const { k, labels, predicted, weights } = prepared;
  const matrix = confusionMatrix(labels, predicted, k, weights);
  const roc: Record<string, Curve> = {};
  const pr: Record<string, Curve> = {};
  for (const groups of prepared.rankings) {
    const points = curves(groupTotals(groups, weights));
    if (points.roc) roc[groups.positiveClass] = downsampleCurve(points.roc, maxCurvePoints);
    if (points.pr) pr[groups.positiveClass] = downsampleCurve(points.pr, maxCurvePoints);
  }
  return {
    confusionMatrix: [...Array(k).keys()].map((t) => Array.from(matrix.subarray(t * k, (t + 1) * k))),
    roc,
    pr,
    calibration: calibrationBins(prepared.scores, k, labels, predicted, weights),
  };
}
