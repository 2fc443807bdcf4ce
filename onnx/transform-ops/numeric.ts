import { GraphBuilder } from '../graph';

/**
 * Numeric mappers over an FP32 tensor where NaN means missing. Every block keeps NaN as NaN (only
 * fillMissing replaces it), so a missing value can still be told apart after scaling.
 */

/** Keeps NaN where the input was NaN, whatever `value` computed there. */
function keepMissing(g: GraphBuilder, x: string, value: string): string {
  return g.op('Where', [g.op('IsNaN', [x]), x, value]);
}

/** (x - mean) / stdDev with TFT's rule for a constant feature (stdDev 0): x - mean. */
export function scaleToZScore(g: GraphBuilder, x: string, stats: { mean: number; stdDev: number }): string {
  const centred = g.op('Sub', [x, g.floatConstant([stats.mean], [])]);
  return stats.stdDev > 0 ? g.op('Div', [centred, g.floatConstant([stats.stdDev], [])]) : centred;
}

/**
 * Maps [min, max] linearly onto [outputMin, outputMax]; values outside the range are not clipped (TFT's
 * scale_by_min_max). A constant feature (min == max) maps to the middle of the output range, as in TFT,
 * except that a missing value stays NaN.
 */
export function scaleByMinMax(
  g: GraphBuilder,
  x: string,
  range: { min: number; max: number },
  output: { min: number; max: number } = { min: 0, max: 1 },
): string {
  const width = range.max - range.min;
  if (!(width > 0)) return keepMissing(g, x, g.floatConstant([(output.min + output.max) / 2], []));
  const unit = g.op('Div', [g.op('Sub', [x, g.floatConstant([range.min], [])]), g.floatConstant([width], [])]);
  return g.op('Add', [g.op('Mul', [unit, g.floatConstant([output.max - output.min], [])]), g.floatConstant([output.min], [])]);
}

/** log(1 + x), computed in FP32 as onnxruntime's Log of (1 + x); x < -1 gives NaN, x = -1 gives -Infinity. */
export function log1p(g: GraphBuilder, x: string): string {
  return g.op('Log', [g.op('Add', [x, g.floatConstant([1], [])])]);
}

/** Clip to [min, max]; NaN is kept explicitly: onnxruntime 1.30's Clip keeps it too, but ONNX does not specify that. */
export function clip(g: GraphBuilder, x: string, bounds: { min: number; max: number }): string {
  return keepMissing(g, x, g.op('Clip', [x, g.floatConstant([bounds.min], []), g.floatConstant([bounds.max], [])]));
}

/** Replaces NaN by `value` (a constant, or a mean/median/mode an analyzer computed). */
export function fillMissing(g: GraphBuilder, x: string, value: number): string {
  return g.op('Where', [g.op('IsNaN', [x]), g.floatConstant([value], []), x]);
}
