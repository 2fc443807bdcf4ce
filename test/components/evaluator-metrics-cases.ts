import type { ClassificationData, RegressionData } from '../../components/evaluator/metrics/inputs';
import { seededUint32 } from '../../components/trainer/seeded-random';

/** Fixed random predictions for the comparison with scikit-learn: the same seed gives the same rows everywhere. */
export type NamedCase = { name: string; task: 'classification'; data: ClassificationData } | { name: string; task: 'regression'; data: RegressionData };

const uniform = (seed: number) => {
  const next = seededUint32(seed, 0);
  return () => next() / 2 ** 32;
};

function weightsOf(n: number, random: () => number): Float64Array {
  return Float64Array.from({ length: n }, () => Math.fround(0.2 + 2.8 * random()));
}

/**
 * Binary: class-1 probabilities that lean towards the label; unless `smooth`, every 37th row certain (0
 * or 1, for log loss's clipping) and row 5 a 0.5 tie.
 */
export function binaryRows(n: number, seed: number, options: { weighted?: boolean; ties?: boolean; smooth?: boolean; labels?: 'mixed' | 'all0' | 'all1' } = {}): ClassificationData {
  const random = uniform(seed);
  const labels = new Int32Array(n);
  const scores = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const y = options.labels === 'all0' ? 0 : options.labels === 'all1' ? 1 : random() < 0.4 ? 1 : 0;
    let p = Math.min(1, Math.max(0, 0.5 + (y === 1 ? 0.15 : -0.15) + 0.8 * (random() - 0.5)));
    if (!options.smooth && i % 37 === 0) p = random() < 0.5 ? 0 : 1;
    if (!options.smooth && i === 5) p = 0.5;
    if (options.ties) p = Math.round(p * 10) / 10;
    labels[i] = y;
    scores[2 * i + 1] = p;
    scores[2 * i] = 1 - p;
  }
  return { labels, scores, k: 2, weights: options.weighted ? weightsOf(n, random) : undefined };
}

const TIED_ROWS = [
  [0.6, 0.3, 0.1],
  [0.2, 0.5, 0.3],
  [0.1, 0.1, 0.8],
  [0.4, 0.4, 0.2],
  [0.34, 0.33, 0.33],
];

/** k classes, softmax of noisy logits that favour the label; `absent` never appears as a label; `ties` draws rows from five fixed vectors (one an argmax tie). */
export function multiclassRows(n: number, k: number, seed: number, options: { weighted?: boolean; ties?: boolean; absent?: number } = {}): ClassificationData {
  const random = uniform(seed);
  const labels = new Int32Array(n);
  const scores = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    let y = Math.floor(random() * k);
    if (y === options.absent) y = (y + 1) % k;
    labels[i] = y;
    const row = options.ties ? TIED_ROWS[Math.floor(random() * TIED_ROWS.length)]! : softmax(Array.from({ length: k }, (_, c) => (c === y ? 1.2 : 0) + 3 * (random() - 0.5)));
    for (let c = 0; c < k; c++) scores[i * k + c] = row[c]!;
  }
  return { labels, scores, k, weights: options.weighted ? weightsOf(n, random) : undefined };
}

function softmax(logits: number[]): number[] {
  const top = Math.max(...logits);
  const e = logits.map((z) => Math.exp(z - top));
  const sum = e.reduce((s, v) => s + v, 0);
  return e.map((v) => v / sum);
}

/** Regression rows; `constant` gives every row that label (a perfect model when `perfect`); every 9th label 0 with `zeros` (MAPE divides by ε there). */
export function regressionRows(n: number, seed: number, options: { weighted?: boolean; constant?: number; perfect?: boolean; zeros?: boolean } = {}): RegressionData {
  const random = uniform(seed);
  const labels = new Float64Array(n);
  const predictions = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const y = options.constant ?? (options.zeros && i % 9 === 0 ? 0 : 10 * random() - 3);
    labels[i] = y;
    predictions[i] = options.perfect ? y : y + 2 * (random() - 0.5) + 0.3;
  }
  return { labels, predictions, weights: options.weighted ? weightsOf(n, random) : undefined };
}

export function sklearnCases(): NamedCase[] {
  const c = (name: string, data: ClassificationData): NamedCase => ({ name, task: 'classification', data });
  const r = (name: string, data: RegressionData): NamedCase => ({ name, task: 'regression', data });
  return [
    c('binary', binaryRows(500, 1)),
    c('binary weighted', binaryRows(500, 2, { weighted: true })),
    c('binary ties weighted', binaryRows(400, 3, { ties: true, weighted: true })),
    c('binary single class 0', binaryRows(60, 4, { labels: 'all0' })),
    c('binary single class 1', binaryRows(60, 5, { labels: 'all1' })),
    c('3-class', multiclassRows(600, 3, 6)),
    c('3-class weighted', multiclassRows(600, 3, 7, { weighted: true })),
    c('3-class ties weighted', multiclassRows(300, 3, 8, { ties: true, weighted: true })),
    c('3-class, class 2 absent from the labels', multiclassRows(300, 3, 9, { absent: 2 })),
    c('5-class weighted', multiclassRows(500, 5, 10, { weighted: true })),
    r('regression', regressionRows(400, 11)),
    r('regression weighted', regressionRows(400, 12, { weighted: true })),
    r('regression constant target', regressionRows(50, 13, { constant: 3 })),
    r('regression constant target, perfect', regressionRows(50, 14, { constant: 3, perfect: true, weighted: true })),
    r('regression zeros (MAPE)', regressionRows(90, 15, { zeros: true, weighted: true })),
  ];
}

/** The cases as the Python script reads them. */
export function casesJson(cases: NamedCase[]): string {
  const list = (a: ArrayLike<number> | undefined) => (a === undefined ? undefined : Array.from(a));
  return JSON.stringify(
    cases.map((c) =>
      c.task === 'classification'
        ? { name: c.name, task: c.task, k: c.data.k, labels: list(c.data.labels), scores: list(c.data.scores), weights: list(c.data.weights) }
        : { name: c.name, task: c.task, labels: list(c.data.labels), predictions: list(c.data.predictions), weights: list(c.data.weights) },
    ),
  );
}
