import { z } from 'zod';
import { attribute } from '../graph';
import { ActivationConfig, applyActivation } from './activations';
import { floatInput, layerConfig, layerWeight, weightConstant } from './layer-data';
import type { LayerConverter } from './types';

const DenseConfig = ActivationConfig.extend({ useBias: z.boolean() });

/** x·kernel + bias on the last axis (MatMul broadcasts over any leading dims, as tfjs's dot does), then the activation. */
const dense: LayerConverter = (call) => {
  const { g, layer } = call;
  const config = layerConfig(layer, DenseConfig);
  const product = g.op('MatMul', [floatInput(call), weightConstant(g, layerWeight(layer, 'kernel'))]);
  const biased = config.useBias ? g.op('Add', [product, weightConstant(g, layerWeight(layer, 'bias'))]) : product;
  return applyActivation(g, biased, config.activation, layer);
};

/** Layers that only act while training: predict passes the input through unchanged. */
const identityAtInference: LayerConverter = ({ inputs }) => inputs[0]!.name;

/** batchFlatten in tfjs's memory order; a channelsFirst Flatten moves the channels last first, as tfjs does. */
const flatten: LayerConverter = ({ g, layer, inputs }) => {
  const { dataFormat } = layerConfig(layer, z.object({ dataFormat: z.enum(['channelsFirst', 'channelsLast']).optional() }));
  const x = inputs[0]!;
  const rank = x.shape.length;
  const ordered =
    dataFormat === 'channelsFirst' && rank > 2
      ? g.op('Transpose', [x.name], [attribute.ints('perm', [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1])])
      : x.name;
  return g.op('Flatten', [ordered], [attribute.int('axis', 1)]);
};

/** The batch dim is kept (0 copies it in ONNX Reshape) and one unknown target dim is inferred (null in tfjs, -1 in ONNX). */
const reshape: LayerConverter = ({ g, layer, inputs }) => {
  const { targetShape } = layerConfig(layer, z.object({ targetShape: z.array(z.number().int().nullable()) }));
  return g.op('Reshape', [inputs[0]!.name, g.int64Constant([0, ...targetShape.map((d) => (d === null || d < 0 ? -1 : d))])]);
};

/** tfjs's dims count from 1 (the batch dim stays first). */
const permute: LayerConverter = ({ g, layer, inputs }) => {
  const { dims } = layerConfig(layer, z.object({ dims: z.array(z.number().int().min(1)) }));
  return g.op('Transpose', [inputs[0]!.name], [attribute.ints('perm', [0, ...dims])]);
};

export const coreLayers: Readonly<Record<string, LayerConverter>> = {
  Dense: dense,
  Dropout: identityAtInference,
  SpatialDropout1D: identityAtInference,
  AlphaDropout: identityAtInference,
  GaussianDropout: identityAtInference,
  GaussianNoise: identityAtInference,
  Flatten: flatten,
  Reshape: reshape,
  Permute: permute,
};
