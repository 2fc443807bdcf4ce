import { z } from 'zod';
import { UserInputError } from '../../dsl/executor';
import { composeGraphs, describeType } from '../../onnx/compose';
import { attribute, decodeModel, encodeModel, GraphBuilder, OnnxAttributeType, OnnxElementType, tensorValueInfo, type GraphOutput, type onnx } from '../../onnx/graph';
import { ModelConfigSchema, type ModelConfig } from '../../serving/model-config';
import { TensorSpecSchema, type GraphDtype, type TensorSpec, type TransformSignature } from '../transform/signature';

/**
 * The serving graph: the transform's serving graph composed in front of the trained model, and a head
 * that names the model's outputs for what they are. Raw features in (the transform's serving signature:
 * one tensor per raw feature, signature.ts), predictions out.
 *
 * How transform outputs reach the model's inputs (`inputMode`, the Trainer's choice):
 * - `byName`: each model input is fed by the transform output of the same name; every model input must
 *   have one (refused naming those missing). A number output feeding a number input of another type is
 *   cast (int64 ids to float32, say); a scalar output `[N]` feeding an input `[N, 1]` gets its column axis;
 *   a one-hot `[N, w]` must meet an input of width w. Strings only feed string inputs.
 * - `concat`: the model takes one tensor `[N, F]` (a scikit-learn model's `float_input`): every transform
 *   output is cast to the input's float type (float32, or float64), a scalar becomes one column, a one-hot
 *   its w columns, all concatenated in the transform signature's output order. Refused when the model has
 *   more than one input, when an output is a string, or when F differs from the columns the transform
 *   gives (naming both widths).
 *
 * What comes out:
 * - a classifier (`label` is a labelIds output, whose classes the transform signature lists in id order):
 *   `probabilities` float32 `[N, classes]`, `class_ids` int64 `[N]` (the most probable class, the first
 *   of equals), `classes` string `[N]` (its name, through an ai.onnx.ml LabelEncoder). The model's score
 *   output is its only output, or the one named `probabilities` (skl2onnx's with zipmap=False), or
 *   `scoresOutput`. It must have one column per class, or one column for two classes (a sigmoid's
 *   probability of class 1, turned into [1 - p, p]). Whether it holds probabilities or logits: `scores`;
 *   without it, probabilities when the output is named `probabilities` or made by a Softmax (or, for one
 *   column, a Sigmoid); otherwise refused, asking. Logits go through Softmax (Sigmoid for one column).
 * - a regressor (`label` absent, or a number output): `predictions` float32, `[N]` or `[N, 1]` as the
 *   model gives it (its only output, or `scoresOutput`).
 *
 * The config is Triton's (config.json, serving/model-config.ts) for `mlpipe serve`: max_batch_size,
 * every input and output with its dims after the batch dimension, and dynamic batching on.
 */
export interface ServingModelOptions {
  transformServing: Uint8Array;
  transformSignature: TransformSignature;
  model: Uint8Array;
  /** The transform output the model predicts: a labelIds output makes a classifier. */
  label?: string;
  inputMode: 'byName' | 'concat';
  /** Which model output holds the class scores or the prediction, when the model has several. */
  scoresOutput?: string;
  scores?: 'probabilities' | 'logits';
  maxBatchSize?: number;
  maxQueueDelayMicroseconds?: number;
}

export const ServingSignatureSchema = z
  .object({
    version: z.literal(1),
    task: z.enum(['classification', 'regression']),
    /** The transform output the model was trained to predict, when it was named. */
    label: z.string().nullable(),
    /** Class names in id order (a classifier's `class_ids` index them). */
    classes: z.array(z.string()).optional(),
    inputs: z.array(TensorSpecSchema),
    outputs: z.array(TensorSpecSchema),
  })
  .strict();
export type ServingSignature = z.infer<typeof ServingSignatureSchema>;

export interface ServingModel {
  bytes: Uint8Array;
  signature: ServingSignature;
  config: ModelConfig;
}

export const DEFAULT_MAX_BATCH_SIZE = 256;

const ELEMENT_TYPE: Record<GraphDtype, number> = { float32: OnnxElementType.FLOAT, int64: OnnxElementType.INT64, string: OnnxElementType.STRING };
const FLOAT_TYPES = new Set<number>([OnnxElementType.FLOAT, OnnxElementType.DOUBLE]);
const NUMBER_TYPES = new Set<number>([
  OnnxElementType.FLOAT, OnnxElementType.DOUBLE, OnnxElementType.FLOAT16, OnnxElementType.INT8, OnnxElementType.INT16, OnnxElementType.INT32,
  OnnxElementType.INT64, OnnxElementType.UINT8, OnnxElementType.UINT16, OnnxElementType.UINT32, OnnxElementType.UINT64, OnnxElementType.BOOL,
]);
const TRITON_TYPE: Record<GraphDtype, 'TYPE_FP32' | 'TYPE_INT64' | 'TYPE_STRING'> = { float32: 'TYPE_FP32', int64: 'TYPE_INT64', string: 'TYPE_STRING' };

/** A model input or output as the composition needs it. */
interface ModelTensor {
  name: string;
  elemType: number;
  /** undefined for an unknown or symbolic dimension. */
  dims: Array<number | undefined>;
  type: onnx.ITypeProto | null | undefined;
}

function modelTensor(v: onnx.IValueInfoProto): ModelTensor {
  const tensor = v.type?.tensorType;
  const dims = (tensor?.shape?.dim ?? []).map((d) => (d.dimValue != null ? Number(d.dimValue) : undefined));
  return { name: v.name ?? '', elemType: tensor?.elemType ?? 0, dims, type: v.type };
}

/** A name of the small graphs built here that is none of `taken` (their outputs), so an input never shares an output's name. */
function freshName(base: string, taken: ReadonlySet<string>): string {
  let name = base;
  while (taken.has(name)) name = `${name}_`;
  return name;
}

export function buildServingModel(options: ServingModelOptions): ServingModel {
  const { transformSignature: signature } = options;
  const model = decodeModel(options.model);
  const initializers = new Set((model.graph?.initializer ?? []).map((t) => t.name ?? ''));
  const modelInputs = (model.graph?.input ?? []).filter((i) => !initializers.has(i.name ?? '')).map(modelTensor);
  const modelOutputs = (model.graph?.output ?? []).map(modelTensor);

  const adapter = options.inputMode === 'byName' ? byNameAdapter(signature.serving.outputs, modelInputs) : concatAdapter(signature.serving.outputs, modelInputs);
  const transformed = composeGraphs(options.transformServing, adapter.bytes, adapter.wiring, {
    prefixes: { first: 'transform/', second: 'adapter/' },
    names: { first: 'the transform graph', second: 'the input adapter' },
  });

  const mapping = options.label === undefined ? undefined : signature.labels.find((l) => l.output === options.label);
  if (options.label !== undefined && !mapping && !signature.training.outputs.some((o) => o.name === options.label)) {
    throw new UserInputError(`label '${options.label}' is no output of the transform (it has ${signature.training.outputs.map((o) => `'${o.name}'`).join(', ')})`);
  }
  const scores = pickScoresOutput(modelOutputs, options.scoresOutput, mapping !== undefined);
  const head = mapping ? classifierHead(model, scores, mapping.classes, options.scores) : regressorHead(scores);
  const predicted = composeGraphs(options.model, head.bytes, [{ from: scores.name, to: head.input }], {
    prefixes: { first: 'model/', second: 'head/' },
    names: { first: 'the model', second: 'the output head' },
  });
  const bytes = composeGraphs(transformed, predicted, modelInputs.map((i) => ({ from: i.name, to: i.name })), {
    prefixes: { first: '', second: 'serving/' },
    names: { first: 'the transform graph', second: 'the model' },
    graphName: 'serving',
    producerName: 'mlpipe-trainer',
  });

  const servingSignature: ServingSignature = {
    version: 1,
    task: mapping ? 'classification' : 'regression',
    label: options.label ?? null,
    ...(mapping ? { classes: mapping.classes } : {}),
    inputs: signature.serving.inputs,
    outputs: head.outputs,
  };
  return { bytes, signature: servingSignature, config: servingConfig(servingSignature, options) };
}

interface Adapter {
  bytes: Uint8Array;
  wiring: Array<{ from: string; to: string }>;
}

/** The adapter graph: transform outputs in (under fresh names), model inputs out, each `build` gives. */
function adapterGraph(
  used: readonly TensorSpec[],
  outputNames: ReadonlySet<string>,
  build: (g: GraphBuilder, inputOf: (name: string) => string) => GraphOutput[],
): Adapter {
  const inputNames = new Map<string, string>();
  const taken = new Set(outputNames);
  for (const spec of used) {
    const name = freshName(spec.name, taken);
    taken.add(name);
    inputNames.set(spec.name, name);
  }
  const g = new GraphBuilder(taken);
  const outputs = build(g, (name) => inputNames.get(name)!);
  const graph = g.build(
    'adapter',
    used.map((spec) => tensorValueInfo(inputNames.get(spec.name)!, ELEMENT_TYPE[spec.dtype], ['batch', ...spec.shape.slice(1)])),
    outputs,
  );
  return {
    bytes: encodeModel(graph, { producerName: 'mlpipe-trainer', extraOpsets: g.extraOpsets() }),
    wiring: used.map((spec) => ({ from: spec.name, to: inputNames.get(spec.name)! })),
  };
}

const castTo = (g: GraphBuilder, x: string, from: number, to: number): string => (from === to ? x : g.op('Cast', [x], [attribute.int('to', to)]));
const asColumn = (g: GraphBuilder, x: string): string => g.op('Unsqueeze', [x, g.int64Constant([1])]);
const widthOf = (spec: TensorSpec): number => (spec.shape.length === 1 ? 1 : spec.shape[1]!);

function byNameAdapter(outputs: readonly TensorSpec[], inputs: readonly ModelTensor[]): Adapter {
  const byName = new Map(outputs.map((o) => [o.name, o]));
  const missing = inputs.filter((i) => !byName.has(i.name));
  if (missing.length > 0) {
    throw new UserInputError(
      `inputMode 'byName': the model's inputs ${missing.map((i) => `'${i.name}'`).join(', ')} are no output of the transform ` +
        `(it has ${outputs.map((o) => `'${o.name}'`).join(', ')}); name the transform outputs as the model's inputs, or use inputMode 'concat' for a model with one input`,
    );
  }
  const used = inputs.map((i) => byName.get(i.name)!);
  return adapterGraph(used, new Set(inputs.map((i) => i.name)), (g, inputOf) =>
    inputs.map((input) => {
      const spec = byName.get(input.name)!;
      const from = ELEMENT_TYPE[spec.dtype];
      const what = `the transform output '${spec.name}' (${spec.dtype} [${spec.shape.join(', ')}]) cannot feed the model input '${input.name}' (${describeType(input.type)})`;
      if (from !== input.elemType && !(NUMBER_TYPES.has(from) && NUMBER_TYPES.has(input.elemType))) throw new UserInputError(`${what}: a string feeds only a string`);
      let value = castTo(g, inputOf(spec.name), from, input.elemType);
      if (spec.shape.length === 1 && input.dims.length === 2 && (input.dims[1] === undefined || input.dims[1] === 1)) value = asColumn(g, value);
      else if (spec.shape.length !== input.dims.length) throw new UserInputError(`${what}: the ranks differ`);
      else if (spec.shape.length === 2 && input.dims[1] !== undefined && input.dims[1] !== spec.shape[1]) {
        throw new UserInputError(`${what}: the transform gives ${spec.shape[1]} columns, the model takes ${input.dims[1]}`);
      }
      const width = spec.shape.length === 2 ? spec.shape[1]! : input.dims.length === 2 ? 1 : undefined;
      return { name: input.name, source: value, elemType: input.elemType, dims: width === undefined ? ['batch'] : ['batch', width] };
    }),
  );
}

function concatAdapter(outputs: readonly TensorSpec[], inputs: readonly ModelTensor[]): Adapter {
  if (inputs.length !== 1) {
    throw new UserInputError(`inputMode 'concat' needs a model with one input, this one has ${inputs.length}: ${inputs.map((i) => `'${i.name}'`).join(', ')} (use inputMode 'byName')`);
  }
  const input = inputs[0]!;
  if (input.dims.length !== 2 || !FLOAT_TYPES.has(input.elemType)) {
    throw new UserInputError(`inputMode 'concat': the model input '${input.name}' is ${describeType(input.type)}; it must be float [N, features]`);
  }
  const strings = outputs.filter((o) => o.dtype === 'string');
  if (strings.length > 0) {
    throw new UserInputError(`inputMode 'concat': the transform outputs ${strings.map((o) => `'${o.name}'`).join(', ')} are strings, which cannot be model features; turn them into ids or a one-hot (vocabulary)`);
  }
  const width = outputs.reduce((n, o) => n + widthOf(o), 0);
  if (input.dims[1] !== undefined && input.dims[1] !== width) {
    throw new UserInputError(
      `inputMode 'concat': the model input '${input.name}' takes ${input.dims[1]} features, the transform gives ${width} ` +
        `(${outputs.map((o) => `${o.name} ${widthOf(o)}`).join(', ')})`,
    );
  }
  return adapterGraph(outputs, new Set([input.name]), (g, inputOf) => {
    const columns = outputs.map((o) => {
      const value = castTo(g, inputOf(o.name), ELEMENT_TYPE[o.dtype], input.elemType);
      return o.shape.length === 1 ? asColumn(g, value) : value;
    });
    const source = columns.length === 1 ? columns[0]! : g.op('Concat', columns, [attribute.int('axis', 1)]);
    return [{ name: input.name, source, elemType: input.elemType, dims: ['batch', width] }];
  });
}

function pickScoresOutput(outputs: readonly ModelTensor[], requested: string | undefined, classifier: boolean): ModelTensor {
  const names = outputs.map((o) => `'${o.name}'`).join(', ');
  if (requested !== undefined) {
    const found = outputs.find((o) => o.name === requested);
    if (!found) throw new UserInputError(`scoresOutput '${requested}' is no output of the model (it has ${names})`);
    return found;
  }
  const found = outputs.length === 1 ? outputs[0] : classifier ? outputs.find((o) => o.name === 'probabilities') : undefined;
  if (!found) throw new UserInputError(`the model has the outputs ${names}; say which holds the ${classifier ? 'class scores' : 'prediction'} (scoresOutput)`);
  if (!FLOAT_TYPES.has(found.elemType)) {
    throw new UserInputError(`the model's output '${found.name}' is ${describeType(found.type)}; ${classifier ? 'class scores' : 'a prediction'} must be float`);
  }
  return found;
}

/** The op that makes `name`, through Identity nodes. */
function producerOf(model: onnx.IModelProto, name: string): string | undefined {
  const nodes = model.graph?.node ?? [];
  let current = name;
  for (let hops = 0; hops <= nodes.length; hops++) {
    const node = nodes.find((n) => (n.output ?? []).includes(current));
    if (!node || node.opType !== 'Identity') return node?.opType ?? undefined;
    current = node.input![0]!;
  }
  return undefined;
}

interface Head {
  bytes: Uint8Array;
  input: string;
  outputs: TensorSpec[];
}

function headGraph(scores: ModelTensor, outputs: TensorSpec[], build: (g: GraphBuilder, input: string) => Record<string, string>): Head {
  const outputNames = new Set(outputs.map((o) => o.name));
  const input = freshName(scores.name, outputNames);
  const g = new GraphBuilder(new Set([...outputNames, input]));
  const sources = build(g, input);
  const graph = g.build(
    'head',
    [{ name: input, type: scores.type }],
    outputs.map((o) => ({ name: o.name, source: sources[o.name]!, elemType: ELEMENT_TYPE[o.dtype], dims: ['batch', ...o.shape.slice(1)] })),
  );
  return { bytes: encodeModel(graph, { producerName: 'mlpipe-trainer', extraOpsets: g.extraOpsets() }), input, outputs };
}

function classifierHead(model: onnx.IModelProto, scores: ModelTensor, classes: readonly string[], kind: 'probabilities' | 'logits' | undefined): Head {
  const width = scores.dims[1];
  const binary = classes.length === 2 && width === 1;
  if (scores.dims.length !== 2 || (width !== undefined && width !== classes.length && !binary)) {
    throw new UserInputError(
      `the model's output '${scores.name}' is ${describeType(scores.type)}, but the label has ${classes.length} classes (${classes.join(', ')}); ` +
        `a classifier gives [N, ${classes.length}]` + (classes.length === 2 ? ' or [N, 1]' : ''),
    );
  }
  const producer = producerOf(model, scores.name);
  const detected = scores.name === 'probabilities' || producer === 'Softmax' || (binary && producer === 'Sigmoid') ? 'probabilities' : undefined;
  const scoresAre = kind ?? detected;
  if (!scoresAre) {
    throw new UserInputError(`cannot tell whether the model's output '${scores.name}' (made by ${producer ?? 'no node'}) holds probabilities or logits; set scores: 'probabilities' or 'logits'`);
  }
  return headGraph(
    scores,
    [
      { name: 'probabilities', dtype: 'float32', shape: [-1, classes.length] },
      { name: 'class_ids', dtype: 'int64', shape: [-1] },
      { name: 'classes', dtype: 'string', shape: [-1] },
    ],
    (g, input) => {
      const floats = castTo(g, input, scores.elemType, OnnxElementType.FLOAT);
      let probabilities: string;
      if (binary) {
        const p = scoresAre === 'logits' ? g.op('Sigmoid', [floats]) : floats;
        probabilities = g.op('Concat', [g.op('Sub', [g.floatConstant([1], []), p]), p], [attribute.int('axis', 1)]);
      } else {
        probabilities = scoresAre === 'logits' ? g.op('Softmax', [floats], [attribute.int('axis', 1)]) : floats;
      }
      const classIds = g.op('ArgMax', [probabilities], [attribute.int('axis', 1), attribute.int('keepdims', 0)]);
      const names = g.op(
        'LabelEncoder',
        [classIds],
        [
          attribute.ints('keys_int64s', classes.map((_, i) => i)),
          attribute.strings('values_strings', [...classes]),
          { name: 'default_string', type: OnnxAttributeType.STRING, s: new Uint8Array() },
        ],
        'ai.onnx.ml',
      );
      return { probabilities, class_ids: classIds, classes: names };
    },
  );
}

function regressorHead(prediction: ModelTensor): Head {
  if (!(prediction.dims.length === 1 || (prediction.dims.length === 2 && (prediction.dims[1] === 1 || prediction.dims[1] === undefined)))) {
    throw new UserInputError(`the model's output '${prediction.name}' is ${describeType(prediction.type)}; a regressor's prediction is [N] or [N, 1]`);
  }
  return headGraph(prediction, [{ name: 'predictions', dtype: 'float32', shape: prediction.dims.length === 1 ? [-1] : [-1, 1] }], (g, input) => ({
    predictions: castTo(g, input, prediction.elemType, OnnxElementType.FLOAT),
  }));
}

function servingConfig(signature: ServingSignature, options: ServingModelOptions): ModelConfig {
  const tensor = (spec: TensorSpec) => ({ name: spec.name, data_type: TRITON_TYPE[spec.dtype], dims: spec.shape.slice(1) });
  return ModelConfigSchema.parse({
    platform: 'onnxruntime_onnx',
    max_batch_size: options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE,
    input: signature.inputs.map(tensor),
    output: signature.outputs.map(tensor),
    dynamic_batching: { max_queue_delay_microseconds: options.maxQueueDelayMicroseconds ?? 0 },
  });
}
