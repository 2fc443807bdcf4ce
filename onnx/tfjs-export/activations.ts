import { z } from 'zod';
import { UserInputError } from '../../dsl/executor';
import { attribute, GraphBuilder } from '../graph';
import { describeLayer, floatInput, layerConfig, layerWeight, weightConstant } from './layer-data';
import type { LayerConverter, TfLayer } from './types';

type Activation = (g: GraphBuilder, x: string) => string;

const scalar = (g: GraphBuilder, value: number): string => g.floatConstant([value], []);

/** tfjs-core's selu constants (selu_util.ts): scale·alpha and scale, so ONNX Selu's alpha is their ratio. */
const SELU_SCALE = 1.0507009873554804934193349852946;
const SELU_SCALE_ALPHA = 1.7580993408473768599402175208123;

/**
 * tfjs's activations by the name getConfig() gives them (activations.ts in tfjs-layers), each written as tfjs
 * computes it: hardSigmoid is clip(0.2x + 0.5, 0, 1) (ONNX HardSigmoid's defaults), gelu the exact
 * x·0.5·(1 + erf(x/√2)), gelu_new the tanh approximation, swish x·sigmoid(x).
 */
const ACTIVATIONS: Readonly<Record<string, Activation>> = {
  linear: (_g, x) => x,
  relu: (g, x) => g.op('Relu', [x]),
  relu6: (g, x) => g.op('Clip', [x, scalar(g, 0), scalar(g, 6)]),
  elu: (g, x) => g.op('Elu', [x], [attribute.float('alpha', 1)]),
  selu: (g, x) => g.op('Selu', [x], [attribute.float('alpha', SELU_SCALE_ALPHA / SELU_SCALE), attribute.float('gamma', SELU_SCALE)]),
  sigmoid: (g, x) => g.op('Sigmoid', [x]),
  hardSigmoid: (g, x) => g.op('HardSigmoid', [x], [attribute.float('alpha', 0.2), attribute.float('beta', 0.5)]),
  tanh: (g, x) => g.op('Tanh', [x]),
  softplus: (g, x) => g.op('Softplus', [x]),
  softsign: (g, x) => g.op('Softsign', [x]),
  softmax: (g, x) => g.op('Softmax', [x], [attribute.int('axis', -1)]),
  logSoftmax: (g, x) => g.op('LogSoftmax', [x], [attribute.int('axis', -1)]),
  swish: (g, x) => g.op('Mul', [g.op('Sigmoid', [x]), x]),
  mish: (g, x) => g.op('Mul', [x, g.op('Tanh', [g.op('Softplus', [x])])]),
  gelu: (g, x) => {
    const cdf = g.op('Mul', [scalar(g, 0.5), g.op('Add', [scalar(g, 1), g.op('Erf', [g.op('Div', [x, scalar(g, Math.SQRT2)])])])]);
    return g.op('Mul', [x, cdf]);
  },
  gelu_new: (g, x) => {
    const cubic = g.op('Add', [x, g.op('Mul', [scalar(g, 0.044715), g.op('Pow', [x, scalar(g, 3)])])]);
    const inner = g.op('Tanh', [g.op('Mul', [scalar(g, Math.sqrt(2 / Math.PI)), cubic])]);
    return g.op('Mul', [scalar(g, 0.5), g.op('Mul', [x, g.op('Add', [scalar(g, 1), inner])])]);
  },
};

/** Applies the activation a layer's config names; one tfjs has and ONNX export does not is refused naming the layer. */
export function applyActivation(g: GraphBuilder, x: string, name: string, layer: TfLayer): string {
  const activation = ACTIVATIONS[name];
  if (activation === undefined) {
    throw new UserInputError(`${describeLayer(layer)}: activation '${name}' cannot be exported to ONNX; supported: ${Object.keys(ACTIVATIONS).join(', ')}`);
  }
  return activation(g, x);
}

/** The `activation` field of Dense, Conv2D, Activation...: tfjs serializes it as the activation's name. */
export const ActivationConfig = z.object({ activation: z.string() });

const activation: LayerConverter = (call) => applyActivation(call.g, floatInput(call), layerConfig(call.layer, ActivationConfig).activation, call.layer);

/** tfjs's ReLU layer: relu, clipped at maxValue when one is set. */
const relu: LayerConverter = (call) => {
  const { maxValue } = layerConfig(call.layer, z.object({ maxValue: z.number().nullish() }));
  const { g } = call;
  return maxValue == null ? g.op('Relu', [floatInput(call)]) : g.op('Clip', [floatInput(call), scalar(g, 0), scalar(g, maxValue)]);
};

const leakyRelu: LayerConverter = (call) => {
  const { alpha } = layerConfig(call.layer, z.object({ alpha: z.number() }));
  return call.g.op('LeakyRelu', [floatInput(call)], [attribute.float('alpha', alpha)]);
};

/** tfjs refuses an ELU layer with alpha other than 1 when it is built, so the layer is elu itself. */
const elu: LayerConverter = (call) => ACTIVATIONS.elu!(call.g, floatInput(call));

const thresholdedRelu: LayerConverter = (call) => {
  const { theta } = layerConfig(call.layer, z.object({ theta: z.number() }));
  return call.g.op('ThresholdedRelu', [floatInput(call)], [attribute.float('alpha', theta)]);
};

/** The slopes have the input's shape without the batch dim (1 on shared axes): ONNX PRelu broadcasts them the same way. */
const prelu: LayerConverter = (call) => call.g.op('PRelu', [floatInput(call), weightConstant(call.g, layerWeight(call.layer, 'alpha'))]);

/** tfjs's Softmax layer normalizes along `axis`, 1 unless set (not -1 as the activation). */
const softmax: LayerConverter = (call) => {
  const { axis } = layerConfig(call.layer, z.object({ axis: z.union([z.number().int(), z.array(z.number().int()).length(1).transform((a) => a[0]!)]) }));
  return call.g.op('Softmax', [floatInput(call)], [attribute.int('axis', axis)]);
};

export const activationLayers: Readonly<Record<string, LayerConverter>> = {
  Activation: activation,
  ReLU: relu,
  LeakyReLU: leakyRelu,
  ELU: elu,
  ThresholdedReLU: thresholdedRelu,
  PReLU: prelu,
  Softmax: softmax,
};
