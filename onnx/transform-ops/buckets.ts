import { attribute, GraphBuilder, OnnxElementType } from '../graph';

/**
 * TFT's apply_buckets over a 1-D FP32 tensor: the bucket of v is the number of boundaries ≤ v, so a
 * value at or above the last boundary gets len(boundaries). Counting the boundaries v is NOT below
 * (Not(Less)) rather than those it is at or above makes NaN land in len(boundaries) too, because every
 * comparison with NaN is false. Output: INT64 of the input's shape.
 */
export function applyBuckets(g: GraphBuilder, x: string, boundaries: number[]): string {
  for (let i = 1; i < boundaries.length; i++) {
    if (!(boundaries[i - 1]! < boundaries[i]!)) throw new Error(`applyBuckets: boundaries must be strictly ascending, got ${boundaries[i - 1]} then ${boundaries[i]}`);
  }
  const column = g.op('Unsqueeze', [x, g.int64Constant([1])]);
  const notBelow = g.op('Not', [g.op('Less', [column, g.floatConstant(boundaries)])]);
  const counts = g.op('Cast', [notBelow], [attribute.int('to', OnnxElementType.INT64)]);
  return g.op('ReduceSum', [counts, g.int64Constant([1])], [attribute.int('keepdims', 0)]);
}

/**
 * The bucket of applyBuckets as a name: names[i] for bucket i (one more name than boundaries), '' (a
 * missing string) for NaN, which applyBuckets alone would put in the last bucket. Output: STRING.
 */
export function bucketNames(g: GraphBuilder, x: string, boundaries: number[], names: readonly string[]): string {
  if (names.length !== boundaries.length + 1) throw new Error(`bucketNames: ${boundaries.length} boundaries need ${boundaries.length + 1} names, got ${names.length}`);
  const ids = g.op('Where', [g.op('IsNaN', [x]), g.int64Constant([-1], []), applyBuckets(g, x, boundaries)]);
  return g.op(
    'LabelEncoder',
    [ids],
    [attribute.ints('keys_int64s', names.map((_, i) => i)), attribute.strings('values_strings', [...names]), attribute.string('default_string', '')],
    'ai.onnx.ml',
  );
}
