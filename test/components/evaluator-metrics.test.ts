import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { classificationReport, evaluateClassification, LOG_LOSS_EPSILON, prepareClassification } from '../../components/evaluator/metrics/classification';
import { downsampleCurve } from '../../components/evaluator/metrics/downsample-curve';
import type { ClassificationData, MetricValues, RegressionData } from '../../components/evaluator/metrics/inputs';
import { evaluateRegression, MAPE_EPSILON, prepareRegression } from '../../components/evaluator/metrics/regression';
import { METRICS, metricNames } from '../../components/evaluator/metrics/registry';
import { BINNED_AUC_THRESHOLDS } from '../../components/evaluator/metrics/score-groups';
import { REPO_ROOT } from '../support/repo-root';
import { sklearnPython } from '../support/test-tools';
import { tempDir } from '../support/tmp';
import { throwsUserInputError } from '../support/user-input-errors';
import { binaryRows, casesJson, multiclassRows, regressionRows, sklearnCases } from './evaluator-metrics-cases';

/** Relative to the larger of 1 and |expected|; null only equals null. */
function close(actual: number | null | undefined, expected: number | null | undefined, tolerance: number, what: string): void {
  if (expected === null || expected === undefined || actual === null || actual === undefined) {
    assert.equal(actual, expected, what);
    return;
  }
  assert.ok(Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)), `${what}: ${actual} is not ${expected} (±${tolerance})`);
}

function closeAll(actual: MetricValues, expected: Record<string, number | null>, tolerance: number, what: string): void {
  for (const [name, value] of Object.entries(expected)) close(actual[name], value, tolerance, `${what}: ${name}`);
}

const classify = (data: ClassificationData, exactAucLimit?: number) => evaluateClassification(prepareClassification(data, { exactAucLimit }));
const regress = (data: RegressionData) => evaluateRegression(prepareRegression(data));

/** Rows i repeated counts[i] times: what a weight of counts[i] must mean (the Poisson bootstrap relies on it). */
function repeatClassification(data: ClassificationData, counts: number[]): ClassificationData {
  const rows = counts.flatMap((count, i) => Array<number>(count).fill(i));
  return {
    k: data.k,
    labels: Int32Array.from(rows, (i) => data.labels[i]!),
    scores: Float32Array.from(rows.flatMap((i) => Array.from(data.scores.subarray(i * data.k, (i + 1) * data.k)))),
  };
}

describe('Evaluator metrics', function () {
  describe('hand-checked from the definitions', () => {
    it('binary: 4 rows, AUC 3/4 of positive-negative pairs ordered, AP 1·½ + ⅔·½, class 1 predicted above 0.5', () => {
      const p1 = [0.1, 0.4, 0.35, 0.8];
      const data = { k: 2, labels: Int32Array.from([0, 0, 1, 1]), scores: Float32Array.from(p1.flatMap((p) => [1 - p, p])) };
      const metrics = classify(data);
      // Predicted [0, 0, 0, 1]: TP 1, FP 0, FN 1, TN 2.
      closeAll(metrics, { example_count: 4, accuracy: 0.75, balanced_accuracy: 0.75, precision: 1, recall: 0.5, f1: 2 / 3, roc_auc: 0.75, pr_auc: 5 / 6 }, 1e-12, 'binary');
      const f = Math.fround;
      close(metrics.log_loss, -(Math.log(f(0.9)) + Math.log(f(0.6)) + Math.log(f(0.35)) + Math.log(f(0.8))) / 4, 1e-12, 'log_loss');
      assert.equal('weighted_example_count' in metrics, false, 'no weights, no weighted count');
      assert.deepEqual(classificationReport(prepareClassification(data)).confusionMatrix, [[2, 0], [1, 1]]);
    });

    it('ties: a tied positive-negative pair counts one half in the AUC; a 0.5/0.5 row is predicted class 0', () => {
      const p1 = [0.5, 0.5, 0.9, 0.1];
      const metrics = classify({ k: 2, labels: Int32Array.from([1, 0, 1, 0]), scores: Float32Array.from(p1.flatMap((p) => [1 - p, p])) });
      // Pairs (pos, neg): (0.9, 0.5) 1, (0.9, 0.1) 1, (0.5, 0.5) ½, (0.5, 0.1) 1.
      closeAll(metrics, { roc_auc: 3.5 / 4, pr_auc: 0.5 * 1 + 0.5 * (2 / 3), accuracy: 0.75, recall: 0.5, precision: 1 }, 1e-12, 'ties');
    });

    it('weights: a weight of 2 counts a row twice, a weight of 0 leaves it out', () => {
      const p1 = [0.1, 0.4, 0.35, 0.8, 0.7];
      const scores = Float32Array.from(p1.flatMap((p) => [1 - p, p]));
      const labels = Int32Array.from([0, 0, 1, 1, 0]);
      const weighted = classify({ k: 2, labels, scores, weights: Float64Array.from([2, 1, 1, 1, 0]) });
      // Positives 0.35 and 0.8 (weight 1 each), negatives 0.1 (weight 2) and 0.4: of the pairs' weight 2 × 3, 0.8 orders 3 and 0.35 orders 2.
      closeAll(weighted, { example_count: 5, weighted_example_count: 5, roc_auc: 5 / 6, accuracy: 4 / 5, balanced_accuracy: (1 + 0.5) / 2 }, 1e-12, 'weighted');
    });

    it('three classes: macro, micro and weighted averages from the confusion matrix', () => {
      // Rows as (label, predicted): (0,0) (0,0) (0,1) (1,1) (1,2) (2,2).
      const rows: Array<[number, number[]]> = [[0, [0.7, 0.2, 0.1]], [0, [0.5, 0.3, 0.2]], [0, [0.2, 0.7, 0.1]], [1, [0.1, 0.8, 0.1]], [1, [0.2, 0.3, 0.5]], [2, [0.1, 0.1, 0.8]]];
      const metrics = classify({ k: 3, labels: Int32Array.from(rows.map(([y]) => y)), scores: Float32Array.from(rows.flatMap(([, p]) => p)) });
      // Per class (TP, predicted, actual): 0 (2, 2, 3), 1 (1, 2, 2), 2 (1, 2, 1).
      const precision = [1, 0.5, 0.5];
      const recall = [2 / 3, 0.5, 1];
      const f1 = [4 / 5, 2 / 4, 2 / 3];
      const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
      const bySupport = (v: number[]) => (3 * v[0]! + 2 * v[1]! + v[2]!) / 6;
      closeAll(
        metrics,
        {
          accuracy: 4 / 6,
          balanced_accuracy: mean(recall),
          precision_macro: mean(precision),
          recall_macro: mean(recall),
          f1_macro: mean(f1),
          precision_micro: 4 / 6,
          recall_micro: 4 / 6,
          f1_micro: 4 / 6,
          precision_weighted: bySupport(precision),
          recall_weighted: bySupport(recall),
          f1_weighted: bySupport(f1),
        },
        1e-12,
        '3 classes',
      );
    });

    it('log loss clips a probability of 0 to float32 epsilon (2^-23)', () => {
      const metrics = classify({ k: 2, labels: Int32Array.from([1, 0]), scores: Float32Array.from([1, 0, 1, 0]) });
      close(metrics.log_loss, -(Math.log(LOG_LOSS_EPSILON) + Math.log(1 - LOG_LOSS_EPSILON)) / 2, 1e-12, 'log_loss');
      assert.equal(LOG_LOSS_EPSILON, 1.1920928955078125e-7);
    });

    it('undefined AUCs are null: a single-class slice, a class absent from a multi-class slice; rows of no weight give nulls', () => {
      const single = classify({ k: 2, labels: Int32Array.from([0, 0]), scores: Float32Array.from([0.8, 0.2, 0.3, 0.7]) });
      assert.equal(single.roc_auc, null);
      assert.equal(single.pr_auc, null, 'no positives: recall is undefined (scikit-learn says 0.0)');
      const absent = classify({ k: 3, labels: Int32Array.from([0, 1]), scores: Float32Array.from([0.6, 0.3, 0.1, 0.2, 0.7, 0.1]) });
      assert.equal(absent.roc_auc, null);
      assert.equal(absent.pr_auc, null);
      close(absent.precision_macro, 1, 1e-12, 'macro over the two classes present, not the absent third');
      const none = classify({ k: 2, labels: Int32Array.from([0, 1]), scores: Float32Array.from([0.8, 0.2, 0.3, 0.7]), weights: Float64Array.from([0, 0]) });
      assert.deepEqual(Object.entries(none).filter(([, v]) => v !== null), [['example_count', 2], ['weighted_example_count', 0]]);
    });

    it('regression: MAE, MSE, RMSE, R², MAPE; a constant target; a zero label in MAPE', () => {
      const metrics = regress({ labels: Float64Array.from([1, 2, 3, 4]), predictions: Float32Array.from([1.5, 2, 2, 5]) });
      // Errors 0.5, 0, 1, 1; labels' mean 2.5, squares about it 5.
      closeAll(metrics, { example_count: 4, mae: 2.5 / 4, mse: 2.25 / 4, rmse: 0.75, r2: 1 - 2.25 / 5, mape: (0.5 + 0 + 1 / 3 + 1 / 4) / 4 }, 1e-12, 'regression');
      assert.equal(regress({ labels: Float64Array.from([3, 3, 3]), predictions: Float32Array.from([3, 3, 3]) }).r2, 1);
      assert.equal(regress({ labels: Float64Array.from([3, 3, 3]), predictions: Float32Array.from([3, 3, 2.5]) }).r2, 0);
      assert.equal(regress({ labels: Float64Array.from([3]), predictions: Float32Array.from([3]) }).r2, null, 'R² needs two rows');
      close(regress({ labels: Float64Array.from([0, 1]), predictions: Float32Array.from([0.5, 1]) }).mape, 0.5 / MAPE_EPSILON / 2, 1e-12, 'mape');
    });
  });

  it('agrees with scikit-learn on fixed random predictions (binary, 3- and 5-class, weights, ties, an absent class, single-class slices, regression)', async function () {
    const python = sklearnPython(this);
    const cases = sklearnCases();
    const file = path.join(await tempDir('evaluator-metrics'), 'cases.json');
    await writeFile(file, casesJson(cases));
    const { stdout } = await promisify(execFile)(python, [path.join(REPO_ROOT, 'test/fixtures/evaluator-metrics/sklearn_metrics.py'), file], { maxBuffer: 64 << 20 });
    const sklearn = JSON.parse(stdout) as Record<string, Record<string, unknown>>;
    for (const c of cases) {
      const expected = sklearn[c.name]!;
      if (c.task === 'regression') {
        const metrics = regress(c.data);
        closeAll(metrics, expected as Record<string, number | null>, 1e-9, c.name);
        continue;
      }
      const prepared = prepareClassification(c.data);
      const metrics = evaluateClassification(prepared);
      for (const name of metricNames({ task: 'classification', k: c.data.k, weighted: c.data.weights !== undefined })) {
        if (name === 'example_count' || name === 'weighted_example_count' || name === 'log_loss') continue;
        // Without positives scikit-learn sets recall to 1 and says AP = 0; recall is undefined there, so null.
        const want = name === 'pr_auc' && c.name === 'binary single class 0' ? (assert.equal(expected[name], 0), null) : (expected[name] as number | null);
        close(metrics[name], want, 1e-9, `${c.name}: ${name}`);
      }
      // scikit-learn takes the logarithm in the probabilities' dtype: float32 there, float64 here.
      close(metrics.log_loss, expected.log_loss_float64_clipped_at_float32_eps as number, 1e-12, `${c.name}: log_loss`);
      close(metrics.log_loss, expected.log_loss_float32 as number, 1e-6, `${c.name}: log_loss (float32)`);
      const report = classificationReport(prepared, Infinity);
      assert.deepEqual(report.confusionMatrix.flat().map((v) => +v.toPrecision(12)), (expected.confusion_matrix as number[][]).flat().map((v) => +v.toPrecision(12)), `${c.name}: confusion matrix`);
      for (const [cls, curves] of Object.entries(expected.curves as Record<string, { roc?: { x: number[]; y: number[] }; pr?: { x: number[]; y: number[] } }>)) {
        for (const kind of ['roc', 'pr'] as const) {
          const ours = report[kind][cls];
          const theirs = curves[kind];
          assert.equal(ours === undefined, theirs === undefined, `${c.name}: ${kind} curve of class ${cls} present in one only`);
          if (!ours || !theirs) continue;
          assert.equal(ours.x.length, theirs.x.length, `${c.name}: ${kind} points of class ${cls}`);
          ours.x.forEach((x, i) => close(x, theirs.x[i]!, 1e-12, `${c.name}: ${kind} ${cls} x[${i}]`));
          ours.y.forEach((y, i) => close(y, theirs.y[i]!, 1e-12, `${c.name}: ${kind} ${cls} y[${i}]`));
        }
      }
      const bins = expected.calibration as Array<{ meanPrediction: number; meanLabel: number; examples: number }>;
      assert.equal(report.calibration.length, bins.length, `${c.name}: calibration bins`);
      report.calibration.forEach((bin, i) => {
        close(bin.meanPrediction, bins[i]!.meanPrediction, 1e-12, `${c.name}: calibration ${i} prediction`);
        close(bin.meanLabel, bins[i]!.meanLabel, 1e-12, `${c.name}: calibration ${i} label`);
        assert.equal(bin.examples, bins[i]!.examples, `${c.name}: calibration ${i} rows`);
      });
    }
  });

  it("bootstrap-ready: integer weights equal repeated rows, weight 0 a left-out row, and a resample's evaluate reuses one prepare", () => {
    for (const data of [binaryRows(300, 21, { ties: true }), multiclassRows(300, 4, 22)]) {
      const counts = Array.from(data.labels, (_, i) => (i * 7919) % 4);
      const prepared = prepareClassification(data);
      const resampled = evaluateClassification(prepared, Float64Array.from(counts));
      const repeated = classify(repeatClassification(data, counts));
      for (const name of metricNames({ task: 'classification', k: data.k, weighted: false })) {
        if (name !== 'example_count') close(resampled[name], repeated[name], 1e-12, `k=${data.k} ${name}`);
      }
      assert.deepEqual(evaluateClassification(prepared, new Float64Array(data.labels.length).fill(1)), classify(data), 'weights of 1 are no weights');
    }
    const data = regressionRows(200, 23);
    const counts = Array.from(data.labels, (_, i) => (i * 31) % 3);
    const resampled = evaluateRegression(prepareRegression(data), Float64Array.from(counts));
    const rows = counts.flatMap((count, i) => Array<number>(count).fill(i));
    const repeated = regress({ labels: Float64Array.from(rows, (i) => data.labels[i]!), predictions: Float32Array.from(rows, (i) => data.predictions[i]!) });
    for (const name of ['mae', 'mse', 'rmse', 'r2', 'mape']) close(resampled[name], repeated[name], 1e-12, `regression ${name}`);
  });

  it(`binned AUC over ${BINNED_AUC_THRESHOLDS} thresholds on 2 M rows: within the bound of pairs sharing a bin`, () => {
    const n = 2_000_000;
    const data = binaryRows(n, 31, { smooth: true });
    const binned = prepareClassification(data);
    const exact = prepareClassification(data, { exactAucLimit: n });
    assert.deepEqual(binned.auc, { method: 'binned', thresholds: 10_000, exactAucLimit: 1_000_000 });
    assert.deepEqual(exact.auc, { method: 'exact', exactAucLimit: n });
    const b = evaluateClassification(binned);
    const e = evaluateClassification(exact);
    // Binning changes only pairs whose scores share a bin (b/9999, (b+1)/9999]: each counts ½ instead of 0 or 1.
    const thresholds = Float64Array.from({ length: BINNED_AUC_THRESHOLDS - 2 }, (_, j) => (j + 1) / (BINNED_AUC_THRESHOLDS - 1));
    const pos = new Float64Array(BINNED_AUC_THRESHOLDS);
    const neg = new Float64Array(BINNED_AUC_THRESHOLDS);
    for (let i = 0; i < n; i++) {
      const p = data.scores[2 * i + 1]!;
      let lo = 0;
      let hi = thresholds.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (thresholds[mid]! < p) lo = mid + 1;
        else hi = mid;
      }
      (data.labels[i] === 1 ? pos : neg)[lo]++;
    }
    const P = pos.reduce((s, v) => s + v, 0);
    const N = neg.reduce((s, v) => s + v, 0);
    const bound = (0.5 * pos.reduce((s, v, j) => s + v * neg[j]!, 0)) / (P * N);
    assert.ok(Math.abs(b.roc_auc! - e.roc_auc!) <= bound, `|${b.roc_auc} - ${e.roc_auc}| > ${bound}`);
    assert.ok(bound < 1e-4, `the bound ${bound} for these smooth scores`);
    console.log(`      binned − exact: ROC AUC ${(b.roc_auc! - e.roc_auc!).toExponential(2)} (bound ${bound.toExponential(2)}), PR AUC ${(b.pr_auc! - e.pr_auc!).toExponential(2)}`);
    assert.ok(Math.abs(b.pr_auc! - e.pr_auc!) < 1e-4, `binned AP ${b.pr_auc} vs exact ${e.pr_auc}`);
    for (const name of ['accuracy', 'f1', 'log_loss'] as const) assert.equal(b[name], e[name], `${name} does not depend on the AUC method`);
    const curve = classificationReport(binned).roc['1']!;
    assert.ok(curve.x.length <= 200 && curve.x.length > 150, `${curve.x.length} ROC points for the report`);
    assert.deepEqual([curve.x[0], curve.y[0], curve.x.at(-1), curve.y.at(-1)], [0, 0, 1, 1]);
  });

  it('a long curve is cut to 200 points evenly along its length, its ends kept', () => {
    const m = 100_000;
    const x = Array.from({ length: m }, (_, i) => (i / (m - 1)) ** 4);
    const y = Array.from({ length: m }, (_, i) => Math.sqrt(i / (m - 1)));
    const cut = downsampleCurve({ x, y });
    assert.ok(cut.x.length <= 200 && cut.x.length >= 190, `${cut.x.length} points`);
    assert.deepEqual([cut.x[0], cut.y[0], cut.x.at(-1), cut.y.at(-1)], [0, 0, 1, 1]);
    const gaps = cut.x.slice(1).map((v, i) => Math.hypot(v - cut.x[i]!, cut.y[i + 1]! - cut.y[i]!));
    assert.ok(Math.max(...gaps) < 3 / 200, `largest gap ${Math.max(...gaps)} of a length-≈1.6 curve`);
  });

  it('the registry names every metric evaluate() returns, with a direction', () => {
    const shapes = [
      { data: binaryRows(50, 41, { weighted: true }), k: 2 },
      { data: multiclassRows(50, 3, 42), k: 3 },
    ];
    for (const { data, k } of shapes) assert.deepEqual(Object.keys(classify(data)), metricNames({ task: 'classification', k, weighted: data.weights !== undefined }));
    assert.deepEqual(Object.keys(regress(regressionRows(20, 43))), ['example_count', 'mae', 'mse', 'rmse', 'r2', 'mape']);
    assert.equal(METRICS.log_loss!.direction, 'lowerIsBetter');
    assert.equal(METRICS.roc_auc!.direction, 'higherIsBetter');
  });

  it('refuses bad rows, naming the row and what was expected', () => {
    const ok = binaryRows(10, 51);
    throwsUserInputError(() => prepareClassification({ ...ok, labels: Int32Array.from(ok.labels, (v, i) => (i === 3 ? 2 : v)) }, { source: 'eval split' }), /eval split, row 3: the label's class id is 2; expected 0\.\.1/);
    throwsUserInputError(() => prepareClassification({ ...ok, scores: ok.scores.map((v, i) => (i === 9 ? 1.5 : v)) }), /row 4: the probability of class 1 is 1\.5; expected a number in \[0, 1\]/);
    throwsUserInputError(() => prepareClassification({ ...ok, scores: ok.scores.map((v, i) => (i === 4 ? 0.9 : i === 5 ? 0.9 : v)) }), /row 2: the class probabilities sum to 1\.799999\d*; expected 1 .*not logits/);
    throwsUserInputError(() => prepareClassification({ ...ok, scores: ok.scores.subarray(2) }), /18 scores for 10 rows of 2 classes \(expected 20\)/);
    throwsUserInputError(() => prepareClassification({ ...ok, k: 1 }), /at least 2 classes; got k = 1/);
    throwsUserInputError(() => prepareClassification({ ...ok, weights: Float64Array.from({ length: 10 }, (_, i) => (i === 7 ? -1 : 1)) }), /row 7: the example weight is -1; expected a finite number >= 0/);
    throwsUserInputError(() => prepareRegression({ labels: Float64Array.from([1, NaN]), predictions: Float32Array.from([1, 2]) }), /row 1: the label is NaN; expected a finite number/);
    throwsUserInputError(() => prepareRegression({ labels: Float64Array.from([1, 2]), predictions: Float32Array.from([1, Infinity]) }), /row 1: the prediction is Infinity/);
    throwsUserInputError(() => prepareRegression({ labels: Float64Array.from([1, 2]), predictions: Float32Array.from([1]) }), /1 predictions for 2 rows/);
  });
});
