import type { Approximation, DatasetStatisticsSchema, ExampleStatistics, FeatureStatistics, NumericSummary, TopValue } from './payload';
import type { Distribution, ExactEntry, PartialDataset, PartialFeature, PartialStatistics, TopEntry } from './partial-statistics';
import type { z } from 'zod';
import {
  evenlySpaced,
  HISTOGRAM_CONVENTION,
  QUANTILE_DEFINITION,
  quantilesHistogram,
  quantilesOf,
  standardHistogram,
  WEIGHTED_QUANTILE_DEFINITION,
  weightedQuantilesOf,
} from './figures';
import { COARSENED_METHOD, coarsenedError } from './sketches/coarsened-instants';
import { DDSKETCH_METHOD, DDSKETCH_RELATIVE_ACCURACY } from './sketches/ddsketch';
import { HLL_ERROR, HLL_METHOD } from './sketches/hyperloglog';
import { meanOf, populationStd } from './sketches/moments';
import { TOP_SUMMARY_METHOD } from './sketches/top-values-summary';
import { compareValues } from './sketches/value-order';
import type { WeightedPoint } from './sketches/weighted-points';
import { distinctOf, finitePoints } from './value-distribution';

/** partial_statistics.json → statistics.json: the figures a person and the other components read. */

export interface FinalizeOptions {
  topK: number;
  rankHistogramSize: number;
  numHistogramBuckets: number;
  numQuantiles: number;
}

type DatasetStatistics = z.infer<typeof DatasetStatisticsSchema>;
type Approximations = Record<string, Approximation>;

const ddsketchError = `each value within ${DDSKETCH_RELATIVE_ACCURACY * 100}% of the exact one, relatively (for an interpolated quantile: of the larger in magnitude of the two order statistics it lies between); histogram counts may move a value near a bucket edge into the next bucket`;

/** A value listed with its count (or weight) and the most it may be short by. */
interface Ranked {
  text: string;
  x: number | null;
  count: number;
  weight: number | null;
  error: number;
}

/** The values listed, the most a value not listed occurs, and whether the list is the exact first values by count. */
function ranked(d: Distribution): { values: Ranked[]; unlisted: number; exactRanking: boolean } {
  if (d.kind === 'exact') {
    return { values: d.entries.map(([text, x, count, weight]: ExactEntry) => ({ text, x, count, weight, error: 0 })), unlisted: 0, exactRanking: true };
  }
  return { values: d.top.entries.map(([text, x, count, weight, error]: TopEntry) => ({ text, x, count, weight, error })), unlisted: d.top.unlisted, exactRanking: d.top.exact };
}

const byMass = (mass: (r: Ranked) => number) => (a: Ranked, b: Ranked) => mass(b) - mass(a) || compareValues(a.text, a.x, b.text, b.x);

/** True when the first `k` by count are certainly the exact first `k`, with exact counts. */
function exactPrefix(sorted: readonly Ranked[], unlisted: number, k: number, exactRanking: boolean): boolean {
  if (exactRanking && (k <= sorted.length || unlisted === 0)) return true;
  const taken = sorted.slice(0, k);
  if (taken.some((r) => r.error > 0)) return false;
  if (unlisted === 0 && sorted.every((r) => r.error === 0)) return true;
  const last = taken.at(-1);
  if (!last || taken.length < k) return false;
  return unlisted < last.count && sorted.slice(k).every((r) => r.count + r.error < last.count);
}

function topValuesFigures(d: Distribution, options: FinalizeOptions, approximations: Approximations) {
  const { values, unlisted, exactRanking } = ranked(d);
  const sorted = values.sort(byMass((r) => r.count));
  const top = sorted.slice(0, options.topK);
  const rank = sorted.slice(0, options.rankHistogramSize);
  const bound = `counts are lower bounds, each at most ${Math.max(0, ...rank.map((r) => r.error))} below the true count; a value not listed occurs at most ${unlisted} times`;
  if (!exactPrefix(sorted, unlisted, options.topK, exactRanking)) approximations.topValues = { method: TOP_SUMMARY_METHOD, error: bound };
  if (!exactPrefix(sorted, unlisted, options.rankHistogramSize, exactRanking)) approximations.rankHistogram = { method: TOP_SUMMARY_METHOD, error: bound };
  return {
    topValues: top.map((r): TopValue => ({ value: r.text, count: r.count })),
    rankHistogram: rank.map((r, i) => ({ rank: i + 1, value: r.text, count: r.count })),
  };
}

function weightedTopValues(d: Distribution, options: FinalizeOptions, approximations: Approximations): TopValue[] {
  const { values } = ranked(d);
  if (d.kind === 'sketch') {
    approximations['weighted.topValues'] = {
      method: TOP_SUMMARY_METHOD,
      error: 'weights of the values the summary kept by count: a weight is a lower bound, and a value left out may weigh more than those listed',
    };
  }
  return values
    .sort(byMass((r) => r.weight ?? 0))
    .slice(0, options.topK)
    .map((r) => ({ value: r.text, count: r.weight ?? 0 }));
}

/** Names the sketch behind the figures built from a feature's numbers, when they are not exact. */
function noteNumbersSketch(d: Distribution, prefix: string, figures: readonly string[], approximations: Approximations): void {
  if (d.kind !== 'sketch' || d.numbers === null) return;
  const approximation: Approximation =
    d.numbers.kind === 'ddsketch' ? { method: DDSKETCH_METHOD, error: ddsketchError } : { method: COARSENED_METHOD, error: coarsenedError(d.numbers.unitMicros) };
  for (const figure of figures) approximations[`${prefix}.${figure}`] = approximation;
}

function numericSummary(f: PartialFeature, options: FinalizeOptions, approximations: Approximations): { summary: NumericSummary; points: WeightedPoint[] } | undefined {
  const n = f.values.numeric;
  if (!n) return undefined;
  const nonFinite = { numNan: n.numNan, numUndefined: n.numPosInf + n.numNegInf };
  const points = n.min === null || n.max === null ? [] : finitePoints(f.values.distribution, n.min, n.max);
  const qs = evenlySpaced(options.numQuantiles);
  const quantiles = points.length > 0 ? quantilesOf(points, qs) : null;
  const edges = points.length > 0 ? quantilesOf(points, evenlySpaced(options.numHistogramBuckets)) : null;
  if (points.length > 0) noteNumbersSketch(f.values.distribution, 'numeric', ['median', 'quantiles', 'standardHistogram', 'quantilesHistogram'], approximations);
  return {
    points,
    summary: {
      min: n.min,
      max: n.max,
      mean: meanOf(n.moments),
      std: populationStd(n.moments),
      median: points.length > 0 ? quantilesOf(points, [0.5])[0]! : null,
      quantiles: quantiles && { definition: QUANTILE_DEFINITION, points: qs.map((q, i) => ({ q, value: quantiles[i]! })) },
      numZeros: n.numZeros,
      numNan: n.numNan,
      numPosInf: n.numPosInf,
      numNegInf: n.numNegInf,
      standardHistogram: standardHistogram(points, options.numHistogramBuckets, (p) => p.count, nonFinite),
      quantilesHistogram: quantilesHistogram(edges, n.moments.n, nonFinite),
    },
  };
}

function weightedSummary(f: PartialFeature, points: WeightedPoint[], options: FinalizeOptions, approximations: Approximations): FeatureStatistics['weighted'] {
  if (f.weightedCount === null || f.weightedMissing === null) return undefined;
  const base = { count: f.weightedCount, missing: f.weightedMissing, topValues: f.type === 'OTHER' ? undefined : weightedTopValues(f.values.distribution, options, approximations) };
  const n = f.values.numeric;
  const moments = n?.weightedMoments;
  if (!n || !moments) return { ...base, mean: null, std: null, median: null, quantiles: null };
  const nonFinite = { numNan: n.numNan, numUndefined: n.numPosInf + n.numNegInf };
  const qs = evenlySpaced(options.numQuantiles);
  const quantiles = weightedQuantilesOf(points, qs);
  if (quantiles) noteNumbersSketch(f.values.distribution, 'weighted', ['median', 'quantiles', 'standardHistogram', 'quantilesHistogram'], approximations);
  return {
    ...base,
    mean: meanOf(moments),
    std: populationStd(moments),
    median: weightedQuantilesOf(points, [0.5])?.[0] ?? null,
    quantiles: quantiles && { definition: WEIGHTED_QUANTILE_DEFINITION, points: qs.map((q, i) => ({ q, value: quantiles[i]! })) },
    standardHistogram: standardHistogram(points, options.numHistogramBuckets, (p) => p.weight ?? 0, nonFinite),
    quantilesHistogram: quantilesHistogram(weightedQuantilesOf(points, evenlySpaced(options.numHistogramBuckets)), moments.n, nonFinite),
  };
}

function valueCountStatistics(f: PartialFeature, options: FinalizeOptions, approximations: Approximations): FeatureStatistics['valueCounts'] {
  const { min, max, total, lengths } = f.valueCounts;
  const points = min === null || max === null ? [] : finitePoints(lengths, min, max);
  if (points.length > 0) noteNumbersSketch(lengths, 'valueCounts', ['histogram'], approximations);
  const edges = points.length > 0 ? quantilesOf(points, evenlySpaced(options.numHistogramBuckets)) : null;
  return {
    min: min ?? 0,
    max: max ?? 0,
    mean: f.count > 0 ? total / f.count : null,
    total,
    // TFDV's num_values_histogram: equal-mass buckets of the values per row.
    histogram: quantilesHistogram(edges, f.count, { numNan: 0, numUndefined: 0 }).buckets,
  };
}

export function finalizeFeature(f: PartialFeature, options: FinalizeOptions): FeatureStatistics {
  const approximations: Approximations = {};
  const d = f.values.distribution;
  if (d.kind === 'sketch' && d.distinct === null) approximations.distinct = { method: HLL_METHOD, error: HLL_ERROR };
  const { topValues, rankHistogram } = f.type === 'OTHER' ? { topValues: [], rankHistogram: [] } : topValuesFigures(d, options, approximations);
  const numeric = numericSummary(f, options, approximations);
  const length = f.values.stringLength;
  const stats: FeatureStatistics = {
    name: f.name,
    type: f.type,
    physicalType: f.physicalType,
    valency: f.valency,
    count: f.count,
    missing: f.missing,
    valueCounts: valueCountStatistics(f, options, approximations),
    distinct: distinctOf(d),
    ...(numeric && { numeric: numeric.summary }),
    ...(f.type === 'TEMPORAL' && { temporalMin: f.values.numeric?.minText ?? null, temporalMax: f.values.numeric?.maxText ?? null }),
    ...(length && { stringLength: { min: length.min, max: length.max, mean: f.values.count > 0 ? length.total / f.values.count : null } }),
    topValues,
    rankHistogram,
  };
  const weighted = weightedSummary(f, numeric?.points ?? [], options, approximations);
  if (weighted) stats.weighted = weighted;
  if (Object.keys(approximations).length > 0) stats.approximations = approximations;
  return stats;
}

function finalizeDataset(d: PartialDataset, options: FinalizeOptions): DatasetStatistics {
  return {
    numExamples: d.numExamples,
    ...(d.weightedNumExamples !== null && { weightedNumExamples: d.weightedNumExamples }),
    features: d.features.map((f) => finalizeFeature(f, options)),
  };
}

export function finalizeStatistics(partial: PartialStatistics, options: FinalizeOptions): ExampleStatistics {
  const { weightFeature, slices } = partial.conventions;
  return {
    version: 2,
    conventions: {
      std: 'population (ddof 0)',
      quantiles: weightFeature ? `${QUANTILE_DEFINITION}; weighted: ${WEIGHTED_QUANTILE_DEFINITION}` : QUANTILE_DEFINITION,
      histograms: HISTOGRAM_CONVENTION,
      topValues: options.topK,
      rankHistogramSize: options.rankHistogramSize,
      ...(weightFeature !== null && { weightFeature }),
      slices,
    },
    splits: partial.splits.map((split) => ({
      name: split.name,
      ...finalizeDataset(split, options),
      slices: split.slices.map((slice) => ({ key: slice.key, ...finalizeDataset(slice, options) })),
    })),
  };
}
