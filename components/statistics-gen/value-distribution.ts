import type { FeatureType } from './payload';
import type { Distribution, ExactEntry, SketchDistribution } from './partial-statistics';
import { coarsenedOf, coarsenedPoints, mergeCoarsened } from './sketches/coarsened-instants';
import { ddsketchOf, ddsketchPoints, mergeDDSketches } from './sketches/ddsketch';
import { addText, decodeRegisters, emptyRegisters, encodeRegisters, estimateDistinct, mergeRegisters } from './sketches/hyperloglog';
import { mergeTopSummaries, topSummaryOf } from './sketches/top-values-summary';
import { compareValues } from './sketches/value-order';
import { addWeights, type WeightedPoint } from './sketches/weighted-points';

/**
 * A feature's values in a partial state: exact counts per distinct value up to the cap, sketches
 * beyond it. Exact counts make every figure exact (distinct, top values, quantiles, histograms); the
 * sketches (each named in its module) are: HyperLogLog for the distinct count, a frequent-items
 * summary for top values and the rank histogram, and for numbers DDSketch (INT, FLOAT) or power-of-two
 * time units (TEMPORAL). Building them from exact counts here gives the same state as the SQL that
 * builds them from a shard's rows (statistics-sql.ts), so where a merge crosses the cap does not matter.
 */
export interface DistributionRules {
  /** Distinct values kept as exact counts. */
  cap: number;
  topSummarySize: number;
  type: FeatureType;
}

export const finiteEntryPoints = (entries: readonly ExactEntry[]): WeightedPoint[] =>
  entries.flatMap(([, x, count, weight]) => (x === null ? [] : [{ x, count, weight }]));

const byValue = (a: ExactEntry, b: ExactEntry): number => compareValues(a[0], a[1], b[0], b[1]);

/** Numbers get a DDSketch, instants power-of-two units; text, booleans and others none. */
export function numbersSketchKind(type: FeatureType): 'ddsketch' | 'coarsened' | null {
  if (type === 'INT' || type === 'FLOAT') return 'ddsketch';
  return type === 'TEMPORAL' ? 'coarsened' : null;
}

function sketchOf(entries: readonly ExactEntry[], rules: DistributionRules): SketchDistribution {
  const registers = emptyRegisters();
  for (const [text] of entries) addText(registers, text);
  const kind = numbersSketchKind(rules.type);
  const points = finiteEntryPoints(entries);
  return {
    kind: 'sketch',
    hll: encodeRegisters(registers),
    distinct: entries.length,
    top: topSummaryOf(entries, rules.topSummarySize),
    numbers: kind === 'ddsketch' ? ddsketchOf(points) : kind === 'coarsened' ? coarsenedOf(points, rules.cap) : null,
  };
}

/** Exact counts while within the cap; the sketches otherwise. Entries come back in value order. */
export function distributionOf(entries: ExactEntry[], rules: DistributionRules): Distribution {
  return entries.length <= rules.cap ? { kind: 'exact', entries: entries.sort(byValue) } : sketchOf(entries, rules);
}

const asSketch = (d: Distribution, rules: DistributionRules): SketchDistribution => (d.kind === 'sketch' ? d : sketchOf(d.entries, rules));

export function mergeDistributions(a: Distribution, b: Distribution, rules: DistributionRules): Distribution {
  if (a.kind === 'exact' && b.kind === 'exact') {
    const union = new Map<string, ExactEntry>();
    for (const entry of [...a.entries, ...b.entries]) {
      const had = union.get(entry[0]);
      union.set(entry[0], had ? [entry[0], entry[1], had[2] + entry[2], addWeights(had[3], entry[3])] : entry);
    }
    return distributionOf([...union.values()], rules);
  }
  const sa = asSketch(a, rules);
  const sb = asSketch(b, rules);
  let numbers: SketchDistribution['numbers'] = null;
  if (sa.numbers?.kind === 'ddsketch' && sb.numbers?.kind === 'ddsketch') numbers = mergeDDSketches(sa.numbers, sb.numbers);
  else if (sa.numbers?.kind === 'coarsened' && sb.numbers?.kind === 'coarsened') numbers = mergeCoarsened(sa.numbers, sb.numbers, rules.cap);
  return {
    kind: 'sketch',
    hll: encodeRegisters(mergeRegisters(decodeRegisters(sa.hll), decodeRegisters(sb.hll))),
    distinct: null,
    top: mergeTopSummaries(sa.top, sb.top, rules.topSummarySize),
    numbers,
  };
}

/** Distinct values: exact where known, or the HyperLogLog estimate. */
export function distinctOf(d: Distribution): number {
  if (d.kind === 'exact') return d.entries.length;
  return d.distinct ?? estimateDistinct(decodeRegisters(d.hll));
}

/** Finite values in ascending order as weighted points, kept within the exact [min, max] where sketched. */
export function finitePoints(d: Distribution, min: number, max: number): WeightedPoint[] {
  if (d.kind === 'exact') return finiteEntryPoints(d.entries);
  if (d.numbers?.kind === 'ddsketch') return ddsketchPoints(d.numbers, min, max);
  if (d.numbers?.kind === 'coarsened') return coarsenedPoints(d.numbers, min, max);
  return [];
}
