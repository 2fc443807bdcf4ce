import { attribute, GraphBuilder, OnnxElementType } from '../graph';
import { hashableFloats, hashToBuckets } from './hashing';

/** The id TFT's vocabulary lookup gives a value outside the vocabulary when there are no OOV buckets. */
export const OUT_OF_VOCABULARY = -1;

/**
 * The entries a lookup tells apart, in id order: '' (a missing string) never gets an id of its own; a
 * number is looked up as FP32, the graph's number type, so doubles that round to one FP32 value are one
 * entry (the first keeps its place). Strings must not repeat.
 */
export function vocabularyKeys(vocabulary: readonly string[] | readonly number[]): string[] | number[] {
  if (vocabulary.every((v): v is string => typeof v === 'string')) {
    const keys = vocabulary.filter((v) => v !== '');
    if (new Set(keys).size !== keys.length) throw new Error('lookupVocabulary: the vocabulary repeats an entry');
    return keys;
  }
  return [...new Set(vocabulary.map((v) => Math.fround(Number(v))))];
}

/**
 * A string or FP32 tensor → INT64 id by position in vocabularyKeys(vocabulary) (ai.onnx.ml LabelEncoder),
 * `defaultValue` for any other value; '' and NaN (missing) take that path too. With numOovBuckets > 0 an
 * unknown value gets len(keys) + hashToBuckets(value, numOovBuckets) instead (a number hashed through
 * hashableFloats).
 */
export function lookupVocabulary(
  g: GraphBuilder,
  x: string,
  vocabulary: readonly string[] | readonly number[],
  numOovBuckets = 0,
  defaultValue = OUT_OF_VOCABULARY,
): string {
  const keys = vocabularyKeys(vocabulary);
  if (keys.length === 0) throw new Error('lookupVocabulary: the vocabulary has no non-empty entry');
  const numbers = typeof keys[0] === 'number';
  const ids = g.op(
    'LabelEncoder',
    [x],
    [
      numbers ? attribute.floats('keys_floats', keys as number[]) : attribute.strings('keys_strings', keys as string[]),
      attribute.ints('values_int64s', keys.map((_, i) => i)),
      attribute.int('default_int64', numOovBuckets === 0 ? defaultValue : OUT_OF_VOCABULARY),
    ],
    'ai.onnx.ml',
  );
  if (numOovBuckets === 0) return ids;
  const oovIds = g.op('Add', [hashToBuckets(g, numbers ? hashableFloats(g, x) : x, numOovBuckets), g.int64Constant([keys.length], [])]);
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
