import type { LayersModel } from '@tensorflow/tfjs';
import { UserInputError } from '../../dsl/executor';
import { encodeModel, GraphBuilder, OnnxElementType, tensorValueInfo } from '../graph';
import type { ExportedDtype, GraphValue } from './types';
import { exportedDtype, exportModelGraph } from './walk-layers';

/** A graph input or output: -1 in `shape` for the batch dim and any other dim the model leaves open. */
export interface ExportedTensor {
  name: string;
  dtype: ExportedDtype;
  shape: number[];
}

export interface ExportedModel {
  /** A complete `model.onnx` (opset 13). */
  bytes: Uint8Array;
  inputs: ExportedTensor[];
  outputs: ExportedTensor[];
}

const ELEMENT_TYPES: Readonly<Record<ExportedDtype, number>> = { float32: OnnxElementType.FLOAT, int64: OnnxElementType.INT64 };

/** Open dims become symbolic: 'batch' first, `<tensor>_<axis>` for any other. */
function onnxDims({ name, shape }: GraphValue): Array<number | string> {
  return shape.map((d, axis) => d ?? (axis === 0 ? 'batch' : `${name}_${axis}`));
}

const exported = (v: GraphValue): ExportedTensor => ({ name: v.name, dtype: v.dtype, shape: v.shape.map((d) => d ?? -1) });

/**
 * A tfjs LayersModel (Sequential or functional) as an ONNX model computing what `model.predict` computes. The
 * graph's inputs and outputs carry the names of the model's input and output layers (what model.inputNames
 * and outputNames hold once tfjs has built the model; read from the tensors, so an unbuilt Sequential has them
 * too), so a serving graph can wire transformed features to them by name. A layer the export does not handle fails
 * with a UserInputError naming the layer and its class.
 */
export function exportLayersModel(model: LayersModel): ExportedModel {
  if (model.inputs === undefined) throw new UserInputError(`model '${model.name}' has no inputs yet: give its first layer an inputShape or build it`);
  const inputs: GraphValue[] = model.inputs.map(({ sourceLayer: { name }, dtype, shape }) => ({ name, dtype: exportedDtype(dtype, `model input '${name}'`), shape }));
  const outputNames = model.outputs.map((t) => t.sourceLayer.name);
  const repeated = outputNames.find((n, i) => outputNames.indexOf(n) !== i);
  if (repeated !== undefined) throw new UserInputError(`model '${model.name}' has two outputs named '${repeated}'; ONNX needs a name per output`);
  const g = new GraphBuilder(new Set([...inputs.map((v) => v.name), ...outputNames]));
  const results = exportModelGraph(g, model, inputs);
  const outputs = results.map((v, i): GraphValue => ({ ...v, name: outputNames[i]! }));
  const graph = g.build(
    model.name,
    inputs.map((v) => tensorValueInfo(v.name, ELEMENT_TYPES[v.dtype], onnxDims(v))),
    outputs.map((v, i) => ({ name: v.name, source: results[i]!.name, elemType: ELEMENT_TYPES[v.dtype], dims: onnxDims(v) })),
  );
  return {
    bytes: encodeModel(graph, { producerName: 'mlpipe tfjs-export', extraOpsets: g.extraOpsets() }),
    inputs: inputs.map(exported),
    outputs: outputs.map(exported),
  };
}
