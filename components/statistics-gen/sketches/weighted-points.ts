/** A value with how many times it occurs and the sum of its weights (null in unweighted statistics). */
export interface WeightedPoint {
  x: number;
  count: number;
  weight: number | null;
}

export const addWeights = (a: number | null, b: number | null): number | null => (a === null && b === null ? null : (a ?? 0) + (b ?? 0));
