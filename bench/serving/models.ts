import path from 'node:path';
import { FileArtifactStore } from '../../artifacts/file-store';
import { publishModelVersion } from '../../artifacts/model-publish';
import { encodeModel, floatInitializer, OnnxAttributeType, OnnxElementType, tensorValueInfo, type onnx } from '../../onnx/graph';

export { OnnxElementType } from '../../onnx/graph';

export interface MlpSpec {
  inputDim: number;
  hiddenDims: number[];
  outputDim: number;
  /** Different seeds give different weights, so tests can tell versions apart by their outputs. */
  seed: number;
}

/** Penguins-sized classifier: 4 measurements in, 3 species probabilities out. */
export const SMALL_MLP: MlpSpec = { inputDim: 4, hiddenDims: [16, 16], outputDim: 3, seed: 1 };
/** Compute-bound model: about 5.3M weights, so a batch of 64 costs milliseconds. */
export const HEAVY_MLP: MlpSpec = { inputDim: 512, hiddenDims: [2048, 2048], outputDim: 10, seed: 2 };

export const MLP_INPUT = 'input';
export const MLP_OUTPUT = 'probabilities';

/** A small seeded generator: deterministic weights and reproducible fuzz input. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PRODUCER = { producerName: 'mlpipe-bench' };

export interface MlpLayer {
  fanIn: number;
  fanOut: number;
  /** Row-major [fanIn, fanOut], as Gemm takes it without transposition. */
  weights: Float32Array;
  bias: Float32Array;
}

/**
 * The seeded weights of the MLP that `spec` describes, layer by layer. Exported so that tests compute
 * the expected outputs without onnxruntime, and so can tell apart answers of different versions or rows.
 */
export function mlpLayers(spec: MlpSpec): MlpLayer[] {
  const random = mulberry32(spec.seed);
  const dims = [spec.inputDim, ...spec.hiddenDims, spec.outputDim];
  return dims.slice(1).map((fanOut, layer) => {
    const fanIn = dims[layer]!;
    const scale = 1 / Math.sqrt(fanIn);
    const weights = new Float32Array(fanIn * fanOut).map(() => (random() * 2 - 1) * scale);
    const bias = new Float32Array(fanOut).map(() => (random() * 2 - 1) * 0.1);
    return { fanIn, fanOut, weights, bias };
  });
}

/** A dense ReLU network ending in softmax, input [batch, inputDim] float32, output [batch, outputDim]. */
export function buildMlpModel(spec: MlpSpec): Uint8Array {
  const layers = mlpLayers(spec);
  const nodes: onnx.INodeProto[] = [];
  const initializers: onnx.ITensorProto[] = [];
  let current = MLP_INPUT;
  for (const [layer, { fanIn, fanOut, weights, bias }] of layers.entries()) {
    initializers.push(floatInitializer(`w${layer}`, [fanIn, fanOut], weights));
    initializers.push(floatInitializer(`b${layer}`, [fanOut], bias));
    const gemmOut = `gemm${layer}`;
    nodes.push({ opType: 'Gemm', input: [current, `w${layer}`, `b${layer}`], output: [gemmOut], name: gemmOut });
    const isLast = layer + 1 === layers.length;
    const activated = isLast ? MLP_OUTPUT : `relu${layer}`;
    nodes.push(
      isLast
        ? { opType: 'Softmax', input: [gemmOut], output: [activated], name: 'softmax', attribute: [{ name: 'axis', type: OnnxAttributeType.INT, i: 1 }] }
        : { opType: 'Relu', input: [gemmOut], output: [activated], name: activated },
    );
    current = activated;
  }
  return encodeModel(
    {
      name: 'mlp',
      node: nodes,
      initializer: initializers,
      input: [tensorValueInfo(MLP_INPUT, OnnxElementType.FLOAT, ['batch', spec.inputDim])],
      output: [tensorValueInfo(MLP_OUTPUT, OnnxElementType.FLOAT, ['batch', spec.outputDim])],
    },
    PRODUCER,
  );
}

export interface IdentityTensorSpec {
  name: string;
  elemType: number;
  /** Dims after the leading batch dimension; a string is a symbolic (variable) dim. */
  dims: Array<number | string>;
}

/** Each input `x` is copied to output `x_out`: a model that round-trips every datatype, strings included. */
export function buildIdentityModel(tensors: IdentityTensorSpec[]): Uint8Array {
  return encodeModel(
    {
      name: 'identity',
      node: tensors.map((t) => ({ opType: 'Identity', input: [t.name], output: [`${t.name}_out`], name: `id_${t.name}` })),
      input: tensors.map((t) => tensorValueInfo(t.name, t.elemType, ['batch', ...t.dims])),
      output: tensors.map((t) => tensorValueInfo(`${t.name}_out`, t.elemType, ['batch', ...t.dims])),
    },
    PRODUCER,
  );
}

/**
 * Writes `<repo>/<model>/<version>/model.onnx` (and `<repo>/<model>/config.json` when given) the way a
 * pusher does, through the model publisher: a polling server loads the version only once it is
 * complete, and a version written again never shows it a mix of old and new files.
 */
export async function writeModelVersion(
  repoDir: string,
  model: string,
  version: number,
  onnxBytes: Uint8Array,
  config?: Record<string, unknown>,
): Promise<void> {
  const store = await FileArtifactStore.open(`file://${path.resolve(repoDir)}`);
  try {
    if (config) await store.putObject(`${model}/config.json`, JSON.stringify(config, null, 2));
    await publishModelVersion(store, model, version, [{ name: 'model.onnx', content: onnxBytes }]);
  } finally {
    await store.close();
  }
}
