import { attribute, GraphBuilder, OnnxElementType } from '../graph';
import { hashToBuckets } from './hashing';

/** The id TFT's vocabulary lookup gives a value outside the vocabulary when there are no OOV buckets. */
export const OUT_OF_VOCABULARY = -1;

/**
 * String → INT64 id by position in `vocabulary` (ai.onnx.ml LabelEncoder), OUT_OF_VOCABULARY for any other
 * string. '' means missing, so it never gets an id of its own: it takes the out-of-vocabulary path. With
 * numOovBuckets > 0 an unknown string gets len(vocabulary) + hashToBuckets(string, numOovBuckets) instead.
 */
export function lookupVocabulary(g: GraphBuilder, strings: string, vocabulary: string[], numOovBuckets = 0): string {
  const keys = vocabulary.filter((v) => v !== '');
  if (keys.length === 0) throw new Error('lookupVocabulary: the vocabulary has no non-empty entry');
  if (new Set(keys).size !== keys.length) throw new Error('lookupVocabulary: the vocabulary repeats an entry');
  const ids = g.op(
    'LabelEncoder',
    [strings],
    [attribute.strings('keys_strings', keys), attribute.ints('values_int64s', keys.map((_, i) => i)), attribute.int('default_int64', OUT_OF_VOCABULARY)],
    'ai.onnx.ml',
  );
  if (numOovBuckets === 0) return ids;
  const oovIds = g.op('Add', [hashToBuckets(g, strings, numOovBuckets), g.int64Constant([keys.length], [])]);
  return g.op('Where', [g.op('Equal', [ids, g.int64Constant([OUT_OF_VOCABULARY], [])]), oovIds, ids]);
}

/**
 * INT64 ids [N] → FP32 one-hot [N, depth]. An id outside [0, depth), OUT_OF_VOCABULARY included, encodes as
 * all zeros like tf.one_hot, where ONNX OneHot would read -1 as the last class.
 */
export function oneHot(g: GraphBuilder, ids: string, depth: number): string {
  const column = g.op('Unsqueeze', [ids, g.int64Constant([1])]);
  const classes = g.int64Constant(Array.from({ length: depth }, (_, i) => i));
  return g.op('Cast', [g.op('Equal', [column, classes])], [attribute.int('to', OnnxElementType.FLOAT)]);
}
