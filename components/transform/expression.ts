import { z } from 'zod';

/**
 * The transform IR: a JSON expression graph that travels in the Transform node's parameters, so it is
 * hashed into the cache key and no user module is loaded on workers. dsl.ts builds it; check.ts
 * validates it against a Schema; the executor (next) runs the analyzers with DuckDB and compiles the
 * mappers to one ONNX graph.
 *
 * Semantics follow TensorFlow Transform:
 * - `var` is the population variance (ddof 0), as `tft.scale_to_z_score` uses.
 * - `quantiles` with `numBuckets` n: the boundaries are the distinct values of `quantile_disc(x, k/n)`
 *   for k = 1..n-1 over the non-missing values (the smallest value with at least k/n of the values at
 *   or below it), in increasing order; repeated boundaries are dropped, so a skewed feature may get
 *   fewer buckets. TFT's approximate quantiles land on the same definition on small data.
 * - `applyBuckets`: bucket i holds boundaries[i-1] <= x < boundaries[i]; values at or above the last
 *   boundary, and NaN, go to `boundaries.length`.
 * - `vocabulary`: decreasing frequency, ties in reverse lexicographic order (of UTF-8 bytes, as TFT); `topK` then
 *   `frequencyThreshold` (a minimum count) cut it. Ids: position in that order; an unseen value gets
 *   `defaultValue` (-1) or, with `numOovBuckets` > 0, vocabularySize + hash(value) mod numOovBuckets.
 *   A number is looked up as its FP32 value (the graph's number type), and a missing value takes the
 *   unseen path.
 *   One-hot: width vocabularySize + numOovBuckets, and an id of -1 encodes as all zeros (tf.one_hot),
 *   never as the last class (ONNX OneHot's reading of -1).
 * - `median` is the interpolated median (DuckDB `median`); `mode` the first value of the vocabulary
 *   order (most frequent, ties to the greatest value).
 * - Hashing (`hashStrings`, `cross`, OOV buckets): onnxruntime's contrib op `com.microsoft.MurmurHash3`
 *   (seed 0, unsigned), mod numBuckets. A number is hashed as its FP32 bytes (NaN as one NaN, -0 as 0).
 *   `cross` (ONNX has no string concatenation, so unlike TFT's sparse_cross it does not hash
 *   `${a}_X_${b}`): h = MurmurHash3(a) * 65599 + MurmurHash3(b) as an INT64, then MurmurHash3 of
 *   h's 8 little-endian bytes mod numBuckets; a missing value ('' or NaN) is hashed like any other.
 * - Date parts of a TEMPORAL feature (INT64 microseconds UTC): year, month 1-12, dayOfWeek 0-6 with
 *   Monday 0 (Python's weekday()), hour 0-23.
 * - `labelIds`: class names to ids in lexicographic (code unit) order of the classes seen in the train
 *   split (the `classes` analyzer, which labelIds without given `classes` reads), or in the order of the
 *   given `classes`; kept as metadata so predictions turn back into names; an unknown or missing name is -1.
 * - `bucketNames`: a number's bucket (as `applyBuckets`) as a name, names[i] for bucket i; a missing
 *   value is '' (a missing string). A label from a number (a delay of 15 minutes or more) is
 *   `labelIds(bucketNames(x, ...))`, so its classes have names as every label's.
 * - Missing values: NaN for numbers, '' for strings (the graph's inputs carry them so, signature.ts);
 *   analyzers leave both out. Date parts of a missing instant are -1.
 */

/** What a node computes per row: a number (FLOAT/INT/BOOL features), a string, or a UTC instant. */
export type ValueKind = 'number' | 'string' | 'timestamp';

const numberOfBuckets = z.number().int().min(1).max(1 << 30);

export const FeatureNodeSchema = z.object({ op: z.literal('feature'), name: z.string().min(1) }).strict();
export type FeatureNode = z.infer<typeof FeatureNodeSchema>;

/** An analyzer: a value computed once over the train split, recorded in the TransformGraph artifact. */
export type AnalyzerNode =
  | { analyzer: 'mean' | 'var' | 'min' | 'max' | 'median'; of: Expression }
  | { analyzer: 'mode'; of: Expression }
  | { analyzer: 'classes'; of: Expression }
  | { analyzer: 'quantiles'; of: Expression; numBuckets: number }
  | { analyzer: 'vocabulary'; of: Expression; topK?: number; frequencyThreshold?: number };

export type FillWith = { kind: 'mean' } | { kind: 'median' } | { kind: 'mode' } | { kind: 'constant'; value: number | string };

export type Expression =
  | FeatureNode
  | { op: 'scaleToZScore'; input: Expression; mean: AnalyzerNode; var: AnalyzerNode }
  | { op: 'scaleByMinMax'; input: Expression; min: AnalyzerNode; max: AnalyzerNode; outputMin: number; outputMax: number }
  | { op: 'log1p'; input: Expression }
  | { op: 'clip'; input: Expression; min?: number; max?: number }
  | { op: 'fillMissing'; input: Expression; with: FillWith; value?: AnalyzerNode }
  | { op: 'applyBuckets'; input: Expression; boundaries: number[] | AnalyzerNode }
  | { op: 'vocabularyIds'; input: Expression; vocabulary: AnalyzerNode; defaultValue: number; numOovBuckets: number }
  | { op: 'hashStrings'; input: Expression; numBuckets: number }
  | { op: 'cross'; inputs: [Expression, Expression]; numBuckets: number }
  | { op: 'datePart'; input: Expression; part: 'year' | 'month' | 'dayOfWeek' | 'hour' }
  | { op: 'bucketNames'; input: Expression; boundaries: number[]; names: string[] }
  | { op: 'labelIds'; input: Expression; classes?: string[] };

export const AnalyzerNodeSchema: z.ZodType<AnalyzerNode> = z.lazy(() =>
  z.discriminatedUnion('analyzer', [
    z.object({ analyzer: z.enum(['mean', 'var', 'min', 'max', 'median']), of: ExpressionSchema }).strict(),
    z.object({ analyzer: z.enum(['mode', 'classes']), of: ExpressionSchema }).strict(),
    z.object({ analyzer: z.literal('quantiles'), of: ExpressionSchema, numBuckets: numberOfBuckets.min(2) }).strict(),
    z
      .object({
        analyzer: z.literal('vocabulary'),
        of: ExpressionSchema,
        topK: z.number().int().min(1).optional(),
        frequencyThreshold: z.number().int().min(1).optional(),
      })
      .strict(),
  ]),
);

const FillWithSchema: z.ZodType<FillWith> = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('mean') }).strict(),
  z.object({ kind: z.literal('median') }).strict(),
  z.object({ kind: z.literal('mode') }).strict(),
  z.object({ kind: z.literal('constant'), value: z.union([z.number().finite(), z.string()]) }).strict(),
]);

const increasing = z
  .array(z.number().finite())
  .min(1)
  .refine((b) => b.every((x, i) => i === 0 || b[i - 1]! < x), 'boundaries must be strictly increasing');

export const ExpressionSchema: z.ZodType<Expression> = z.lazy(() =>
  z.discriminatedUnion('op', [
    FeatureNodeSchema,
    z.object({ op: z.literal('scaleToZScore'), input: ExpressionSchema, mean: AnalyzerNodeSchema, var: AnalyzerNodeSchema }).strict(),
    z
      .object({
        op: z.literal('scaleByMinMax'),
        input: ExpressionSchema,
        min: AnalyzerNodeSchema,
        max: AnalyzerNodeSchema,
        outputMin: z.number().finite(),
        outputMax: z.number().finite(),
      })
      .strict()
      .refine((e) => e.outputMin < e.outputMax, 'outputMin must be below outputMax'),
    z.object({ op: z.literal('log1p'), input: ExpressionSchema }).strict(),
    z
      .object({ op: z.literal('clip'), input: ExpressionSchema, min: z.number().finite().optional(), max: z.number().finite().optional() })
      .strict()
      .refine((e) => e.min === undefined || e.max === undefined || e.min <= e.max, 'clip min must not exceed max'),
    z.object({ op: z.literal('fillMissing'), input: ExpressionSchema, with: FillWithSchema, value: AnalyzerNodeSchema.optional() }).strict(),
    z.object({ op: z.literal('applyBuckets'), input: ExpressionSchema, boundaries: z.union([increasing, AnalyzerNodeSchema]) }).strict(),
    z
      .object({
        op: z.literal('vocabularyIds'),
        input: ExpressionSchema,
        vocabulary: AnalyzerNodeSchema,
        defaultValue: z.number().int(),
        numOovBuckets: z.number().int().min(0),
      })
      .strict(),
    z.object({ op: z.literal('hashStrings'), input: ExpressionSchema, numBuckets: numberOfBuckets }).strict(),
    z.object({ op: z.literal('cross'), inputs: z.tuple([ExpressionSchema, ExpressionSchema]), numBuckets: numberOfBuckets }).strict(),
    z.object({ op: z.literal('datePart'), input: ExpressionSchema, part: z.enum(['year', 'month', 'dayOfWeek', 'hour']) }).strict(),
    z
      .object({ op: z.literal('bucketNames'), input: ExpressionSchema, boundaries: increasing, names: z.array(z.string().min(1, "a bucket's name must not be '' (a missing string)")) })
      .strict()
      .refine((e) => e.names.length === e.boundaries.length + 1, 'bucketNames needs one name more than boundaries (a name per bucket)')
      .refine((e) => new Set(e.names).size === e.names.length, 'bucket names must be distinct'),
    z.object({ op: z.literal('labelIds'), input: ExpressionSchema, classes: z.array(z.string()).min(1).optional() }).strict(),
  ]),
);

/**
 * One model feature: its expression, its element type and its shape. A one-hot output's width is
 * vocabularySize + numOovBuckets, known only after analysis.
 */
export const OutputSchema = z
  .object({
    expression: ExpressionSchema,
    dtype: z.enum(['float32', 'int64', 'string']),
    shape: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('scalar') }).strict(),
      z.object({ kind: z.literal('oneHot') }).strict(),
    ]),
  })
  .strict();
export type Output = z.infer<typeof OutputSchema>;

/**
 * The whole transform: named outputs in the order the user wrote them (a list, not a map, so that a
 * name given twice reaches check.ts instead of silently keeping the last).
 */
export const TransformIrSchema = z
  .object({ version: z.literal(1), outputs: z.array(OutputSchema.extend({ name: z.string().min(1) })) })
  .strict();
export type TransformIr = z.infer<typeof TransformIrSchema>;

/** The expressions a node reads: its inputs and its analyzers' inputs. */
export function childrenOf(node: Expression | AnalyzerNode): Array<Expression | AnalyzerNode> {
  if ('analyzer' in node) return [node.of];
  switch (node.op) {
    case 'feature':
      return [];
    case 'scaleToZScore':
      return [node.input, node.mean, node.var];
    case 'scaleByMinMax':
      return [node.input, node.min, node.max];
    case 'fillMissing':
      return node.value === undefined ? [node.input] : [node.input, node.value];
    case 'applyBuckets':
      return Array.isArray(node.boundaries) ? [node.input] : [node.input, node.boundaries];
    case 'vocabularyIds':
      return [node.input, node.vocabulary];
    case 'cross':
      return node.inputs;
    case 'labelIds':
      return node.classes === undefined ? [node.input, labelClasses(node.input)] : [node.input];
    default:
      return [node.input];
  }
}

/** The analyzer a labelIds without given classes reads its classes from. */
export function labelClasses(input: Expression): AnalyzerNode {
  return { analyzer: 'classes', of: input };
}

/** The name of a node's operation, as an error message names it. */
export function opName(node: Expression | AnalyzerNode): string {
  return 'analyzer' in node ? node.analyzer : node.op;
}

/** Each feature an expression reads, with the op that reads it (the feature's parent). */
export function featureReads(node: Expression | AnalyzerNode, parent = 'output'): Array<{ feature: string; op: string }> {
  if (!('analyzer' in node) && node.op === 'feature') return [{ feature: node.name, op: parent }];
  return childrenOf(node).flatMap((child) => featureReads(child, opName(node)));
}
