import type { DataType, LayersModel, SymbolicTensor } from '@tensorflow/tfjs';
import { UserInputError } from '../../dsl/executor';
import type { GraphBuilder } from '../graph';
import { activationLayers } from './activations';
import { convolutionLayers } from './convolution';
import { coreLayers } from './core';
import { embeddingLayers } from './embedding';
import { describeLayer } from './layer-data';
import { mergeLayers } from './merge';
import { normalizationLayers } from './normalization';
import { poolingLayers } from './pooling';
import type { ExportedDtype, GraphValue, LayerConverter, TfLayer } from './types';
import { upsamplingLayers } from './upsampling';

const CONVERTERS: Readonly<Record<string, LayerConverter>> = {
  ...coreLayers,
  ...activationLayers,
  ...normalizationLayers,
  ...embeddingLayers,
  ...mergeLayers,
  ...convolutionLayers,
  ...poolingLayers,
  ...upsamplingLayers,
};

/** The tfjs layer classes the export handles, by getClassName(); a model nested as a layer is walked through. */
export const SUPPORTED_LAYERS: readonly string[] = Object.keys(CONVERTERS).sort();

/** tfjs int32 travels as INT64; bool, string and complex tensors have no place in an exported model yet. */
export function exportedDtype(dtype: DataType, what: string): ExportedDtype {
  if (dtype === 'float32') return 'float32';
  if (dtype === 'int32') return 'int64';
  throw new UserInputError(`${what} has dtype ${dtype}; an exported model takes and gives float32 or int32 (as INT64) tensors`);
}

/** A Sequential or functional model used as a layer of another has inputs and outputs of its own. */
function isNestedModel(layer: TfLayer): layer is LayersModel {
  return 'inputs' in layer && 'outputs' in layer;
}

function exportLayer(g: GraphBuilder, layer: TfLayer, inputs: GraphValue[], outputs: SymbolicTensor[]): GraphValue[] {
  if (isNestedModel(layer)) return exportModelGraph(g, layer, inputs);
  const converter = CONVERTERS[layer.getClassName()];
  if (converter === undefined) {
    throw new UserInputError(`${describeLayer(layer)} cannot be exported to ONNX yet; supported: ${SUPPORTED_LAYERS.join(', ')}`);
  }
  const output = outputs[0]!;
  return [{ name: converter({ g, layer, inputs }), dtype: exportedDtype(output.dtype, `the output of ${describeLayer(layer)}`), shape: output.shape }];
}

/**
 * Adds `model`'s computation on `inputs` (one value per model input, in order) and returns its outputs' values.
 * Each output is traced back through the node that produced it (a layer called twice has two nodes), and a
 * tensor reached twice is computed once.
 */
export function exportModelGraph(g: GraphBuilder, model: LayersModel, inputs: GraphValue[]): GraphValue[] {
  const values = new Map<number, GraphValue>(model.inputs.map((t, i) => [t.id, inputs[i]!]));
  const valueOf = (tensor: SymbolicTensor): GraphValue => {
    const known = values.get(tensor.id);
    if (known !== undefined) return known;
    const layer = tensor.sourceLayer;
    const node = layer.inboundNodes[tensor.nodeIndex]!;
    const results = exportLayer(g, layer, node.inputTensors.map(valueOf), node.outputTensors);
    node.outputTensors.forEach((t, i) => values.set(t.id, results[i]!));
    return values.get(tensor.id)!;
  };
  return model.outputs.map(valueOf);
}
