import { attribute, OnnxElementType } from '../graph';
import { layerWeight, weightConstant } from './layer-data';
import type { LayerConverter } from './types';

/**
 * Rows of the embedding matrix by id: output shape = ids' shape + [outputDim], as tfjs's gather then reshape.
 * Ids arrive as INT64 (a model input of dtype int32, Transform's vocabulary ids) or as FP32, which is
 * truncated toward zero as tfjs casts float ids to int32. tfjs refuses an id outside [0, inputDim); ONNX
 * Gather would read a negative id from the end, so a negative id is moved out of range and onnxruntime
 * refuses the request as tfjs does, instead of answering with another id's row.
 */
const embedding: LayerConverter = ({ g, layer, inputs }) => {
  const ids = inputs[0]!;
  const embeddings = layerWeight(layer, 'embeddings');
  const int64Ids = ids.dtype === 'int64' ? ids.name : g.op('Cast', [ids.name], [attribute.int('to', OnnxElementType.INT64)]);
  const outOfRange = g.int64Constant([embeddings.shape[0]!], []);
  const checkedIds = g.op('Where', [g.op('Less', [int64Ids, g.int64Constant([0], [])]), outOfRange, int64Ids]);
  return g.op('Gather', [weightConstant(g, embeddings), checkedIds], [attribute.int('axis', 0)]);
};

export const embeddingLayers: Readonly<Record<string, LayerConverter>> = { Embedding: embedding };
