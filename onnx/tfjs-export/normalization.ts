import { z } from 'zod';
import { UserInputError } from '../../dsl/executor';
import { attribute } from '../graph';
import { describeLayer, floatInput, layerConfig, layerWeight, normalizeAxis, weightConstant, type LayerWeight } from './layer-data';
import type { LayerConverter } from './types';

/** Dims of `rank` ones but the normalized axes, which take their size: a parameter laid out to broadcast as tfjs reshapes it. */
function broadcastDims(rank: number, axes: number[], sizes: number[]): number[] {
  const dims = Array<number>(rank).fill(1);
  axes.forEach((axis, i) => (dims[axis] = sizes[i]!));
  return dims;
}

const NormalizationConfig = z.object({ epsilon: z.number(), center: z.boolean(), scale: z.boolean() });

/**
 * Inference with the moving statistics: beta + (x - mean)·gamma/√(variance + ε). tfjs's cpu kernel computes
 * each element in double; gamma/√(variance + ε) is computed here in double too, then rounded once to FP32.
 * Only the last axis: tfjs's batchNorm kernels (cpu and wasm) walk the statistics cyclically along the
 * flattened input whatever their shape, so for another axis predict does not normalize per channel, and
 * copying that into the serving graph would serve the same wrong numbers.
 */
const batchNormalization: LayerConverter = (call) => {
  const { g, layer, inputs } = call;
  const config = layerConfig(layer, NormalizationConfig.extend({ axis: z.number().int() }));
  const rank = inputs[0]!.shape.length;
  if (normalizeAxis(config.axis, rank) !== rank - 1) {
    throw new UserInputError(
      `${describeLayer(layer)}: axis ${config.axis} is not the last axis of its rank-${rank} input; tfjs applies the moving statistics along the last axis whatever the axis, so its predictions are not a normalization over axis ${config.axis}: normalize the last axis (channelsLast)`,
    );
  }
  const variance = layerWeight(layer, 'moving_variance');
  const gamma = config.scale ? layerWeight(layer, 'gamma').values : undefined;
  const multiplier: LayerWeight = {
    values: Float32Array.from(variance.values, (v, i) => (gamma?.[i] ?? 1) / Math.sqrt(v + config.epsilon)),
    shape: variance.shape,
  };
  const centred = g.op('Sub', [floatInput(call), weightConstant(g, layerWeight(layer, 'moving_mean'))]);
  const scaled = g.op('Mul', [centred, weightConstant(g, multiplier)]);
  return config.center ? g.op('Add', [scaled, weightConstant(g, layerWeight(layer, 'beta'))]) : scaled;
};

/** Moments over the axes of each example, as tfjs's moments: variance = mean((x - mean)²); then (x - mean)·gamma/√(variance + ε) + beta. */
const layerNormalization: LayerConverter = (call) => {
  const { g, layer, inputs } = call;
  const config = layerConfig(layer, NormalizationConfig.extend({ axis: z.union([z.number().int(), z.array(z.number().int())]) }));
  const rank = inputs[0]!.shape.length;
  const axes = (Array.isArray(config.axis) ? config.axis : [config.axis]).map((a) => normalizeAxis(a, rank));
  const reduce = (x: string): string => g.op('ReduceMean', [x], [attribute.ints('axes', axes), attribute.int('keepdims', 1)]);
  const x = floatInput(call);
  const centred = g.op('Sub', [x, reduce(x)]);
  const variance = reduce(g.op('Mul', [centred, centred]));
  const parameter = (name: string): string => {
    const weight = layerWeight(layer, name);
    return weightConstant(g, weight, broadcastDims(rank, axes, weight.shape));
  };
  const scaled = config.scale ? g.op('Mul', [centred, parameter('gamma')]) : centred;
  const normalized = g.op('Div', [scaled, g.op('Sqrt', [g.op('Add', [variance, g.floatConstant([config.epsilon], [])])])]);
  return config.center ? g.op('Add', [normalized, parameter('beta')]) : normalized;
};

export const normalizationLayers: Readonly<Record<string, LayerConverter>> = {
  BatchNormalization: batchNormalization,
  LayerNormalization: layerNormalization,
};
