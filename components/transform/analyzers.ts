import { z } from 'zod';
import { canonicalJson } from '../../artifacts/fingerprint';
import { UserInputError } from '../../dsl/executor';
import type { Column } from '../data/column-kinds';
import type { DuckDbSession, QueryProgress } from '../data/duckdb-session';
import { sqlIdentifier, sqlString } from '../data/sql';
import { compareCodePoints } from '../statistics-gen/sketches/value-order';
import { describeExpression } from './dsl';
import { childrenOf, opName, type AnalyzerNode, type Expression, type TransformIr } from './expression';

/**
 * The analyzers' values, keyed by the analyzer node's canonical JSON: written beside the transform
 * graph so a person can read what the mean of a feature was, and looked up by the same key when the
 * mappers are compiled.
 */
export const AnalyzerValuesSchema = z.record(
  z.string(),
  z.union([z.number(), z.string(), z.array(z.number()), z.array(z.string())]),
);
export type AnalyzerValues = z.infer<typeof AnalyzerValuesSchema>;

/** One distinct analyzer of an IR, with the first output that uses it (error messages name it) and all of them. */
export interface AnalyzerUse {
  key: string;
  node: AnalyzerNode;
  output: string;
  outputs: string[];
}

/** Every analyzer of the IR once, nested ones (inside another analyzer's input) included. */
export function collectAnalyzers(ir: TransformIr): AnalyzerUse[] {
  const found = new Map<string, AnalyzerUse>();
  const walk = (node: Expression | AnalyzerNode, output: string): void => {
    if ('analyzer' in node) {
      const key = canonicalJson(node);
      const use = found.get(key);
      if (!use) found.set(key, { key, node, output, outputs: [output] });
      else if (!use.outputs.includes(output)) use.outputs.push(output);
    }
    for (const child of childrenOf(node)) walk(child, output);
  };
  for (const output of ir.outputs) walk(output.expression, output.name);
  return [...found.values()];
}

type SqlKind = 'number' | 'string';

/**
 * Computes every analyzer of the IR over the Parquet files of one split. Analyzers whose input needs
 * no other analyzer share one scan; an analyzer over fillMissing(x, mean) waits for the mean, so each
 * level of such nesting costs one more scan.
 *
 * The session is set to one thread: DuckDB's parallel avg and var_pop add in the order its threads
 * finish, so the same split gave a variance differing in the last digits from run to run, a graph of
 * other bytes and downstream cache misses. One thread makes the values a function of the rows.
 */
export async function computeAnalyzers(
  session: DuckDbSession,
  ir: TransformIr,
  parquetFiles: string[],
  onProgress?: (progress: QueryProgress) => void,
): Promise<AnalyzerValues> {
  await session.query('SET threads = 1');
  const relation = `read_parquet([${parquetFiles.map(sqlString).join(', ')}])`;
  const columns = new Map((await session.columns(relation)).map((c) => [c.name, c]));
  const uses = collectAnalyzers(ir);
  const values: AnalyzerValues = {};
  const levels = new Map<number, AnalyzerUse[]>();
  for (const use of uses) {
    const level = levelOf(use.node);
    levels.set(level, [...(levels.get(level) ?? []), use]);
  }
  for (const level of [...levels.keys()].sort((a, b) => a - b)) {
    const aggregates = new Map<string, string>();
    const planned = levels.get(level)!.map((use) => {
      const input = sqlOf(use.node.of, { output: use.output, columns, values });
      const aggregate = aggregateOf(use.node, input);
      if (!aggregates.has(aggregate)) aggregates.set(aggregate, `a${aggregates.size}`);
      return { use, input, alias: aggregates.get(aggregate)! };
    });
    const select = [...aggregates].map(([aggregate, alias]) => `${aggregate} AS ${alias}`).join(', ');
    const reader = await session.query(`SELECT ${select} FROM ${relation}`, onProgress);
    const row = reader.getRowObjectsJson()[0]!;
    for (const { use, input, alias } of planned) values[use.key] = valueOf(use, input.kind, row[alias]);
  }
  return values;
}

/** 0 for an analyzer over plain mappers; one more than the deepest analyzer its input needs. */
function levelOf(node: Expression | AnalyzerNode): number {
  const below = Math.max(-1, ...childrenOf(node).map(levelOf));
  return 'analyzer' in node ? below + 1 : below;
}

interface SqlContext {
  output: string;
  columns: Map<string, Column>;
  values: AnalyzerValues;
}

/** The mappers an analyzer's input may hold, translated to SQL; any other op is refused by name. */
function sqlOf(node: Expression, ctx: SqlContext): { sql: string; kind: SqlKind } {
  switch (node.op) {
    case 'feature':
      return featureSql(node.name, ctx);
    case 'log1p': {
      const x = numericInput(node, ctx);
      // ONNX Log gives -inf at 0 and NaN below; DuckDB's ln raises instead, so spell those out.
      return { sql: `(CASE WHEN ${x} > -1 THEN ln(1 + ${x}) WHEN ${x} = -1 THEN '-inf'::DOUBLE WHEN ${x} < -1 THEN 'nan'::DOUBLE END)`, kind: 'number' };
    }
    case 'clip': {
      const x = numericInput(node, ctx);
      let clipped = x;
      if (node.min !== undefined) clipped = `greatest(${clipped}, ${numberSql(node.min)})`;
      if (node.max !== undefined) clipped = `least(${clipped}, ${numberSql(node.max)})`;
      // DuckDB's greatest/least skip NULL and order NaN above every number, so clip would turn a
      // missing value into a bound; keep it missing.
      return { sql: `(CASE WHEN ${x} IS NULL OR isnan(${x}) THEN ${x} ELSE ${clipped} END)`, kind: 'number' };
    }
    case 'fillMissing': {
      const input = sqlOf(node.input, ctx);
      const missing = input.kind === 'number' ? `${input.sql} IS NULL OR isnan(${input.sql})` : `${input.sql} IS NULL OR ${input.sql} = ''`;
      return { sql: `(CASE WHEN ${missing} THEN ${fillSql(node, input.kind, ctx)} ELSE ${input.sql} END)`, kind: input.kind };
    }
    case 'bucketNames': {
      const x = numericInput(node, ctx);
      const buckets = node.boundaries.map((b, i) => `WHEN ${x} < ${numberSql(b)} THEN ${sqlString(node.names[i]!)}`).join(' ');
      return { sql: `(CASE WHEN ${x} IS NULL OR isnan(${x}) THEN '' ${buckets} ELSE ${sqlString(node.names.at(-1)!)} END)`, kind: 'string' };
    }
    default:
      throw new UserInputError(
        `output "${ctx.output}": an analyzer reads ${node.op} of ${describeExpression(node)}; analyzers can read a feature or fillMissing, log1p, clip or bucketNames of one`,
      );
  }
}

function featureSql(name: string, ctx: SqlContext): { sql: string; kind: SqlKind } {
  const column = ctx.columns.get(name);
  if (!column) throw new UserInputError(`output "${ctx.output}": an analyzer reads feature "${name}", which the split's Parquet files lack`);
  if (column.kind === 'STRING') return { sql: `CAST(${sqlIdentifier(name)} AS VARCHAR)`, kind: 'string' };
  if (column.kind === 'INT' || column.kind === 'FLOAT' || column.kind === 'BOOL') return { sql: `CAST(${sqlIdentifier(name)} AS DOUBLE)`, kind: 'number' };
  throw new UserInputError(`output "${ctx.output}": an analyzer reads feature "${name}" of type ${column.physicalType}; analyzers read numbers and strings`);
}

function numericInput(node: Expression & { input: Expression }, ctx: SqlContext): string {
  const input = sqlOf(node.input, ctx);
  if (input.kind !== 'number') throw new UserInputError(`output "${ctx.output}": ${node.op} needs a number input, got ${describeExpression(node.input)} of kind string`);
  return input.sql;
}

function fillSql(node: Extract<Expression, { op: 'fillMissing' }>, kind: SqlKind, ctx: SqlContext): string {
  const fill = node.with.kind === 'constant' ? node.with.value : node.value && ctx.values[canonicalJson(node.value)];
  if (typeof fill === 'number' && kind === 'number') return numberSql(fill);
  if (typeof fill === 'string' && kind === 'string') return sqlString(fill);
  throw new UserInputError(`output "${ctx.output}": fillMissing with ${node.with.kind} has no ${kind} value to fill ${describeExpression(node.input)} with`);
}

function numberSql(value: number): string {
  return `CAST(${String(value)} AS DOUBLE)`;
}

/**
 * The SQL aggregate behind an analyzer; vocabulary, mode and classes share one histogram of their input.
 * '' is a missing string, as the graph reads it (signature.ts).
 */
function aggregateOf(node: AnalyzerNode, input: { sql: string; kind: SqlKind }): string {
  const present = input.kind === 'number' ? `isfinite(${input.sql})` : `${input.sql} <> ''`;
  const over = (fn: string, extra = '') => `${fn}(${input.sql}${extra}) FILTER (WHERE ${present})`;
  switch (node.analyzer) {
    case 'mean':
      return over('avg');
    case 'var':
      return over('var_pop');
    case 'min':
    case 'max':
    case 'median':
      return over(node.analyzer);
    case 'quantiles': {
      const fractions = Array.from({ length: node.numBuckets - 1 }, (_, i) => `${i + 1}/${node.numBuckets}`);
      return over('quantile_disc', `, [${fractions.join(', ')}]`);
    }
    case 'mode':
    case 'classes':
    case 'vocabulary':
      return over('histogram');
  }
}

const HistogramSchema = z.array(z.object({ key: z.union([z.string(), z.number()]), value: z.union([z.string(), z.number()]).transform(Number) }));

function valueOf(use: AnalyzerUse, kind: SqlKind, raw: unknown): AnalyzerValues[string] {
  const { node, output } = use;
  const empty = () => new UserInputError(`output "${output}": ${opName(node)} of ${describeExpression(node.of)} found no non-missing${kind === 'number' ? ' finite' : ''} values in the split`);
  if (raw === null || raw === undefined) throw empty();
  switch (node.analyzer) {
    case 'quantiles':
      return z
        .array(z.number())
        .parse(raw)
        .filter((b, i, all) => i === 0 || all[i - 1] !== b);
    case 'mode':
    case 'vocabulary': {
      const counted = vocabularyOrder(HistogramSchema.parse(raw));
      if (node.analyzer === 'mode') {
        if (counted.length === 0) throw empty();
        return counted[0]!.key;
      }
      const kept = counted.slice(0, node.topK ?? counted.length).filter((e) => e.value >= (node.frequencyThreshold ?? 1));
      return kind === 'number' ? kept.map((e) => Number(e.key)) : kept.map((e) => String(e.key));
    }
    case 'classes': {
      // Array.prototype.sort's default order is by UTF-16 code units, expression.ts's lexicographic order.
      const classes = HistogramSchema.parse(raw).map((e) => String(e.key)).sort();
      if (classes.length === 0) throw empty();
      return classes;
    }
    default:
      return z.number().parse(raw);
  }
}

/**
 * TFT's vocabulary order: decreasing count, ties to the greater value. TFT compares strings as UTF-8
 * bytes, which is code point order; JavaScript's < compares UTF-16 code units, which puts U+E000-FFFF
 * above astral characters.
 */
function vocabularyOrder<T extends { key: string | number; value: number }>(entries: T[]): T[] {
  const descending = (a: string | number, b: string | number): number =>
    typeof a === 'string' && typeof b === 'string' ? compareCodePoints(b, a) : a < b ? 1 : a > b ? -1 : 0;
  return [...entries].sort((a, b) => b.value - a.value || descending(a.key, b.key));
}
