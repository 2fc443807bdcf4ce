import { z } from 'zod';
import { attribute } from '../graph';
import { DataFormatSchema, inChannelsFirst, PairSchema } from './image-layout';
import { floatInput, layerConfig } from './layer-data';
import type { LayerConverter } from './types';

/**
 * tfjs resizes to size·(H, W) with alignCorners and halfPixelCenters off: output pixel i reads input i/size,
 * ONNX Resize's 'asymmetric' coordinates; nearest takes floor of it (tfjs's resizeNearestNeighbor), bilinear
 * interpolates between the neighbours (resizeBilinear).
 */
const upSampling2d: LayerConverter = (call) => {
  const { g, layer } = call;
  const config = layerConfig(layer, z.object({ size: PairSchema, dataFormat: DataFormatSchema, interpolation: z.enum(['nearest', 'bilinear']) }));
  const scales = g.floatConstant([1, 1, ...config.size]);
  const attributes =
    config.interpolation === 'nearest'
      ? [attribute.string('mode', 'nearest'), attribute.string('nearest_mode', 'floor')]
      : [attribute.string('mode', 'linear')];
  attributes.push(attribute.string('coordinate_transformation_mode', 'asymmetric'));
  return inChannelsFirst(g, floatInput(call), config.dataFormat, (x) => g.op('Resize', [x, '', scales], attributes));
};

export const upsamplingLayers: Readonly<Record<string, LayerConverter>> = { UpSampling2D: upSampling2d };
