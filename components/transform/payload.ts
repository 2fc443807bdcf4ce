import { z } from 'zod';
import { collectAnalyzers, type AnalyzerValues, AnalyzerValuesSchema } from './analyzers';
import { childrenOf, opName, type Expression, type TransformIr } from './expression';

/**
 * `analyzers.json` of a TransformGraph artifact: what each analyzer found over the analyzed split, for a
 * person to read (the mean of a feature, its vocabulary) and for the compiler, which looks values up
 * by `key`, the canonical JSON of the analyzer node in the IR.
 */
export const AnalyzersFileSchema = z
  .object({
    version: z.literal(1),
    /** The split the analyzers ran over, and its row count. */
    split: z.string(),
    rows: z.number().int().min(0),
    analyzers: z.array(
      z
        .object({
          analyzer: z.string(),
          /** The analyzer's input, e.g. `"Beak Length (mm)"` or `fillMissing(mean, "Flipper Length (mm)")`. */
          of: z.string(),
          /** The outputs whose graph uses the value. */
          usedBy: z.array(z.string()),
          value: AnalyzerValuesSchema.valueType,
          key: z.string(),
        })
        .strict(),
    ),
  })
  .strict();
export type AnalyzersFile = z.infer<typeof AnalyzersFileSchema>;

/** How analyzers.json names an analyzer's input: the feature, wrapped in the mappers applied to it. */
export function expressionText(node: Expression): string {
  if (node.op === 'feature') return JSON.stringify(node.name);
  const args = childrenOf(node)
    .filter((child): child is Expression => !('analyzer' in child))
    .map(expressionText);
  const detail = node.op === 'fillMissing' ? [node.with.kind === 'constant' ? JSON.stringify(node.with.value) : node.with.kind] : [];
  return `${opName(node)}(${[...detail, ...args].join(', ')})`;
}

export function analyzersFile(ir: TransformIr, values: AnalyzerValues, split: string, rows: number): AnalyzersFile {
  return {
    version: 1,
    split,
    rows,
    analyzers: collectAnalyzers(ir).map((use) => ({
      analyzer: use.node.analyzer,
      of: expressionText(use.node.of),
      usedBy: use.outputs,
      value: values[use.key]!,
      key: use.key,
    })),
  };
}

/** The compiler's lookup map back from a file (a TransformGraph another run wrote). */
export function analyzerValuesOf(file: AnalyzersFile): AnalyzerValues {
  return Object.fromEntries(file.analyzers.map((a) => [a.key, a.value]));
}
