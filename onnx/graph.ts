import { onnx } from 'onnx-proto';

export { onnx } from 'onnx-proto';

/** ONNX element types (onnx.TensorProto.DataType) of every tensor type onnxruntime-node accepts. */
export const OnnxElementType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
} as const;

/** onnx.AttributeProto.AttributeType values used when building nodes. */
export const OnnxAttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

/** The opset every graph mlpipe builds targets: new enough for the operators Transform needs, old enough for every onnxruntime-node 1.x. */
export const DEFAULT_OPSET = 13;

export function floatInitializer(name: string, dims: number[], values: Float32Array): onnx.ITensorProto {
  return {
    name,
    dims,
    dataType: OnnxElementType.FLOAT,
    rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
  };
}

/** A tensor's name, element type and shape; a string dim is symbolic (a batch or any other variable size). */
export function tensorValueInfo(name: string, elemType: number, dims: Array<number | string>): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  };
}

export interface EncodeOptions {
  /** Shown by Netron and onnxruntime's logs as the graph's author. */
  producerName: string;
  opset?: number;
}

/** Serializes a graph as a complete model (the bytes of a `model.onnx`). */
export function encodeModel(graph: onnx.IGraphProto, options: EncodeOptions): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 8,
    producerName: options.producerName,
    opsetImport: [{ domain: '', version: options.opset ?? DEFAULT_OPSET }],
    graph,
  }).finish();
}

export function decodeModel(bytes: Uint8Array): onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
