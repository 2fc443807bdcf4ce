import { attribute, GraphBuilder, OnnxElementType } from '../graph';

/**
 * String hashing into buckets with onnxruntime's contrib com.microsoft.MurmurHash3 (ONNX has no standard
 * hash op): MurmurHash3 x86 32-bit over each string's UTF-8 bytes, read as unsigned (positive = 1), then
 * modulo `buckets`. Unlike TFT's tf.strings.to_hash_bucket_fast (FarmHash), so bucket numbers differ from
 * TFT's for the same strings. Output: INT64 in [0, buckets).
 */
export function hashToBuckets(g: GraphBuilder, strings: string, buckets: number, seed = 0): string {
  if (!Number.isInteger(buckets) || buckets < 1) throw new Error(`hashToBuckets: buckets must be a positive integer, got ${buckets}`);
  const hash = g.op('MurmurHash3', [strings], [attribute.int('positive', 1), attribute.int('seed', seed)], 'com.microsoft');
  const wide = g.op('Cast', [hash], [attribute.int('to', OnnxElementType.INT64)]);
  return g.op('Mod', [wide, g.int64Constant([buckets], [])]);
}
