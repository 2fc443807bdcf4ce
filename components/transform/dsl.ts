import { UserInputError } from '../../dsl/executor';
import { issueLines, issuePath } from '../../dsl/zod-issues';
import type { SchemaPayload } from '../schema-gen/payload';
import { featureReads, opName, TransformIrSchema, type AnalyzerNode, type Expression, type Output, type TransformIr, type ValueKind } from './expression';

/**
 * The transform DSL users write: `transform(({ f }) => ({ bill: scaleToZScore(f['Beak Length (mm)']) }))`,
 * evaluated when the pipeline is compiled into the JSON IR of expression.ts. With the feature kinds
 * given (`transform(fn, penguinFeatures)`), a numeric op on a string feature is a TypeScript error and
 * a build-time error; without them the features are of kind `unknown` and check.ts catches it against
 * the Schema.
 */

export type FeatureKinds = Readonly<Record<string, ValueKind>>;
type Kind = ValueKind | 'unknown';
type Dtype = Output['dtype'];

/** A per-row expression of a known (or not yet known) kind; `kind` keeps string and number apart for TypeScript. */
export class Expr<K extends Kind = Kind> {
  constructor(
    readonly node: Expression,
    readonly kind: K,
    /** The element type as a model feature; undefined for a feature of unknown kind. */
    readonly dtype: Dtype | undefined,
  ) {}
}

/** A vocabulary's integer ids; `.oneHot()` turns them into a one-hot vector. */
export class VocabularyExpr extends Expr<'number'> {
  ids(): Expr<'number'> {
    return new Expr(this.node, 'number', 'int64');
  }
  oneHot(): OneHot {
    return new OneHot(this.node);
  }
}

/** A one-hot vector: a model feature only, never an input of another op. */
export class OneHot {
  constructor(readonly node: Expression) {}
}

type Numeric = Expr<'number' | 'unknown'>;
type Text = Expr<'string' | 'unknown'>;
type Categorical = Expr<'string' | 'number' | 'unknown'>;
type Instant = Expr<'timestamp' | 'unknown'>;

/** Features by name; kinds known to TypeScript only when given as a literal (`as const`). */
export type Features<T extends FeatureKinds | undefined> = T extends FeatureKinds
  ? string extends keyof T
    ? Readonly<Record<string, Expr<'unknown'>>>
    : { readonly [N in keyof T]: Expr<T[N]> }
  : Readonly<Record<string, Expr<'unknown'>>>;

/** Refuses an input of the wrong kind at build time (TypeScript already does where the kinds are declared). */
function expect<K extends Kind>(op: string, x: Expr, allowed: readonly ValueKind[]): Expr<K> {
  if (!(x instanceof Expr)) throw new UserInputError(`${op}: expected a feature expression, got ${typeof x}`);
  if (x.kind !== 'unknown' && !allowed.includes(x.kind)) {
    throw new UserInputError(`${op} needs a ${allowed.join(' or ')} input, got ${describeExpression(x.node)} of kind ${x.kind}`);
  }
  return x as Expr<K>;
}

/** How a message names an expression: its feature(s). */
export function describeExpression(node: Expression): string {
  const names = [...new Set(featureReads(node).map((r) => r.feature))];
  return names.length === 1 ? `feature "${names[0]}"` : `features ${names.map((n) => `"${n}"`).join(', ')}`;
}

const numeric = (op: string, x: Numeric): Expression => expect(op, x, ['number']).node;

export function scaleToZScore(x: Numeric): Expr<'number'> {
  const input = numeric('scaleToZScore', x);
  return new Expr({ op: 'scaleToZScore', input, mean: { analyzer: 'mean', of: input }, var: { analyzer: 'var', of: input } }, 'number', 'float32');
}

export function scaleByMinMax(x: Numeric, range: { outputMin: number; outputMax: number }): Expr<'number'> {
  const input = numeric('scaleByMinMax', x);
  if (!(range.outputMin < range.outputMax)) throw new UserInputError(`scaleByMinMax on ${describeExpression(input)}: outputMin must be below outputMax`);
  return new Expr(
    { op: 'scaleByMinMax', input, min: { analyzer: 'min', of: input }, max: { analyzer: 'max', of: input }, outputMin: range.outputMin, outputMax: range.outputMax },
    'number',
    'float32',
  );
}

export function scaleTo01(x: Numeric): Expr<'number'> {
  return scaleByMinMax(x, { outputMin: 0, outputMax: 1 });
}

export function log1p(x: Numeric): Expr<'number'> {
  return new Expr({ op: 'log1p', input: numeric('log1p', x) }, 'number', 'float32');
}

export function clip(x: Numeric, bounds: { min?: number; max?: number }): Expr<'number'> {
  const input = numeric('clip', x);
  return new Expr({ op: 'clip', input, ...bounds }, 'number', 'float32');
}

/** Missing values (NaN, '') replaced by a statistic of the train split or a constant of the input's kind. */
export function fillMissing<K extends 'number' | 'string' | 'unknown'>(
  x: Expr<K>,
  fill: (K extends 'string' ? never : 'mean' | 'median') | 'mode' | { constant: K extends 'string' ? string : K extends 'number' ? number : number | string },
): Expr<K> {
  const input = expect<K>('fillMissing', x, typeof fill === 'string' && fill !== 'mode' ? ['number'] : ['number', 'string']).node;
  const kind: Kind =
    x.kind !== 'unknown' ? x.kind : typeof fill === 'object' ? (typeof fill.constant === 'string' ? 'string' : 'number') : fill === 'mode' ? 'unknown' : 'number';
  if (typeof fill === 'object' && kind !== (typeof fill.constant === 'string' ? 'string' : 'number')) {
    throw new UserInputError(`fillMissing on ${describeExpression(input)}: the constant ${JSON.stringify(fill.constant)} is not a ${kind}`);
  }
  const dtype: Dtype | undefined = kind === 'unknown' ? undefined : kind === 'string' ? 'string' : 'float32';
  const node: Expression =
    typeof fill === 'object'
      ? { op: 'fillMissing', input, with: { kind: 'constant', value: fill.constant } }
      : { op: 'fillMissing', input, with: { kind: fill }, value: { analyzer: fill, of: input } };
  return new Expr(node, kind as K, dtype);
}

/** Quantile buckets of the train split (expression.ts defines the boundaries), applied as applyBuckets. */
export function bucketize(x: Numeric, numBuckets: number): Expr<'number'> {
  const input = numeric('bucketize', x);
  return new Expr({ op: 'applyBuckets', input, boundaries: { analyzer: 'quantiles', of: input, numBuckets } }, 'number', 'int64');
}

export function applyBuckets(x: Numeric, boundaries: number[]): Expr<'number'> {
  return new Expr({ op: 'applyBuckets', input: numeric('applyBuckets', x), boundaries: [...boundaries] }, 'number', 'int64');
}

/**
 * A number's bucket by fixed boundaries, as a name: `bucketNames(f.delay, { boundaries: [15], names: ['on time', 'delayed'] })`
 * is 'delayed' for 15 or more. Wrapped in labelIds it makes a classification label from a number.
 */
export function bucketNames(x: Numeric, buckets: { boundaries: number[]; names: string[] }): Expr<'string'> {
  const input = numeric('bucketNames', x);
  if (buckets.names.length !== buckets.boundaries.length + 1) {
    throw new UserInputError(
      `bucketNames on ${describeExpression(input)}: ${buckets.boundaries.length} boundaries make ${buckets.boundaries.length + 1} buckets, but ${buckets.names.length} names were given`,
    );
  }
  return new Expr({ op: 'bucketNames', input, boundaries: [...buckets.boundaries], names: [...buckets.names] }, 'string', 'string');
}

export interface VocabularyOptions {
  topK?: number;
  /** The least count a value needs to be in the vocabulary. */
  frequencyThreshold?: number;
  /** Id of an out-of-vocabulary value when numOovBuckets is 0 (TFT's default_value). */
  defaultValue?: number;
  numOovBuckets?: number;
}

/** TFT's compute_and_apply_vocabulary: ids by default, `.oneHot()` for a one-hot vector. */
export function vocabulary(x: Categorical, options: VocabularyOptions = {}): VocabularyExpr {
  const input = expect('vocabulary', x, ['string', 'number']).node;
  const analyzer: AnalyzerNode = { analyzer: 'vocabulary', of: input };
  if (options.topK !== undefined) analyzer.topK = options.topK;
  if (options.frequencyThreshold !== undefined) analyzer.frequencyThreshold = options.frequencyThreshold;
  const node: Expression = { op: 'vocabularyIds', input, vocabulary: analyzer, defaultValue: options.defaultValue ?? -1, numOovBuckets: options.numOovBuckets ?? 0 };
  return new VocabularyExpr(node, 'number', 'int64');
}
export const computeAndApplyVocabulary = vocabulary;

export function hashStrings(x: Text, numBuckets: number): Expr<'number'> {
  return new Expr({ op: 'hashStrings', input: expect('hashStrings', x, ['string']).node, numBuckets }, 'number', 'int64');
}

/** A feature cross of two categorical expressions, hashed into numBuckets. */
export function cross(a: Categorical, b: Categorical, numBuckets: number): Expr<'number'> {
  const inputs: [Expression, Expression] = [expect('cross', a, ['string', 'number']).node, expect('cross', b, ['string', 'number']).node];
  return new Expr({ op: 'cross', inputs, numBuckets }, 'number', 'int64');
}

const datePart = (part: 'year' | 'month' | 'dayOfWeek' | 'hour') => (x: Instant): Expr<'number'> =>
  new Expr({ op: 'datePart', input: expect(part, x, ['timestamp']).node, part }, 'number', 'int64');
export const year = datePart('year');
export const month = datePart('month');
export const dayOfWeek = datePart('dayOfWeek');
export const hour = datePart('hour');

/** Class names to ids, kept as metadata so predictions turn back into names. */
export function labelIds(x: Text, options: { classes?: string[] } = {}): Expr<'number'> {
  const input = expect('labelIds', x, ['string']).node;
  return new Expr(options.classes ? { op: 'labelIds', input, classes: [...options.classes] } : { op: 'labelIds', input }, 'number', 'int64');
}

/** The kinds of a Schema's features, for `transform(fn, kinds)` at run time; OTHER features are left out. */
export function featureKindsOf(schema: SchemaPayload): FeatureKinds {
  const kinds: Record<string, ValueKind> = {};
  for (const feature of schema.features) {
    const kind = valueKindOf(feature.type);
    if (kind) kinds[feature.name] = kind;
  }
  return kinds;
}

export function valueKindOf(type: SchemaPayload['features'][number]['type']): ValueKind | undefined {
  switch (type) {
    case 'INT':
    case 'FLOAT':
    case 'BOOL':
      return 'number';
    case 'STRING':
      return 'string';
    case 'TEMPORAL':
      return 'timestamp';
    default:
      return undefined;
  }
}

/** How the graph reads a raw feature of each kind (signature.ts). */
export const RAW_DTYPE: Record<ValueKind, Dtype> = { number: 'float32', string: 'string', timestamp: 'int64' };

/** Evaluates a transform function into its IR; the IR is what the Transform node's parameters carry. */
export function transform<T extends FeatureKinds | undefined = undefined>(
  fn: (context: { f: Features<T> }) => Record<string, Expr | OneHot>,
  kinds?: T,
): TransformIr {
  const f = new Proxy(
    {},
    {
      get(_target, name) {
        if (typeof name !== 'string') return undefined;
        if (kinds === undefined) return new Expr({ op: 'feature', name }, 'unknown', undefined);
        const kind = kinds[name];
        if (kind === undefined) throw new UserInputError(`the transform reads feature "${name}", which the schema lacks`);
        return new Expr({ op: 'feature', name }, kind, RAW_DTYPE[kind]);
      },
    },
  ) as Features<T>;
  const outputs = Object.entries(fn({ f })).map(([name, value]) => toOutput(name, value));
  const parsed = TransformIrSchema.safeParse({ version: 1, outputs });
  if (!parsed.success) {
    const where = ({ path }: { path: readonly PropertyKey[] }): string =>
      typeof path[1] === 'number' ? `output "${outputs[path[1]]!.name}" ${issuePath(path.slice(2))}`.trim() : issuePath(path);
    throw new UserInputError(issueLines(parsed.error, 'transform', where).join('; '));
  }
  refuseNameClashes(parsed.data);
  return parsed.data;
}

/**
 * ONNX names each value once: an output may share the name of a feature the graph reads only by being
 * that feature unchanged. Checked when the transform is built (no schema needed) and again when compiled.
 */
export function refuseNameClashes(ir: TransformIr): void {
  const inputs = new Set(ir.outputs.flatMap((o) => featureReads(o.expression).map((r) => r.feature)));
  for (const { name, expression } of ir.outputs) {
    if (!inputs.has(name) || (expression.op === 'feature' && expression.name === name)) continue;
    throw new UserInputError(
      `output "${name}" has the name of the input feature "${name}" but is ${opName(expression)} of ${describeExpression(expression)}, not that feature unchanged; ` +
        `a graph names each value once, so give the output another name (e.g. "${name} ${opName(expression)}")`,
    );
  }
}

function toOutput(name: string, value: Expr | OneHot): TransformIr['outputs'][number] {
  if (value instanceof OneHot) return { name, expression: value.node, dtype: 'float32', shape: { kind: 'oneHot' } };
  if (!(value instanceof Expr)) throw new UserInputError(`output "${name}": expected a feature expression, got ${typeof value}`);
  if (value.dtype === undefined) {
    throw new UserInputError(`output "${name}": the kind of ${describeExpression(value.node)} is unknown here; give the feature kinds (transform(fn, kinds)) to pass it through`);
  }
  return { name, expression: value.node, dtype: value.dtype, shape: { kind: 'scalar' } };
}
