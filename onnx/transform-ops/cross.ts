import { GraphBuilder } from '../graph';
import { hashToBuckets, murmurHash3 } from './hashing';

/** The multiplier that folds the first hash into the pair's INT64 (sdbm's, as in the classic string hash). */
export const CROSS_MULTIPLIER = 65599;

/**
 * A feature cross of two hashable 1-D tensors (strings, or FP32 through hashableFloats) into buckets.
 * ONNX opset 13 has no string concatenation, so the pair is combined arithmetically:
 * h = MurmurHash3(a) * 65599 + MurmurHash3(b) in INT64 (below 2^49, no overflow), then
 * MurmurHash3(h's 8 little-endian bytes) mod buckets. Output: INT64 in [0, buckets).
 */
export function crossToBuckets(g: GraphBuilder, a: string, b: string, buckets: number): string {
  const pair = g.op('Add', [g.op('Mul', [murmurHash3(g, a), g.int64Constant([CROSS_MULTIPLIER], [])]), murmurHash3(g, b)]);
  return hashToBuckets(g, pair, buckets);
}
