import { canonicalJson } from '../../artifacts/fingerprint';
import { ComponentError, UserInputError } from '../../dsl/executor';
import { attribute, encodeModel, extraOpsetsOf, GraphBuilder, OnnxElementType, tensorValueInfo, type onnx } from '../../onnx/graph';
import { pruneGraph } from '../../onnx/prune-graph';
import { applyBuckets, bucketNames } from '../../onnx/transform-ops/buckets';
import { crossToBuckets } from '../../onnx/transform-ops/cross';
import { datePartsOrMissing, type DateParts } from '../../onnx/transform-ops/date-parts';
import { hashableFloats, hashToBuckets } from '../../onnx/transform-ops/hashing';
import { fillMissingStrings } from '../../onnx/transform-ops/missing-strings';
import { clip, fillMissing, log1p, scaleByMinMax, scaleToZScore } from '../../onnx/transform-ops/numeric';
import { lookupVocabulary, oneHot, vocabularyKeys } from '../../onnx/transform-ops/vocabulary';
import type { SchemaPayload } from '../schema-gen/payload';
import type { AnalyzerValues } from './analyzers';
import { checkTransform } from './check';
import { describeExpression, refuseNameClashes } from './dsl';
import { graphInputs } from './graph-columns';
import { featureReads, labelClasses, opName, type AnalyzerNode, type Expression, type TransformIr } from './expression';
import { MISSING_INSTANT, type GraphDtype, type GraphSignature, type LabelMapping, type TensorSpec, type TransformSignature } from './signature';

/** `transform.onnx` (every output), `transform_serving.onnx` (the same graph without the labels) and their signature. */
export interface CompiledTransform {
  training: Uint8Array;
  serving: Uint8Array;
  signature: TransformSignature;
}

type IrOutput = TransformIr['outputs'][number];

const ELEMENT_TYPE: Record<GraphDtype, number> = { float32: OnnxElementType.FLOAT, int64: OnnxElementType.INT64, string: OnnxElementType.STRING };

/**
 * Compiles a checked transform IR and its analyzer values into one ONNX graph: raw features in (named as
 * the features, dtypes of signature.ts), every output out in the IR's order. The serving graph is that
 * graph pruned to the outputs other than labelIds ones, so the two cannot compute a shared output
 * differently. A subexpression used by several outputs is built once.
 */
export function compileTransform(ir: TransformIr, values: AnalyzerValues, schema: SchemaPayload): CompiledTransform {
  const signatures = checkTransform(ir, schema);
  if (signatures.serving.outputs.length === 0) {
    throw new UserInputError('the transform has only labelIds outputs; the serving graph needs at least one model feature');
  }
  const inputs = graphInputs(signatures.training.inputs, schema);
  refuseNameClashes(ir);

  const g = new GraphBuilder(new Set([...signatures.training.inputs, ...signatures.training.outputs]));
  const compiler = new ExpressionCompiler(g, new Map(inputs.map((i) => [i.name, { name: i.name, dtype: i.dtype }])), values);
  const outputs = ir.outputs.map((output) => compiler.output(output));
  const graph = g.build(
    'transform',
    inputs.map((i) => tensorValueInfo(i.name, ELEMENT_TYPE[i.dtype], ['batch'])),
    outputs.map(({ spec, source }) => ({ name: spec.name, source, elemType: ELEMENT_TYPE[spec.dtype], dims: ['batch', ...spec.shape.slice(1)] })),
  );
  const training = pruneGraph(graph, signatures.training.outputs);
  const serving = pruneGraph(graph, signatures.serving.outputs);

  const specs = new Map([...inputs, ...outputs.map((o) => o.spec)].map((s) => [s.name, s]));
  const signatureOf = (pruned: onnx.IGraphProto): GraphSignature => ({
    inputs: pruned.input!.map((i) => specs.get(i.name!)!),
    outputs: pruned.output!.map((o) => specs.get(o.name!)!),
  });
  const labels: LabelMapping[] = ir.outputs.flatMap((output) =>
    output.expression.op === 'labelIds'
      ? [{ output: output.name, feature: featureReads(output.expression.input)[0]!.feature, classes: compiler.classes(output.expression, output.name) }]
      : [],
  );
  return {
    training: encode(training),
    serving: encode(serving),
    signature: { version: 1, training: signatureOf(training), serving: signatureOf(serving), labels },
  };
}

function encode(graph: onnx.IGraphProto): Uint8Array {
  return encodeModel(graph, { producerName: 'mlpipe-transform', extraOpsets: extraOpsetsOf(graph) });
}

/** A tensor of the graph being built. */
interface Value {
  name: string;
  dtype: GraphDtype;
}

const float32 = (name: string): Value => ({ name, dtype: 'float32' });
const int64 = (name: string): Value => ({ name, dtype: 'int64' });

/** Builds each expression's nodes with the onnx/transform-ops blocks, once per canonical JSON. */
class ExpressionCompiler {
  private readonly built = new Map<string, Value>();
  private readonly dateParts = new Map<string, DateParts>();

  constructor(
    private readonly g: GraphBuilder,
    private readonly inputs: ReadonlyMap<string, Value>,
    private readonly values: AnalyzerValues,
  ) {}

  output(output: IrOutput): { spec: TensorSpec; source: string } {
    const { name, expression } = output;
    const value = this.value(expression, name);
    if (output.shape.kind === 'scalar') {
      if (value.dtype !== output.dtype) throw new ComponentError(`output "${name}": the IR records ${output.dtype} but ${opName(expression)} compiles to ${value.dtype}`);
      return { spec: { name, dtype: value.dtype, shape: [-1] }, source: value.name };
    }
    if (expression.op !== 'vocabularyIds') {
      throw new UserInputError(`output "${name}": a one-hot output encodes vocabulary ids, got ${opName(expression)} of ${describeExpression(expression)}`);
    }
    const width = vocabularyKeys(this.vocabulary(expression, name)).length + expression.numOovBuckets;
    const encoded = this.once(`oneHot ${canonicalJson(expression)}`, () => float32(oneHot(this.g, value.name, width)));
    return { spec: { name, dtype: 'float32', shape: [-1, width] }, source: encoded.name };
  }

  /** A labelIds node's classes in id order: the given ones, or the `classes` analyzer's. */
  classes(node: Extract<Expression, { op: 'labelIds' }>, output: string): string[] {
    if (node.classes === undefined) return this.analyzerValue(labelClasses(node.input), output, 'strings');
    if (node.classes.includes('') || new Set(node.classes).size !== node.classes.length) {
      throw new UserInputError(`output "${output}": labelIds classes must be distinct and non-empty ('' is a missing value), got ${JSON.stringify(node.classes)}`);
    }
    return node.classes;
  }

  private value(node: Expression, output: string): Value {
    return this.once(canonicalJson(node), () => this.build(node, output));
  }

  private once(key: string, build: () => Value): Value {
    let value = this.built.get(key);
    if (!value) {
      value = build();
      this.built.set(key, value);
    }
    return value;
  }

  private build(node: Expression, output: string): Value {
    const g = this.g;
    const float = (input: Expression): string => this.asFloat(this.value(input, output));
    const number = (analyzer: AnalyzerNode): number => this.analyzerValue(analyzer, output, 'number');
    switch (node.op) {
      case 'feature':
        return this.inputs.get(node.name)!;
      case 'scaleToZScore':
        return float32(scaleToZScore(g, float(node.input), { mean: number(node.mean), stdDev: Math.sqrt(number(node.var)) }));
      case 'scaleByMinMax':
        return float32(scaleByMinMax(g, float(node.input), { min: number(node.min), max: number(node.max) }, { min: node.outputMin, max: node.outputMax }));
      case 'log1p':
        return float32(log1p(g, float(node.input)));
      case 'clip':
        return float32(clip(g, float(node.input), { min: node.min ?? -Infinity, max: node.max ?? Infinity }));
      case 'fillMissing':
        return this.fillMissing(node, output);
      case 'applyBuckets': {
        const boundaries = Array.isArray(node.boundaries) ? node.boundaries : this.analyzerValue(node.boundaries, output, 'numbers');
        return int64(applyBuckets(g, float(node.input), boundaries));
      }
      case 'vocabularyIds': {
        const input = this.value(node.input, output);
        const x = input.dtype === 'string' ? input.name : this.asFloat(input);
        return int64(lookupVocabulary(g, x, this.vocabulary(node, output), node.numOovBuckets, node.defaultValue));
      }
      case 'hashStrings':
        return int64(hashToBuckets(g, this.value(node.input, output).name, node.numBuckets));
      case 'cross': {
        const [a, b] = node.inputs.map((input) => this.hashable(this.value(input, output)));
        return int64(crossToBuckets(g, a!, b!, node.numBuckets));
      }
      case 'datePart':
        return int64(this.datePartsOf(node.input, output)[node.part]);
      case 'bucketNames':
        return { name: bucketNames(g, float(node.input), node.boundaries, node.names), dtype: 'string' };
      case 'labelIds':
        return int64(lookupVocabulary(g, this.value(node.input, output).name, this.classes(node, output)));
    }
  }

  private fillMissing(node: Extract<Expression, { op: 'fillMissing' }>, output: string): Value {
    const input = this.value(node.input, output);
    if (node.with.kind !== 'constant' && node.value === undefined) {
      throw new UserInputError(`output "${output}": fillMissing with ${node.with.kind} of ${describeExpression(node.input)} names no analyzer to fill with`);
    }
    // checkTransform has matched a constant's kind to the input's.
    if (input.dtype === 'string') {
      const fill = node.with.kind === 'constant' ? String(node.with.value) : this.analyzerValue(node.value!, output, 'string');
      return { name: fillMissingStrings(this.g, input.name, fill), dtype: 'string' };
    }
    const fill = node.with.kind === 'constant' ? Number(node.with.value) : this.analyzerValue(node.value!, output, 'number');
    return float32(fillMissing(this.g, this.asFloat(input), fill));
  }

  private vocabulary(node: Extract<Expression, { op: 'vocabularyIds' }>, output: string): string[] | number[] {
    const input = this.value(node.input, output);
    const vocabulary =
      input.dtype === 'string' ? this.analyzerValue(node.vocabulary, output, 'strings') : this.analyzerValue(node.vocabulary, output, 'numbers');
    if (vocabularyKeys(vocabulary).length === 0) {
      throw new UserInputError(`output "${output}": the vocabulary of ${describeExpression(node.input)} is empty in the analyzed split (lower frequencyThreshold?)`);
    }
    return vocabulary;
  }

  /** Date parts are computed together, so year and hour of one feature share their arithmetic. */
  private datePartsOf(input: Expression, output: string): DateParts {
    const key = canonicalJson(input);
    let parts = this.dateParts.get(key);
    if (!parts) {
      parts = datePartsOrMissing(this.g, this.value(input, output).name, MISSING_INSTANT);
      this.dateParts.set(key, parts);
    }
    return parts;
  }

  /** Numbers are FP32 wherever an op computes on them (an INT64 result such as an hour is cast). */
  private asFloat(value: Value): string {
    if (value.dtype === 'float32') return value.name;
    if (value.dtype === 'string') throw new ComponentError(`a numeric op reached the string value ${value.name}; checkTransform should have refused it`);
    return this.once(`float ${value.name}`, () => float32(this.g.op('Cast', [value.name], [attribute.int('to', OnnxElementType.FLOAT)]))).name;
  }

  private hashable(value: Value): string {
    if (value.dtype === 'string') return value.name;
    const x = this.asFloat(value);
    return this.once(`hashable ${x}`, () => float32(hashableFloats(this.g, x))).name;
  }

  private analyzerValue(node: AnalyzerNode, output: string, expected: 'number'): number;
  private analyzerValue(node: AnalyzerNode, output: string, expected: 'numbers'): number[];
  private analyzerValue(node: AnalyzerNode, output: string, expected: 'strings'): string[];
  private analyzerValue(node: AnalyzerNode, output: string, expected: 'string'): string;
  private analyzerValue(node: AnalyzerNode, output: string, expected: 'number' | 'numbers' | 'string' | 'strings'): AnalyzerValues[string] {
    const what = `analyzer ${opName(node)} of ${describeExpression(node.of)} (output "${output}")`;
    const value = this.values[canonicalJson(node)];
    if (value === undefined) throw new ComponentError(`${what} has no value; the analyzer values were computed for another transform`);
    const fits =
      expected === 'number' || expected === 'string'
        ? typeof value === expected
        : Array.isArray(value) && value.every((v) => typeof v === (expected === 'numbers' ? 'number' : 'string'));
    if (!fits) throw new ComponentError(`${what} is ${JSON.stringify(value)}, not the ${expected} it should be`);
    return value;
  }
}
