import type { z } from 'zod';
import { UserInputError } from '../../dsl/executor';
import { attribute, GraphBuilder, OnnxElementType } from '../graph';
import type { GraphValue, LayerCall, TfLayer } from './types';

/** How an error names a layer: its name and its tfjs class, as the user wrote the model. */
export function describeLayer(layer: TfLayer): string {
  return `layer '${layer.name}' (${layer.getClassName()})`;
}

/**
 * The layer's getConfig() read through `schema` (the fields the export depends on); a value the export does
 * not handle (padding 'causal', say) is refused naming the layer and the field.
 */
export function layerConfig<S extends z.ZodTypeAny>(layer: TfLayer, schema: S): z.output<S> {
  const parsed = schema.safeParse(layer.getConfig());
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`).join('; ');
  throw new UserInputError(`${describeLayer(layer)} cannot be exported to ONNX: ${issues}`);
}

export interface LayerWeight {
  values: Float32Array;
  shape: number[];
}

/** The weight tfjs created as `<layer>/<name>` (kernel, bias, gamma, moving_mean, embeddings...), read from getWeights(). */
export function layerWeight(layer: TfLayer, name: string): LayerWeight {
  const index = layer.weights.findIndex((w) => w.originalName.split('/').pop() === name);
  const tensor = layer.getWeights()[index];
  if (tensor === undefined) throw new Error(`${describeLayer(layer)} has no weight '${name}'`);
  return { values: tensor.dataSync() as Float32Array, shape: tensor.shape };
}

/** A weight as an initializer, in its own shape or in `dims` (the same values, reshaped for broadcasting). */
export function weightConstant(g: GraphBuilder, weight: LayerWeight, dims: number[] = weight.shape): string {
  return g.floatConstant(weight.values, dims);
}

/** The value as FP32: tfjs upcasts int32 to float32 when a float op meets it, so an INT64 id input is cast the same way. */
export function floatValue(g: GraphBuilder, value: GraphValue): string {
  return value.dtype === 'float32' ? value.name : g.op('Cast', [value.name], [attribute.int('to', OnnxElementType.FLOAT)]);
}

/** The first (for most layers the only) input as FP32. */
export function floatInput(call: LayerCall): string {
  return floatValue(call.g, call.inputs[0]!);
}

/** A non-negative axis for a tensor of `rank` dims (tfjs configs use -1 for the last). */
export function normalizeAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}
