import { z } from 'zod';
import { attribute, GraphBuilder, type onnx } from '../graph';

export const DataFormatSchema = z.enum(['channelsFirst', 'channelsLast']);
export type DataFormat = z.output<typeof DataFormatSchema>;

export const PaddingSchema = z.enum(['same', 'valid']);
export type Padding = z.output<typeof PaddingSchema>;

/** A (height, width) pair as tfjs configs hold it: normalized to two numbers, or one number for both. */
export const PairSchema = z
  .union([z.number().int(), z.array(z.number().int()).length(2)])
  .transform((v): [number, number] => (typeof v === 'number' ? [v, v] : [v[0]!, v[1]!]));

/**
 * ONNX's Conv, pooling and Resize operators read NCHW, tfjs's image layers NHWC unless dataFormat is
 * channelsFirst: a channelsLast tensor is transposed into NCHW for `body` and its result back, so every value
 * between layers keeps tfjs's layout (and Flatten, Dense or a softmax after them see what they see in tfjs).
 */
export function inChannelsFirst(g: GraphBuilder, x: string, dataFormat: DataFormat, body: (nchw: string) => string): string {
  if (dataFormat === 'channelsFirst') return body(x);
  const nchw = g.op('Transpose', [x], [attribute.ints('perm', [0, 3, 1, 2])]);
  return g.op('Transpose', [body(nchw)], [attribute.ints('perm', [0, 2, 3, 1])]);
}

/** The H and W dims of a tfjs image shape in either layout (null where unknown). */
export function spatialDims(shape: Array<number | null>, dataFormat: DataFormat): Array<number | null> {
  return dataFormat === 'channelsLast' ? shape.slice(1, 3) : shape.slice(2, 4);
}

/**
 * tfjs's padding as an ONNX attribute. 'same' pads (ceil(size/stride) - 1)·stride + dilated kernel - size in
 * all, floor(half) before and the rest after: explicit pads where H and W are known, else auto_pad SAME_UPPER,
 * the same rule computed at run time (which onnxruntime's Conv refuses with dilations > 1). 'valid' pads nothing.
 */
export function paddingAttribute(
  padding: Padding,
  spatial: Array<number | null>,
  kernel: [number, number],
  strides: [number, number],
  dilations: [number, number] = [1, 1],
): onnx.IAttributeProto {
  if (padding === 'valid') return attribute.string('auto_pad', 'VALID');
  if (spatial.some((d) => d === null)) return attribute.string('auto_pad', 'SAME_UPPER');
  const totals = (spatial as number[]).map((size, i) => {
    const outSize = Math.ceil(size / strides[i]!);
    return Math.max(0, (outSize - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - size);
  });
  const begins = totals.map((t) => Math.floor(t / 2));
  return attribute.ints('pads', [...begins, ...totals.map((t, i) => t - begins[i]!)]);
}
