import { attribute, GraphBuilder, OnnxElementType } from '../graph';

/**
 * onnxruntime's contrib com.microsoft.MurmurHash3 (ONNX has no standard hash op): MurmurHash3 x86 32-bit
 * over each element's bytes (a string's UTF-8 bytes, a number's little-endian bytes), read as unsigned
 * (positive = 1) and widened to INT64, in [0, 2^32).
 */
export function murmurHash3(g: GraphBuilder, x: string, seed = 0): string {
  const hash = g.op('MurmurHash3', [x], [attribute.int('positive', 1), attribute.int('seed', seed)], 'com.microsoft');
  return g.op('Cast', [hash], [attribute.int('to', OnnxElementType.INT64)]);
}

/**
 * Hashing into buckets: murmurHash3 modulo `buckets`. Unlike TFT's tf.strings.to_hash_bucket_fast
 * (FarmHash), so bucket numbers differ from TFT's for the same strings. Output: INT64 in [0, buckets).
 */
export function hashToBuckets(g: GraphBuilder, x: string, buckets: number, seed = 0): string {
  if (!Number.isInteger(buckets) || buckets < 1) throw new Error(`hashToBuckets: buckets must be a positive integer, got ${buckets}`);
  return g.op('Mod', [murmurHash3(g, x, seed), g.int64Constant([buckets], [])]);
}

/**
 * FP32 values made ready to hash by their bytes: every NaN as the one NaN and -0 as 0, so that values
 * equal as numbers (or both missing) hash alike. Where(Equal(x, 0)) rather than x + 0, which
 * onnxruntime's optimizer removes as a no-op.
 */
export function hashableFloats(g: GraphBuilder, x: string): string {
  const zero = g.floatConstant([0], []);
  const signlessZero = g.op('Where', [g.op('Equal', [x, zero]), zero, x]);
  return g.op('Where', [g.op('IsNaN', [x]), g.floatConstant([NaN], []), signlessZero]);
}
