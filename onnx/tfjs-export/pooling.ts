import { z } from 'zod';
import { attribute } from '../graph';
import { DataFormatSchema, inChannelsFirst, PaddingSchema, paddingAttribute, PairSchema, spatialDims } from './image-layout';
import { floatInput, layerConfig } from './layer-data';
import type { LayerConverter } from './types';

const PoolConfig = z.object({ poolSize: PairSchema, strides: PairSchema, padding: PaddingSchema, dataFormat: DataFormatSchema });

/**
 * MaxPool, or AveragePool without the padding in the count: tfjs's pool divides by the window's cells inside
 * the image (count_include_pad 0).
 */
const pool =
  (opType: 'MaxPool' | 'AveragePool'): LayerConverter =>
  (call) => {
    const config = layerConfig(call.layer, PoolConfig);
    const attributes = [
      attribute.ints('kernel_shape', config.poolSize),
      attribute.ints('strides', config.strides),
      paddingAttribute(config.padding, spatialDims(call.inputs[0]!.shape, config.dataFormat), config.poolSize, config.strides),
    ];
    if (opType === 'AveragePool') attributes.push(attribute.int('count_include_pad', 0));
    return inChannelsFirst(call.g, floatInput(call), config.dataFormat, (x) => call.g.op(opType, [x], attributes));
  };

/** The mean or max over H and W, wherever the layout puts them; the result is [batch, channels]. */
const globalPool =
  (opType: 'ReduceMean' | 'ReduceMax'): LayerConverter =>
  (call) => {
    const { dataFormat } = layerConfig(call.layer, z.object({ dataFormat: DataFormatSchema }));
    const axes = dataFormat === 'channelsLast' ? [1, 2] : [2, 3];
    return call.g.op(opType, [floatInput(call)], [attribute.ints('axes', axes), attribute.int('keepdims', 0)]);
  };

export const poolingLayers: Readonly<Record<string, LayerConverter>> = {
  MaxPooling2D: pool('MaxPool'),
  AveragePooling2D: pool('AveragePool'),
  GlobalAveragePooling2D: globalPool('ReduceMean'),
  GlobalMaxPooling2D: globalPool('ReduceMax'),
};
