import type { layers } from '@tensorflow/tfjs';
import type { GraphBuilder } from '../graph';

export type TfLayer = layers.Layer;

/** A tensor's element type in the exported graph: tfjs int32 travels as INT64, the type ONNX indices and Transform's ids use. */
export type ExportedDtype = 'float32' | 'int64';

/** A value of the graph being built, with the tfjs shape of the tensor it stands for (null: unknown, the batch dim at least). */
export interface GraphValue {
  name: string;
  dtype: ExportedDtype;
  shape: Array<number | null>;
}

/** One call of a layer: the graph to add nodes to, the layer (config and weights) and the values it is called on. */
export interface LayerCall {
  g: GraphBuilder;
  layer: TfLayer;
  inputs: GraphValue[];
}

/**
 * Adds the nodes computing what `layer.call` computes at inference and returns the name of the result, of the
 * element type the layer's output has in tfjs (float32, or int64 where tfjs gives int32).
 */
export type LayerConverter = (call: LayerCall) => string;
