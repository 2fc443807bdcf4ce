import os from 'node:os';
import { withDuckDb } from '../components/data/duckdb-session';
import { sqlString } from '../components/data/sql';
import { bootstrapIntervals, BootstrapOptionsSchema, DEFAULT_RESAMPLES, type BootstrapSlice } from '../components/evaluator/bootstrap';
import { evaluateClassification, prepareClassification } from '../components/evaluator/metrics/classification';
import { poissonCounts } from '../components/evaluator/poisson';
import { DEFAULT_MIN_SLICE_SIZE, groupSlices } from '../components/evaluator/slices';
import { vegaFile } from '../test/components/vega-data';

/**
 * The Poisson bootstrap's cost on flights-3m.parquet (3 M rows): a binary "delayed ≥ 15 min" label and
 * two fixed logistic scorers (candidate and baseline) of distance and hour, so the figure is the
 * bootstrap's, not a model's. Printed: Poisson counts per resample; one evaluation of the overall slice
 * (the work a run without bootstrap does once per model); one bootstrap resample overall and with the
 * per-origin slices, candidate and baseline both; each against the evaluation measured in the same run.
 *
 *   node dist/bench/evaluator-bootstrap.js [resamples to time, default 5]
 */
const TIMED_RESAMPLES = Number(process.argv[2] ?? 5);

function seconds(fn: () => unknown): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Labels, both models' scores and the origin slices, as typed arrays: the rows' JS values are garbage once it returns. */
async function loadFlights() {
  const file = vegaFile('flights-3m.parquet');
  const columns = await withDuckDb({ tmpDir: os.tmpdir(), signal: new AbortController().signal }, async (db) =>
    (
      await db.query(
        `SELECT (coalesce(delay, 0) >= 15)::INTEGER AS label, ln(greatest(distance, 1))::DOUBLE AS logd, hour(date)::DOUBLE AS hour, origin FROM read_parquet(${sqlString(file)})`,
      )
    ).getColumnsJS(),
  );
  const [label, logDistance, hour, origin] = columns as [number[], number[], number[], string[]];
  const n = label.length;
  const scorer = (a: number, b: number, c: number) => {
    const scores = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      const p = 1 / (1 + Math.exp(-(a + b * logDistance[i]! + c * (hour[i]! - 12))));
      scores[2 * i] = 1 - p;
      scores[2 * i + 1] = p;
    }
    return scores;
  };
  return {
    n,
    labels: Int32Array.from(label),
    candidateScores: scorer(-1.6, 0.05, 0.08),
    baselineScores: scorer(-1.5, 0.02, 0.06),
    slices: groupSlices({ rowCount: n, columns: new Map([['origin', origin]]), specs: ['origin'], minSliceSize: DEFAULT_MIN_SLICE_SIZE }),
  };
}

async function main(): Promise<void> {
  const { n, labels, candidateScores, baselineScores, slices } = await loadFlights();
  const counts = new Uint8Array(n);
  poissonCounts(1, 0, counts);
  const poissonSeconds = Math.min(...[1, 2, 3].map((r) => seconds(() => poissonCounts(1, r, counts))));

  const judged = slices.filter((s) => !s.tooSmall);
  const pick = (scores: Float32Array, rows: Uint32Array) => {
    const out = new Float32Array(2 * rows.length);
    rows.forEach((row, j) => out.set(scores.subarray(2 * row, 2 * row + 2), 2 * j));
    return out;
  };
  let prepared: Array<{ rows: Uint32Array; candidate: ReturnType<typeof prepareClassification>; baseline: ReturnType<typeof prepareClassification> }> = [];
  const prepareSeconds = seconds(() => {
    prepared = judged.map((s) => {
      const sliceLabels = Int32Array.from(s.rows, (r) => labels[r]!);
      return {
        rows: s.rows,
        candidate: prepareClassification({ labels: sliceLabels, scores: pick(candidateScores, s.rows), k: 2 }),
        baseline: prepareClassification({ labels: sliceLabels, scores: pick(baselineScores, s.rows), k: 2 }),
      };
    });
  });
  const overall = prepared[0]!;
  evaluateClassification(overall.candidate);
  const evaluateSeconds = Math.min(...[1, 2, 3].map(() => seconds(() => evaluateClassification(overall.candidate))));
  // A resample's weights are random per row: the same evaluation at weights (here each row's Poisson count).
  const resampleWeights = Float64Array.from(counts);
  evaluateClassification(overall.candidate, resampleWeights);
  const weightedSeconds = Math.min(...[1, 2, 3].map(() => seconds(() => evaluateClassification(overall.candidate, resampleWeights))));

  const toSlice = (p: (typeof prepared)[number]): BootstrapSlice => ({
    rows: p.rows,
    candidate: (w) => evaluateClassification(p.candidate, w),
    baseline: (w) => evaluateClassification(p.baseline, w),
  });
  const bootstrap = BootstrapOptionsSchema.parse({ resamples: TIMED_RESAMPLES });
  const perResample = async (targets: BootstrapSlice[]) => {
    const start = process.hrtime.bigint();
    await bootstrapIntervals({ rowCount: n, slices: targets, bootstrap });
    // The point estimates are one more pass of every slice: counted apart from the resamples.
    return Number(process.hrtime.bigint() - start) / 1e9 / (TIMED_RESAMPLES + 1);
  };
  const overallSeconds = await perResample([toSlice(overall)]);
  const slicedSeconds = await perResample(prepared.map(toSlice));

  const ms = (s: number) => `${(s * 1000).toFixed(1)} ms`;
  const ratio = (s: number) => `${(s / evaluateSeconds).toFixed(2)}× one evaluation`;
  console.log(`flights-3m: ${n} rows; origin slices: ${slices.length - 1}, ${judged.length - 1} of ≥ ${DEFAULT_MIN_SLICE_SIZE} examples`);
  console.log(`Poisson(1) counts, ${n} rows: ${ms(poissonSeconds)} per resample (${((poissonSeconds / n) * 1e9).toFixed(1)} ns/row), ${ratio(poissonSeconds)}; × ${DEFAULT_RESAMPLES} resamples: ${(poissonSeconds * DEFAULT_RESAMPLES).toFixed(1)} s`);
  console.log(`prepare (sorts, once), candidate and baseline, every slice: ${ms(prepareSeconds)}`);
  console.log(`one evaluation, overall slice, one model: ${ms(evaluateSeconds)} (${((n / evaluateSeconds) / 1e6).toFixed(1)} M rows/s)`);
  console.log(`the same at a resample's weights: ${ms(weightedSeconds)}, ${ratio(weightedSeconds)}`);
  console.log(`bootstrap per resample, overall, candidate + baseline: ${ms(overallSeconds)}, ${ratio(overallSeconds)}; × ${DEFAULT_RESAMPLES}: ${(overallSeconds * DEFAULT_RESAMPLES).toFixed(1)} s`);
  console.log(`bootstrap per resample, overall + origin slices, candidate + baseline: ${ms(slicedSeconds)}, ${ratio(slicedSeconds)}; × ${DEFAULT_RESAMPLES}: ${(slicedSeconds * DEFAULT_RESAMPLES).toFixed(1)} s`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
