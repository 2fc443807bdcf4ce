import type { SliceResult } from '../payload';

export type CalibrationBins = NonNullable<SliceResult['calibration']>;

export const CALIBRATION_BINS = 10;

/**
 * The bin of probability p among `bins` equal-width bins of [0, 1], as scikit-learn's
 * calibration_curve(strategy='uniform') bins: edges i/bins as numpy's linspace computes them (i · step),
 * each bin closed on the right (searchsorted on the inner edges), so p = 0.1 falls in the first bin.
 */
function binOf(p: number, bins: number): number {
  const step = 1 / bins;
  let bin = Math.min(bins - 1, Math.max(0, Math.ceil(p * bins) - 1));
  while (bin > 0 && p <= bin * step) bin--;
  while (bin < bins - 1 && p > (bin + 1) * step) bin++;
  return bin;
}

/**
 * Reliability bins: per bin of the predicted probability (of class 1 for a binary model, of the
 * predicted class otherwise), the weighted mean prediction, the weighted share of hits (the label is
 * class 1; the prediction is right) and the number of rows. Bins without weight are left out, as
 * calibration_curve leaves out empty ones.
 */
export function calibrationBins(scores: Float32Array, k: number, labels: Int32Array, predicted: Int32Array, weights: Float64Array | undefined, bins = CALIBRATION_BINS): CalibrationBins {
  const predictionSum = new Float64Array(bins);
  const hitSum = new Float64Array(bins);
  const weightSum = new Float64Array(bins);
  const rows = new Float64Array(bins);
  const n = labels.length;
  const binary = k === 2;
  for (let i = 0; i < n; i++) {
    const p = scores[i * k + (binary ? 1 : predicted[i]!)]!;
    const hit = binary ? labels[i] === 1 : labels[i] === predicted[i];
    const w = weights === undefined ? 1 : weights[i]!;
    const bin = binOf(p, bins);
    predictionSum[bin] += w * p;
    if (hit) hitSum[bin] += w;
    weightSum[bin] += w;
    rows[bin]++;
  }
  const out: CalibrationBins = [];
  for (let b = 0; b < bins; b++) {
    if (weightSum[b]! > 0) out.push({ meanPrediction: predictionSum[b]! / weightSum[b]!, meanLabel: hitSum[b]! / weightSum[b]!, examples: rows[b]! });
  }
  return out;
}
