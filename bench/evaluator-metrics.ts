import { evaluateClassification, prepareClassification } from '../components/evaluator/metrics/classification';
import { evaluateRegression, prepareRegression } from '../components/evaluator/metrics/regression';
import { binaryRows, multiclassRows, regressionRows } from '../test/components/evaluator-metrics-cases';

/**
 * The cost of one bootstrap resample of the Evaluator's metrics on 1 M rows: evaluate() under fresh
 * integer weights (as weight × Poisson count) against the prepare() it reuses (the per-column sort),
 * for a binary and a 3-class model (exact AUC, and binned over 10,000 thresholds) and a regressor.
 * The ratio is the share of a from-scratch evaluation (prepare + evaluate) one resample costs. Each
 * figure is the fastest of 7 runs: on a shared machine the slower ones measure the neighbours.
 *
 *   node dist/bench/evaluator-metrics.js
 */
const ROWS = 1_000_000;
const REPEATS = 7;

function timeMs(run: () => void): number {
  const times: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const start = performance.now();
    run();
    times.push(performance.now() - start);
  }
  return Math.min(...times);
}

function resampleWeights(seed: number): Float64Array {
  let s = seed;
  return Float64Array.from({ length: ROWS }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s >>> 30;
  });
}

function main(): void {
  const weights = resampleWeights(7);
  const report = (label: string, prepare: number, evaluate: number) =>
    console.log(`${label.padEnd(34)} prepare ${prepare.toFixed(1).padStart(7)} ms   evaluate ${evaluate.toFixed(1).padStart(6)} ms   resample / from scratch ${(evaluate / (prepare + evaluate)).toFixed(3)}`);
  for (const [label, data] of [['binary (k = 2)', binaryRows(ROWS, 1)], ['3-class', multiclassRows(ROWS, 3, 2)]] as const) {
    for (const exactAucLimit of [ROWS, 0]) {
      const method = exactAucLimit === 0 ? 'binned' : 'exact';
      const prepare = timeMs(() => prepareClassification(data, { exactAucLimit }));
      const prepared = prepareClassification(data, { exactAucLimit });
      report(`${label}, ${method} AUC, 1 M rows`, prepare, timeMs(() => evaluateClassification(prepared, weights)));
    }
  }
  const data = regressionRows(ROWS, 3);
  const prepared = prepareRegression(data);
  report('regression, 1 M rows', timeMs(() => prepareRegression(data)), timeMs(() => evaluateRegression(prepared, weights)));
}

main();
