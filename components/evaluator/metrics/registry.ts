/**
 * Every metric the Evaluator computes: which models it applies to, which way is better (for change
 * thresholds and the report's arrows), and what it means in one line for the report.
 */
export type MetricTask = 'classification' | 'regression';
export type MetricDirection = 'higherIsBetter' | 'lowerIsBetter';

export interface MetricInfo {
  task: MetricTask | 'any';
  /** Classification metrics computed only for binary (k = 2) or only for multi-class models. */
  classes?: 'binary' | 'multiclass';
  /** Only when the examples carry a weight. */
  weightedOnly?: true;
  direction: MetricDirection;
  description: string;
}

const averaged = (metric: 'precision' | 'recall' | 'f1', what: string): Record<string, MetricInfo> => ({
  [`${metric}_macro`]: { task: 'classification', classes: 'multiclass', direction: 'higherIsBetter', description: `${what}, the unweighted mean over the classes in the labels or predictions` },
  [`${metric}_micro`]: { task: 'classification', classes: 'multiclass', direction: 'higherIsBetter', description: `${what} from the counts summed over classes (equal to accuracy)` },
  [`${metric}_weighted`]: { task: 'classification', classes: 'multiclass', direction: 'higherIsBetter', description: `${what}, the mean over classes weighted by their number of examples` },
});

export const METRICS: Record<string, MetricInfo> = {
  example_count: { task: 'any', direction: 'higherIsBetter', description: 'Number of examples evaluated' },
  weighted_example_count: { task: 'any', weightedOnly: true, direction: 'higherIsBetter', description: 'Sum of the example weights' },
  accuracy: { task: 'classification', direction: 'higherIsBetter', description: 'Share of examples whose most probable class is the true one' },
  balanced_accuracy: { task: 'classification', direction: 'higherIsBetter', description: 'Recall averaged over the classes present in the labels' },
  precision: { task: 'classification', classes: 'binary', direction: 'higherIsBetter', description: 'Of the examples predicted positive (class 1), the share that are' },
  recall: { task: 'classification', classes: 'binary', direction: 'higherIsBetter', description: 'Of the positive examples (class 1), the share predicted positive' },
  f1: { task: 'classification', classes: 'binary', direction: 'higherIsBetter', description: 'Harmonic mean of precision and recall of class 1' },
  ...averaged('precision', 'Precision'),
  ...averaged('recall', 'Recall'),
  ...averaged('f1', 'F1'),
  roc_auc: { task: 'classification', direction: 'higherIsBetter', description: 'Area under the ROC curve (one-vs-rest macro average for multi-class); 0.5 is chance' },
  pr_auc: { task: 'classification', direction: 'higherIsBetter', description: 'Average precision, the step-wise area under the precision-recall curve (one-vs-rest macro for multi-class)' },
  log_loss: { task: 'classification', direction: 'lowerIsBetter', description: 'Mean negative log probability of the true class (cross-entropy)' },
  mae: { task: 'regression', direction: 'lowerIsBetter', description: 'Mean absolute error' },
  mse: { task: 'regression', direction: 'lowerIsBetter', description: 'Mean squared error' },
  rmse: { task: 'regression', direction: 'lowerIsBetter', description: 'Root mean squared error, in the units of the label' },
  r2: { task: 'regression', direction: 'higherIsBetter', description: 'Coefficient of determination: 1 − squared error / variance of the label' },
  mape: { task: 'regression', direction: 'lowerIsBetter', description: 'Mean absolute percentage error, as a fraction (0.1 = 10%)' },
};

export type ModelShape = { task: 'classification'; k: number; weighted: boolean } | { task: 'regression'; weighted: boolean };

/** The metrics the Evaluator reports for such a model, in the report's order. */
export function metricNames(shape: ModelShape): string[] {
  return Object.entries(METRICS)
    .filter(([, info]) => info.task === 'any' || info.task === shape.task)
    .filter(([, info]) => shape.task !== 'classification' || info.classes === undefined || info.classes === (shape.k === 2 ? 'binary' : 'multiclass'))
    .filter(([, info]) => shape.weighted || !info.weightedOnly)
    .map(([name]) => name);
}

/** The computed values in the report's order, null for the metrics left undefined (rows without weight). */
export function inReportOrder(shape: ModelShape, computed: Record<string, number | null>): Record<string, number | null> {
  return Object.fromEntries(metricNames(shape).map((name) => [name, computed[name] ?? null]));
}
