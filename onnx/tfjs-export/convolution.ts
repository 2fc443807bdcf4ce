import { z } from 'zod';
import { UserInputError } from '../../dsl/executor';
import { attribute, type onnx } from '../graph';
import { ActivationConfig, applyActivation } from './activations';
import { DataFormatSchema, inChannelsFirst, PaddingSchema, paddingAttribute, PairSchema, spatialDims, type Padding } from './image-layout';
import { describeLayer, floatInput, layerConfig, layerWeight, weightConstant, type LayerWeight } from './layer-data';
import type { LayerCall, LayerConverter } from './types';

const ConvConfig = ActivationConfig.extend({
  kernelSize: PairSchema,
  strides: PairSchema,
  padding: PaddingSchema,
  dataFormat: DataFormatSchema,
  useBias: z.boolean(),
});

/**
 * A tfjs kernel [kh, kw, a, b] as ONNX's [b, a, kh, kw]: Conv2D's [kh, kw, in, out] becomes Conv's
 * [out, in, kh, kw], Conv2DTranspose's [kh, kw, out, in] ConvTranspose's [in, out, kh, kw].
 */
function onnxKernel({ values, shape }: LayerWeight): LayerWeight {
  const [kh, kw, a, b] = shape as [number, number, number, number];
  const out = new Float32Array(values.length);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let p = 0; p < a; p++) for (let q = 0; q < b; q++) out[((q * a + p) * kh + i) * kw + j] = values[((i * kw + j) * a + p) * b + q]!;
  return { values: out, shape: [b, a, kh, kw] };
}

/** The operator over [x, kernel, bias?] in NCHW, then the activation in the tensor's own layout, as tfjs applies it. */
function convolve(call: LayerCall, config: z.output<typeof ConvConfig>, opType: string, attributes: onnx.IAttributeProto[]): string {
  const { g, layer } = call;
  const operands = [weightConstant(g, onnxKernel(layerWeight(layer, 'kernel'))), ...(config.useBias ? [weightConstant(g, layerWeight(layer, 'bias'))] : [])];
  const y = inChannelsFirst(g, floatInput(call), config.dataFormat, (x) => g.op(opType, [x, ...operands], attributes));
  return applyActivation(g, y, config.activation, layer);
}

const conv2d: LayerConverter = (call) => {
  const config = layerConfig(call.layer, ConvConfig.extend({ dilationRate: PairSchema }));
  const spatial = spatialDims(call.inputs[0]!.shape, config.dataFormat);
  if (config.padding === 'same' && config.dilationRate.some((d) => d > 1) && spatial.includes(null)) {
    throw new UserInputError(`${describeLayer(call.layer)}: 'same' padding with dilationRate ${config.dilationRate} needs the input's height and width known to be exported`);
  }
  return convolve(call, config, 'Conv', [
    attribute.ints('kernel_shape', config.kernelSize),
    attribute.ints('strides', config.strides),
    attribute.ints('dilations', config.dilationRate),
    paddingAttribute(config.padding, spatial, config.kernelSize, config.strides, config.dilationRate),
  ]);
};

interface TransposePadding {
  begin: number;
  end: number;
  outputPadding: number;
}

/**
 * tfjs's transposed convolution is the gradient of a convolution from an output of `deconvLength` (input·stride
 * for 'same', input·stride + max(kernel - stride, 0) for 'valid'): that convolution's padding, floor(half)
 * before, crops ConvTranspose's full output, and output_padding adds the max(stride - kernel, 0) rows a kernel
 * smaller than its stride leaves at the end. Both depend on kernel and stride only, so any input size works.
 */
function transposePadding(padding: Padding, kernel: number, stride: number): TransposePadding {
  const total = padding === 'same' ? Math.max(0, kernel - stride) : 0;
  const begin = Math.floor(total / 2);
  return { begin, end: total - begin, outputPadding: Math.max(0, stride - kernel) };
}

const conv2dTranspose: LayerConverter = (call) => {
  const config = layerConfig(call.layer, ConvConfig);
  const h = transposePadding(config.padding, config.kernelSize[0], config.strides[0]);
  const w = transposePadding(config.padding, config.kernelSize[1], config.strides[1]);
  return convolve(call, config, 'ConvTranspose', [
    attribute.ints('kernel_shape', config.kernelSize),
    attribute.ints('strides', config.strides),
    attribute.ints('pads', [h.begin, w.begin, h.end, w.end]),
    attribute.ints('output_padding', [h.outputPadding, w.outputPadding]),
  ]);
};

export const convolutionLayers: Readonly<Record<string, LayerConverter>> = {
  Conv2D: conv2d,
  Conv2DTranspose: conv2dTranspose,
};
