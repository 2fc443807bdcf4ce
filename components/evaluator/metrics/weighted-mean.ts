/** Σ w·v / Σ w over the rows (the plain mean without weights); null when the rows hold no weight. */
export function weightedMean(values: Float64Array, weights: Float64Array | undefined): number | null {
  const n = values.length;
  let sum = 0;
  let total = 0;
  if (weights === undefined) {
    for (let i = 0; i < n; i++) sum += values[i]!;
    total = n;
  } else {
    for (let i = 0; i < n; i++) {
      sum += weights[i]! * values[i]!;
      total += weights[i]!;
    }
  }
  return total > 0 ? sum / total : null;
}

/** Weights passed to an evaluate() (a bootstrap resample's) must cover the prepared rows one for one. */
export function checkResampleWeights(weights: Float64Array | undefined, rows: number): void {
  if (weights !== undefined && weights.length !== rows) throw new Error(`${weights.length} weights for ${rows} prepared rows`);
}
