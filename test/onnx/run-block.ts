import { encodeModel, GraphBuilder, OnnxElementType, tensorValueInfo, type GraphOutput } from '../../onnx/graph';
import { openSession, Tensor } from '../../onnx/session';

export type BlockOutputs = Record<string, { source: string; elemType: number; dims: Array<number | string> }>;

/** Builds a one-input graph with `block`, runs it in onnxruntime-node and returns every output's data. */
export async function runBlock(input: Tensor, elemType: number, block: (g: GraphBuilder, x: string) => BlockOutputs): Promise<Record<string, Tensor['data']>> {
  const g = new GraphBuilder();
  const outputs: GraphOutput[] = Object.entries(block(g, 'x')).map(([name, o]) => ({ name, ...o }));
  const model = encodeModel(g.build('block', [tensorValueInfo('x', elemType, ['batch'])], outputs), {
    producerName: 'mlpipe-test',
    extraOpsets: g.extraOpsets(),
  });
  const session = await openSession(model, { intraOpNumThreads: 1 });
  try {
    const result = await session.run({ x: input });
    return Object.fromEntries(outputs.map((o) => [o.name, result[o.name]!.data]));
  } finally {
    await session.release();
  }
}

export const f32 = (name: string): BlockOutputs[string] => ({ source: name, elemType: OnnxElementType.FLOAT, dims: ['batch'] });
export const i64 = (name: string): BlockOutputs[string] => ({ source: name, elemType: OnnxElementType.INT64, dims: ['batch'] });
export const floats = (data: Tensor['data']): number[] => Array.from(data as Float32Array);
export const ints = (data: Tensor['data']): number[] => Array.from(data as BigInt64Array, Number);
