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
  /** Operator sets of other domains the graph's nodes use (ai.onnx.ml, com.microsoft). */
  extraOpsets?: onnx.IOperatorSetIdProto[];
}

/** Serializes a graph as a complete model (the bytes of a `model.onnx`). */
export function encodeModel(graph: onnx.IGraphProto, options: EncodeOptions): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 8,
    producerName: options.producerName,
    opsetImport: [{ domain: '', version: options.opset ?? DEFAULT_OPSET }, ...(options.extraOpsets ?? [])],
    graph,
  }).finish();
}

export function decodeModel(bytes: Uint8Array): onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}

/**
 * Versions of the non-default operator sets a GraphBuilder imports when a node uses them, each checked in
 * onnxruntime-node (test/onnx/transform-ops.test.ts): ai.onnx.ml 2 is the first LabelEncoder with
 * keys_strings/values_int64/default_int64; com.microsoft 1 holds onnxruntime's contrib MurmurHash3.
 */
export const DOMAIN_OPSETS: Readonly<Record<string, number>> = { 'ai.onnx.ml': 2, 'com.microsoft': 1 };

export const attribute = {
  int: (name: string, value: number): onnx.IAttributeProto => ({ name, type: OnnxAttributeType.INT, i: value }),
  float: (name: string, value: number): onnx.IAttributeProto => ({ name, type: OnnxAttributeType.FLOAT, f: value }),
  string: (name: string, value: string): onnx.IAttributeProto => ({ name, type: OnnxAttributeType.STRING, s: Buffer.from(value, 'utf8') }),
  ints: (name: string, values: number[]): onnx.IAttributeProto => ({ name, type: OnnxAttributeType.INTS, ints: values }),
  floats: (name: string, values: number[]): onnx.IAttributeProto => ({ name, type: OnnxAttributeType.FLOATS, floats: values }),
  strings: (name: string, values: string[]): onnx.IAttributeProto => ({
    name,
    type: OnnxAttributeType.STRINGS,
    strings: values.map((v) => Buffer.from(v, 'utf8')),
  }),
};

/** A graph output: the value `source` exposed under `name`. */
export interface GraphOutput {
  name: string;
  source: string;
  elemType: number;
  dims: Array<number | string>;
}

/** The operator-set imports a graph's nodes need beyond the default domain (a pruned graph may need fewer). */
export function extraOpsetsOf(graph: onnx.IGraphProto): onnx.IOperatorSetIdProto[] {
  const domains = new Set((graph.node ?? []).map((n) => n.domain ?? '').filter((d) => d !== ''));
  return [...domains].sort().map((domain) => ({ domain, version: DOMAIN_OPSETS[domain]! }));
}

/** Collects nodes and constants under generated unique names, so building blocks can be composed freely. */
export class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly usedDomains = new Set<string>();
  private nextId = 0;

  /**
   * `reserved`: names the caller gives graph inputs and outputs (a user's feature names, which may be
   * anything, `Add_3_0` included); no generated name ever equals one of them.
   */
  constructor(private readonly reserved: ReadonlySet<string> = new Set()) {}

  private fresh(name: string): string {
    let unique = name;
    while (this.reserved.has(unique)) unique = `${unique}_`;
    return unique;
  }

  /** Adds one node and returns the names of its `outputCount` outputs. */
  node(opType: string, inputs: string[], options: { attributes?: onnx.IAttributeProto[]; domain?: string; outputCount?: number } = {}): string[] {
    const id = this.nextId++;
    const output = Array.from({ length: options.outputCount ?? 1 }, (_, i) => this.fresh(`${opType}_${id}_${i}`));
    const domain = options.domain ?? '';
    if (domain !== '') {
      if (DOMAIN_OPSETS[domain] === undefined) throw new Error(`GraphBuilder: no opset version chosen for domain '${domain}'`);
      this.usedDomains.add(domain);
    }
    this.nodes.push({ opType, domain, name: `${opType}_${id}`, input: inputs, output, attribute: options.attributes ?? [] });
    return output;
  }

  /** Adds a single-output node and returns its output's name. */
  op(opType: string, inputs: string[], attributes: onnx.IAttributeProto[] = [], domain = ''): string {
    return this.node(opType, inputs, { attributes, domain })[0]!;
  }

  /** `values` may be a layer's weights as they are (a Float32Array), copied once into the initializer. */
  floatConstant(values: ArrayLike<number>, dims: number[] = [values.length]): string {
    const name = this.fresh(`const_${this.nextId++}`);
    this.initializers.push(floatInitializer(name, dims, Float32Array.from(values)));
    return name;
  }

  int64Constant(values: Array<number | bigint>, dims: number[] = [values.length]): string {
    const name = this.fresh(`const_${this.nextId++}`);
    const data = BigInt64Array.from(values, (v) => BigInt(v));
    this.initializers.push({ name, dims, dataType: OnnxElementType.INT64, rawData: new Uint8Array(data.buffer) });
    return name;
  }

  stringConstant(values: string[], dims: number[] = [values.length]): string {
    const name = this.fresh(`const_${this.nextId++}`);
    this.initializers.push({ name, dims, dataType: OnnxElementType.STRING, stringData: values.map((v) => Buffer.from(v, 'utf8')) });
    return name;
  }

  /** An output whose source is the graph input of its own name is that input, passed through without a node. */
  build(name: string, inputs: onnx.IValueInfoProto[], outputs: GraphOutput[]): onnx.IGraphProto {
    const renames = outputs
      .filter((o) => o.source !== o.name)
      .map((o) => ({ opType: 'Identity', domain: '', name: `output_${o.name}`, input: [o.source], output: [o.name] }));
    return {
      name,
      node: [...this.nodes, ...renames],
      initializer: this.initializers,
      input: inputs,
      output: outputs.map((o) => tensorValueInfo(o.name, o.elemType, o.dims)),
    };
  }

  /** The operator-set imports for encodeModel's extraOpsets: one per non-default domain a node used. */
  extraOpsets(): onnx.IOperatorSetIdProto[] {
    return [...this.usedDomains].sort().map((domain) => ({ domain, version: DOMAIN_OPSETS[domain]! }));
  }
}
