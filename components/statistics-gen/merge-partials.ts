import { UserInputError } from '../../dsl/executor';
import { compareSlices, type NumericPartial, type PartialDataset, type PartialFeature, type PartialSplit, type PartialStatistics } from './partial-statistics';
import { mergeMoments } from './sketches/moments';
import { mergeDistributions, type DistributionRules } from './value-distribution';

/**
 * The partial statistics of two disjoint sets of rows (two shards, two days' files) merged into those
 * of their union: splits by name, slices by key, features by name. Everything but the sketches is a sum,
 * an extreme or Chan's moments, so `finalize(merge(a, b))` equals the statistics of one pass over both,
 * moments within rounding (about 1e-15 relative).
 */
export function mergePartialStatistics(a: PartialStatistics, b: PartialStatistics): PartialStatistics {
  if (JSON.stringify(a.conventions) !== JSON.stringify(b.conventions)) {
    throw new UserInputError(`partial statistics made with different conventions cannot be merged: ${JSON.stringify(a.conventions)} vs ${JSON.stringify(b.conventions)}`);
  }
  const rules = { cap: a.conventions.valueCountCap, topSummarySize: a.conventions.topSummarySize, slicing: a.conventions.slices };
  return { version: 1, conventions: a.conventions, splits: mergeByKey(a.splits, b.splits, (s) => s.name, (x, y) => mergeSplits(x, y, rules)) };
}

type Rules = Omit<DistributionRules, 'type'> & { slicing: readonly string[] };

function mergeByKey<T>(a: readonly T[], b: readonly T[], keyOf: (t: T) => string, merge: (x: T, y: T) => T): T[] {
  const byKey = new Map(b.map((t) => [keyOf(t), t]));
  const merged = a.map((x) => {
    const y = byKey.get(keyOf(x));
    byKey.delete(keyOf(x));
    return y ? merge(x, y) : x;
  });
  return [...merged, ...byKey.values()];
}

function mergeSplits(a: PartialSplit, b: PartialSplit, rules: Rules): PartialSplit {
  return {
    name: a.name,
    ...mergeDatasets(a, b, rules),
    slices: mergeByKey(a.slices, b.slices, (s) => JSON.stringify(s.key), (x, y) => ({ key: x.key, ...mergeDatasets(x, y, rules) })).sort(compareSlices(rules.slicing)),
  };
}

const sum = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a + b);
const minOf = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.min(a, b));
const maxOf = (a: number | null, b: number | null): number | null => (a === null ? b : b === null ? a : Math.max(a, b));

function mergeDatasets(a: PartialDataset, b: PartialDataset, rules: Rules): PartialDataset {
  // A feature one side lacks (a column added or dropped between two days' files) is missing in every row of that side.
  const missingIn = (other: PartialDataset) => {
    const names = new Set(other.features.map((f) => f.name));
    return (f: PartialFeature): PartialFeature =>
      names.has(f.name) ? f : { ...f, missing: f.missing + other.numExamples, weightedMissing: sum(f.weightedMissing, other.weightedNumExamples) };
  };
  return {
    numExamples: a.numExamples + b.numExamples,
    weightedNumExamples: sum(a.weightedNumExamples, b.weightedNumExamples),
    features: mergeByKey(a.features.map(missingIn(b)), b.features.map(missingIn(a)), (f) => f.name, (x, y) => mergeFeatures(x, y, rules)),
  };
}

function mergeNumeric(a: NumericPartial | null, b: NumericPartial | null): NumericPartial | null {
  if (!a || !b) return a ?? b;
  const lowFromA = b.min === null || (a.min !== null && a.min <= b.min);
  const highFromA = b.max === null || (a.max !== null && a.max >= b.max);
  return {
    moments: mergeMoments(a.moments, b.moments),
    weightedMoments: a.weightedMoments && b.weightedMoments ? mergeMoments(a.weightedMoments, b.weightedMoments) : null,
    min: minOf(a.min, b.min),
    max: maxOf(a.max, b.max),
    minText: lowFromA ? a.minText : b.minText,
    maxText: highFromA ? a.maxText : b.maxText,
    numNan: a.numNan + b.numNan,
    numPosInf: a.numPosInf + b.numPosInf,
    numNegInf: a.numNegInf + b.numNegInf,
    numZeros: a.numZeros + b.numZeros,
  };
}

function mergeFeatures(a: PartialFeature, b: PartialFeature, rules: Rules): PartialFeature {
  if (a.physicalType !== b.physicalType) {
    throw new UserInputError(`feature "${a.name}" is ${a.physicalType} in one set of statistics and ${b.physicalType} in the other: they cannot be merged`);
  }
  const la = a.values.stringLength;
  const lb = b.values.stringLength;
  return {
    ...a,
    count: a.count + b.count,
    missing: a.missing + b.missing,
    weightedCount: sum(a.weightedCount, b.weightedCount),
    weightedMissing: sum(a.weightedMissing, b.weightedMissing),
    valueCounts: {
      min: minOf(a.valueCounts.min, b.valueCounts.min),
      max: maxOf(a.valueCounts.max, b.valueCounts.max),
      total: a.valueCounts.total + b.valueCounts.total,
      lengths: mergeDistributions(a.valueCounts.lengths, b.valueCounts.lengths, { ...rules, type: 'INT' }),
    },
    values: {
      count: a.values.count + b.values.count,
      distribution: mergeDistributions(a.values.distribution, b.values.distribution, { ...rules, type: a.type }),
      numeric: mergeNumeric(a.values.numeric, b.values.numeric),
      stringLength: la && lb ? { min: minOf(la.min, lb.min), max: maxOf(la.max, lb.max), total: la.total + lb.total } : (la ?? lb),
    },
  };
}
