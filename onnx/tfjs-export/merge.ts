import { z } from 'zod';
import { attribute } from '../graph';
import { floatValue, layerConfig } from './layer-data';
import type { LayerCall, LayerConverter } from './types';

/** tfjs's type promotion: int32 inputs are upcast to float32 unless every input is int32. */
function promotedInputs({ g, inputs }: LayerCall): string[] {
  const allInt = inputs.every((v) => v.dtype === 'int64');
  return inputs.map((v) => (allInt ? v.name : floatValue(g, v)));
}

/** A lower-rank input is expanded at axis 1 until the ranks agree, as Merge.call does (reshapeRequired). */
function mergeInputs(call: LayerCall): string[] {
  const maxRank = Math.max(...call.inputs.map((v) => v.shape.length));
  return promotedInputs(call).map((x, i) => {
    const missing = maxRank - call.inputs[i]!.shape.length;
    return missing === 0 ? x : call.g.op('Unsqueeze', [x, call.g.int64Constant(Array.from({ length: missing }, (_, k) => k + 1))]);
  });
}

/** A variadic ONNX operator (Sum, Max, Min, Mean) over every input. */
const variadic =
  (opType: string): LayerConverter =>
  (call) =>
    call.g.op(opType, mergeInputs(call));

/** ONNX Mul takes two inputs; tfjs multiplies left to right as well. */
const multiply: LayerConverter = (call) => mergeInputs(call).reduce((product, x) => call.g.op('Mul', [product, x]));

/** Concatenate joins the inputs without expanding ranks (tfjs requires them equal). */
const concatenate: LayerConverter = (call) => {
  const { axis } = layerConfig(call.layer, z.object({ axis: z.number().int() }));
  return call.g.op('Concat', promotedInputs(call), [attribute.int('axis', axis)]);
};

export const mergeLayers: Readonly<Record<string, LayerConverter>> = {
  Add: variadic('Sum'),
  Average: variadic('Mean'),
  Maximum: variadic('Max'),
  Minimum: variadic('Min'),
  Multiply: multiply,
  Concatenate: concatenate,
};
