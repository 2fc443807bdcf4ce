import { UserInputError } from '../../dsl/executor';
import { isInEnvironment } from '../example-validator/validate-split';
import type { FeatureSpec, SchemaPayload } from '../schema-gen/payload';
import { describeExpression, valueKindOf } from './dsl';
import { childrenOf, featureReads, opName, type AnalyzerNode, type Expression, type Output, type TransformIr, type ValueKind } from './expression';

/** What each op accepts as input (every input of `cross`, the `of` of an analyzer as its mapper). */
const ACCEPTS: Record<string, readonly ValueKind[]> = {
  scaleToZScore: ['number'],
  scaleByMinMax: ['number'],
  log1p: ['number'],
  clip: ['number'],
  applyBuckets: ['number'],
  vocabularyIds: ['string', 'number'],
  hashStrings: ['string'],
  cross: ['string', 'number'],
  datePart: ['timestamp'],
  bucketNames: ['number'],
  labelIds: ['string'],
  mean: ['number'],
  var: ['number'],
  min: ['number'],
  max: ['number'],
  median: ['number'],
  quantiles: ['number'],
  mode: ['string', 'number'],
  classes: ['string'],
  vocabulary: ['string', 'number'],
};

/** The two signatures of the transform graph, as TFT's: training reads the label, serving never does. */
export interface Signatures {
  training: { inputs: string[]; outputs: string[] };
  serving: { inputs: string[]; outputs: string[] };
}

/**
 * Checks a transform IR against a Schema and returns its signatures. Refuses, naming the output, the
 * op and the feature: two outputs with one name, a feature the schema lacks (or of type OTHER), an
 * input of the wrong kind, and a model feature (any output but a labelIds one) that reads a feature
 * outside the SERVING environment, which the serving signature could not compute.
 */
export function checkTransform(ir: TransformIr, schema: SchemaPayload): Signatures {
  const features = new Map(schema.features.map((f) => [f.name, f]));
  const names = new Set<string>();
  for (const output of ir.outputs) {
    if (names.has(output.name)) throw new UserInputError(`output "${output.name}" is defined twice; each output needs its own name`);
    names.add(output.name);
    const kind = kindOf(output.expression, { output: output.name, features });
    const dtype = output.shape.kind === 'oneHot' ? 'float32' : dtypeOf(output.expression, kind);
    if (output.dtype !== dtype) throw new UserInputError(`output "${output.name}": dtype ${output.dtype} recorded, but ${opName(output.expression)} gives ${dtype}`);
  }

  const training = { inputs: new Set<string>(), outputs: [] as string[] };
  const serving = { inputs: new Set<string>(), outputs: [] as string[] };
  for (const output of ir.outputs) {
    const read = featureReads(output.expression);
    for (const { feature } of read) training.inputs.add(feature);
    training.outputs.push(output.name);
    if (output.expression.op === 'labelIds') continue;
    const outside = read.find(({ feature }) => !isInEnvironment(features.get(feature)!, schema, 'SERVING'));
    if (outside) {
      throw new UserInputError(
        `output "${output.name}": ${outside.op} reads feature "${outside.feature}", which is not in the SERVING environment (a label), so serving could not compute it; only a labelIds output may read it`,
      );
    }
    for (const { feature } of read) serving.inputs.add(feature);
    serving.outputs.push(output.name);
  }
  return {
    training: { inputs: [...training.inputs], outputs: training.outputs },
    serving: { inputs: [...serving.inputs], outputs: serving.outputs },
  };
}

interface Where {
  output: string;
  features: Map<string, FeatureSpec>;
}

/** The kind of value a node yields per row, checking every input's kind on the way. */
function kindOf(node: Expression | AnalyzerNode, where: Where): ValueKind {
  if (!('analyzer' in node) && node.op === 'feature') {
    const feature = where.features.get(node.name);
    if (!feature) throw new UserInputError(`output "${where.output}" reads feature "${node.name}", which the schema lacks`);
    const kind = valueKindOf(feature.type);
    if (!kind) throw new UserInputError(`output "${where.output}" reads feature "${node.name}" of type ${feature.type}, which a transform cannot read`);
    return kind;
  }
  const op = opName(node);
  const inputs = 'analyzer' in node ? [node.of] : node.op === 'cross' ? node.inputs : [node.input];
  const kinds = inputs.map((input) => {
    const kind = kindOf(input, where);
    const accepted = ACCEPTS[op];
    if (accepted && !accepted.includes(kind)) {
      throw new UserInputError(`output "${where.output}": ${op} needs a ${accepted.join(' or ')} input, got ${describeExpression(input)} of kind ${kind}`);
    }
    return kind;
  });
  for (const child of childrenOf(node)) if (!inputs.includes(child as Expression)) kindOf(child, where);
  if ('analyzer' in node) return kinds[0]!;
  if (node.op === 'fillMissing') {
    const kind = kinds[0]!;
    const numericFill = node.with.kind === 'mean' || node.with.kind === 'median';
    const constantKind = node.with.kind === 'constant' ? (typeof node.with.value === 'string' ? 'string' : 'number') : undefined;
    if ((numericFill && kind !== 'number') || kind === 'timestamp' || (constantKind && constantKind !== kind)) {
      throw new UserInputError(`output "${where.output}": fillMissing with ${node.with.kind} cannot fill ${describeExpression(node.input)} of kind ${kind}`);
    }
    return kind;
  }
  return node.op === 'bucketNames' ? 'string' : 'number';
}

function dtypeOf(node: Expression, kind: ValueKind): Output['dtype'] {
  switch (node.op) {
    case 'feature':
    case 'fillMissing':
      return kind === 'string' ? 'string' : kind === 'timestamp' ? 'int64' : 'float32';
    case 'bucketNames':
      return 'string';
    case 'scaleToZScore':
    case 'scaleByMinMax':
    case 'log1p':
    case 'clip':
      return 'float32';
    default:
      return 'int64';
  }
}
