import { attribute, GraphBuilder, OnnxElementType } from '../graph';

/**
 * Replaces each missing string ('') by `value`. opset 13's Equal takes no strings, so '' is found by an
 * ai.onnx.ml LabelEncoder ('' → 1, anything else → 0), and Where picks between the two strings.
 */
export function fillMissingStrings(g: GraphBuilder, strings: string, value: string): string {
  const found = g.op(
    'LabelEncoder',
    [strings],
    [attribute.strings('keys_strings', ['']), attribute.ints('values_int64s', [1]), attribute.int('default_int64', 0)],
    'ai.onnx.ml',
  );
  const missing = g.op('Cast', [found], [attribute.int('to', OnnxElementType.BOOL)]);
  return g.op('Where', [missing, g.stringConstant([value], []), strings]);
}
