import { setImmediate as nextTurn } from 'node:timers/promises';
import { z } from 'zod';
import type { MetricValues } from './metrics/inputs';
import type { MetricValue } from './payload';
import { poissonCounts } from './poisson';

/**
 * Confidence intervals by TFMA's Poisson bootstrap: resample r gives every eval row a Poisson(1) count
 * (seeded by (seed, r)), each slice's metrics are computed again with its rows' weights multiplied by
 * those counts, and the interval is the percentiles of the R values. TFMA reports mean ± t·sd over 20
 * resamples; we report the percentile interval, which needs no normality and is what a reader expects
 * of "95%", and so we need more resamples for its 2.5% tails to rest on more than a value or two.
 *
 * The candidate and the baseline are scored on the same rows, so one resample's counts weigh both:
 * the difference's interval is then paired, and the noise the two models share (hard rows, lucky rows)
 * cancels in it. That is what lets a change threshold ask for a significant improvement.
 */

/**
 * 100 resamples: the ends of a 95% interval then fall between the 3rd and 4th and between the 97th and
 * 98th of 100 sorted values (with 20, TFMA's count, on the extreme ones). A resample costs drawing the
 * counts (3 ns a row, 8 ms for 3 M rows) and evaluating each slice at new weights, about twice an
 * unweighted evaluation since the weights are read in each score column's sorted order: on flights-3m
 * (3 M rows, 226 origin slices, candidate and baseline) about 0.26 s a resample on one core, 26 s in
 * all (bench/evaluator-bootstrap.ts). Resample r depends on (seed, r) alone, so threads could share them.
 */
export const DEFAULT_RESAMPLES = 100;
export const DEFAULT_CONFIDENCE = 0.95;

export const BootstrapOptionsSchema = z
  .object({
    resamples: z.number().int().min(2).max(10_000).default(DEFAULT_RESAMPLES),
    seed: z.number().int().min(0).max(2 ** 32 - 1).default(0),
    confidence: z.number().gt(0).lt(1).default(DEFAULT_CONFIDENCE),
  })
  .strict();
export type BootstrapOptions = z.infer<typeof BootstrapOptionsSchema>;

/** A model's metrics over one slice's rows, recomputed at any per-row weights (aligned with the slice's rows). */
export type WeightedMetrics = (weights: Float64Array) => MetricValues;

export interface BootstrapSlice {
  /** Indices into the eval rows, ascending or not; the weights passed to the metrics follow this order. */
  rows: Uint32Array;
  candidate: WeightedMetrics;
  /** The baseline's metrics over the same rows, when there is a baseline. */
  baseline?: WeightedMetrics;
}

export interface SliceIntervals {
  candidate: Record<string, MetricValue>;
  baseline: Record<string, MetricValue> | null;
  /** Candidate minus baseline: the point estimates' difference and the paired interval. */
  difference: Record<string, MetricValue> | null;
}

export interface BootstrapProgress {
  resamples: number;
  of: number;
}

/**
 * Point estimates (at the rows' own weights) and intervals for every slice. Yields to the event loop
 * between resamples so heartbeats and cancellation keep flowing; `signal` stops it there.
 */
export async function bootstrapIntervals(options: {
  rowCount: number;
  /** The examples' own weights over all eval rows; absent means 1 each. */
  exampleWeights?: Float64Array;
  slices: BootstrapSlice[];
  bootstrap: BootstrapOptions;
  signal?: AbortSignal;
  onProgress?: (progress: BootstrapProgress) => void;
}): Promise<SliceIntervals[]> {
  const { rowCount, exampleWeights, slices, bootstrap } = options;
  const { resamples } = bootstrap;
  const weightsOf = slices.map((s) => new Float64Array(s.rows.length));
  const ones = new Uint8Array(rowCount).fill(1);
  const points = slices.map((slice, s) => {
    const weights = sliceWeights(slice.rows, ones, exampleWeights, weightsOf[s]!);
    return { candidate: slice.candidate(weights), baseline: slice.baseline?.(weights) ?? null };
  });
  const samples = slices.map((slice, s) => ({
    candidate: new MetricSamples(Object.keys(points[s]!.candidate), resamples),
    baseline: slice.baseline ? new MetricSamples(Object.keys(points[s]!.baseline!), resamples) : null,
    difference: slice.baseline ? new MetricSamples(sharedKeys(points[s]!.candidate, points[s]!.baseline!), resamples) : null,
  }));

  const counts = new Uint8Array(rowCount);
  for (let r = 0; r < resamples; r++) {
    poissonCounts(bootstrap.seed, r, counts);
    slices.forEach((slice, s) => {
      const weights = sliceWeights(slice.rows, counts, exampleWeights, weightsOf[s]!);
      const candidate = slice.candidate(weights);
      const baseline = slice.baseline?.(weights);
      const sample = samples[s]!;
      sample.candidate.record(r, candidate);
      if (baseline) {
        sample.baseline!.record(r, baseline);
        sample.difference!.record(r, differenceOf(candidate, baseline));
      }
    });
    options.onProgress?.({ resamples: r + 1, of: resamples });
    await nextTurn();
    options.signal?.throwIfAborted();
  }

  return slices.map((_, s) => {
    const point = points[s]!;
    const sample = samples[s]!;
    return {
      candidate: sample.candidate.intervals(point.candidate, bootstrap.confidence),
      baseline: point.baseline && sample.baseline!.intervals(point.baseline, bootstrap.confidence),
      difference: point.baseline && sample.difference!.intervals(differenceOf(point.candidate, point.baseline), bootstrap.confidence),
    };
  });
}

function sliceWeights(rows: Uint32Array, counts: Uint8Array, exampleWeights: Float64Array | undefined, out: Float64Array): Float64Array {
  const n = rows.length;
  if (exampleWeights) for (let j = 0; j < n; j++) out[j] = counts[rows[j]!]! * exampleWeights[rows[j]!]!;
  else for (let j = 0; j < n; j++) out[j] = counts[rows[j]!]!;
  return out;
}

function sharedKeys(a: MetricValues, b: MetricValues): string[] {
  return Object.keys(a).filter((k) => k in b);
}

/** Candidate minus baseline per metric both have; null where either is undefined. */
export function differenceOf(candidate: MetricValues, baseline: MetricValues): MetricValues {
  const out: MetricValues = {};
  for (const k of sharedKeys(candidate, baseline)) {
    const c = candidate[k];
    const b = baseline[k];
    out[k] = c === null || c === undefined || b === null || b === undefined ? null : c - b;
  }
  return out;
}

/** Each metric's value in every resample; NaN where the metric was undefined in that resample. */
class MetricSamples {
  private readonly values = new Map<string, Float64Array>();

  constructor(metrics: string[], resamples: number) {
    for (const m of metrics) this.values.set(m, new Float64Array(resamples).fill(NaN));
  }

  record(resample: number, metrics: MetricValues): void {
    for (const [m, values] of this.values) {
      const v = metrics[m];
      if (v !== null && v !== undefined) values[resample] = v;
    }
  }

  /**
   * The percentile interval over the resamples where the metric is defined (a resample of a small
   * slice can lose every positive and leave its AUC undefined); none where fewer than two are, or
   * where the point estimate itself is undefined.
   */
  intervals(points: MetricValues, confidence: number): Record<string, MetricValue> {
    const out: Record<string, MetricValue> = {};
    for (const [m, values] of this.values) {
      const value = points[m] ?? null;
      const defined = values.filter((v) => !Number.isNaN(v)).sort();
      if (value === null || defined.length < 2) out[m] = { value, lower: null, upper: null };
      else out[m] = { value, lower: quantile(defined, (1 - confidence) / 2), upper: quantile(defined, (1 + confidence) / 2) };
    }
    return out;
  }
}

/** The q-quantile of sorted values, interpolating linearly between order statistics (numpy's default). */
export function quantile(sorted: Float64Array, q: number): number {
  const at = q * (sorted.length - 1);
  const below = Math.floor(at);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below]! + (at - below) * (sorted[above]! - sorted[below]!);
}
