import { access } from 'node:fs/promises';
import path from 'node:path';
import { UserInputError, type ExecutorContext } from '../../../dsl/executor';
import { readJsonPayload } from '../../data/json-payload';
import { localInputFiles } from '../../example-gen/s3-input';
import { PARTIAL_STATISTICS_FILE_NAME, PartialStatisticsSchema, type PartialStatistics } from '../../statistics-gen/partial-statistics';
import { ExampleStatisticsSchema, STATISTICS_FILE_NAME, type ExampleStatistics } from '../../statistics-gen/payload';
import type { SchemaPayload } from '../../schema-gen/payload';
import { ANOMALY_KINDS, type AnomalyKind, type Severity } from '../anomaly-kinds';
import type { Anomaly, ComparedData, DatasetComparison, FeatureComparison } from '../payload';
import type { ExampleValidator } from '../spec';
import { compareDatasets, type ComparisonFinding, type DatasetSide } from './comparisons';
import { PREVIOUS_SPAN_KEY } from './previous-span';

/** An ExampleStatistics artifact as the comparisons read it. */
interface StatisticsInput {
  statistics: ExampleStatistics;
  partial: PartialStatistics | undefined;
  span: number | undefined;
  uri: string;
}

export interface ComparisonsResult {
  comparisons: FeatureComparison[];
  datasetComparisons: DatasetComparison[];
  /** Per split of the validated statistics: the anomalies it gets. */
  findings: Map<string, ComparisonFinding[]>;
  notes: string[];
}

/**
 * partial_statistics.json when the artifact has one (StatisticsGen writes it beside statistics.json):
 * its exact value counts make KS, Wasserstein, PSI and chi-square exact, and beyond the exact-count cap
 * its DDSketch bins (or coarsened instants) stand in for the 10-bucket histograms of statistics.json.
 */
async function readStatisticsDir(dir: string, what: string): Promise<{ statistics: ExampleStatistics; partial: PartialStatistics | undefined }> {
  const statistics = await readJsonPayload(path.join(dir, STATISTICS_FILE_NAME), ExampleStatisticsSchema, what);
  const partialFile = path.join(dir, PARTIAL_STATISTICS_FILE_NAME);
  const hasPartial = await access(partialFile).then(
    () => true,
    () => false,
  );
  return { statistics, partial: hasPartial ? await readJsonPayload(partialFile, PartialStatisticsSchema, what) : undefined };
}

function side(input: StatisticsInput, split: string, data: ComparedData): DatasetSide {
  const stats = input.statistics.splits.find((s) => s.name === split)!;
  return { data, split: stats, partial: input.partial?.splits.find((s) => s.name === split) };
}

function spanOf(properties: Record<string, unknown>): number | undefined {
  return typeof properties.span === 'number' ? properties.span : undefined;
}

async function previousSpan(ctx: ExecutorContext<typeof ExampleValidator.spec>): Promise<StatisticsInput | undefined> {
  const set = ctx.resolved.files[PREVIOUS_SPAN_KEY];
  const artifact = ctx.resolved.artifacts[PREVIOUS_SPAN_KEY]?.[0];
  if (!set || !artifact) return undefined;
  const local = await localInputFiles(set, { sources: ctx.s3Sources, dir: ctx.tmpDir, signal: ctx.signal, progress: ctx.progress });
  const read = await readStatisticsDir(local.root, `ExampleValidator previous span statistics ${artifact.uri}`);
  return { ...read, span: spanOf(artifact.properties), uri: artifact.uri };
}

function splitsOf(input: StatisticsInput): string[] {
  return input.statistics.splits.map((s) => s.name);
}

function requireSplits(names: string[], input: StatisticsInput, what: string): void {
  const unknown = names.filter((n) => !splitsOf(input).includes(n));
  const which = input.uri === '' ? 'statistics' : `statistics ${input.uri}`;
  if (unknown.length > 0) throw new UserInputError(`ExampleValidator ${what}: the ${which} have no split ${unknown.map((n) => `"${n}"`).join(', ')} (they have ${splitsOf(input).join(', ')})`);
}

/** The anomalies of a split's comparisons, at the severities of this validation. */
export function comparisonAnomalies(findings: ComparisonFinding[], split: string, levels: Record<AnomalyKind, Severity>): Anomaly[] {
  return findings.map((f) => ({ kind: f.kind, severity: levels[f.kind], feature: f.feature, split, short: ANOMALY_KINDS[f.kind].short, description: f.description, comparedWith: f.comparedWith }));
}

/**
 * Skew and drift as the parameters ask (spec.ts): the comparisons, and the anomalies each split of the
 * validated statistics gets (skew between two of its splits: the compared one; skew against
 * skewStatistics: the baseline split; drift: the split of this span).
 */
export async function runComparisons(
  ctx: ExecutorContext<typeof ExampleValidator.spec>,
  schema: SchemaPayload,
  statisticsDir: string,
  current: { statistics: ExampleStatistics; span: number | undefined },
  validated: string[],
): Promise<ComparisonsResult> {
  const { skew, drift } = ctx.parameters;
  const out: ComparisonsResult = { comparisons: [], datasetComparisons: [], findings: new Map(), notes: [] };
  if (!skew && !drift) return out;
  const partial = (await readStatisticsDir(statisticsDir, 'ExampleValidator statistics')).partial;
  const own: StatisticsInput = { statistics: current.statistics, partial, span: current.span, uri: '' };
  const record = (split: string, outcome: ReturnType<typeof compareDatasets>) => {
    out.comparisons.push(...outcome.comparisons);
    if (outcome.dataset) out.datasetComparisons.push(outcome.dataset);
    out.findings.set(split, [...(out.findings.get(split) ?? []), ...outcome.findings]);
  };
  const here = (split: string): ComparedData => ({ statistics: 'statistics', split, ...(current.span !== undefined ? { span: current.span } : {}) });

  if (skew) {
    requireSplits([skew.baseline], own, 'skew.baseline');
    const baseline = side(own, skew.baseline, here(skew.baseline));
    const [other] = ctx.inputs.skewStatistics;
    if (other) {
      const read = await readStatisticsDir(other.localDir, 'ExampleValidator skewStatistics');
      const input: StatisticsInput = { ...read, span: spanOf(other.ref.properties), uri: other.ref.uri };
      const compare = skew.compare ?? splitsOf(input);
      requireSplits(compare, input, 'skew.compare');
      for (const split of compare) {
        const data: ComparedData = { statistics: 'skewStatistics', split, uri: input.uri, ...(input.span !== undefined ? { span: input.span } : {}) };
        record(skew.baseline, compareDatasets(schema, 'skew', baseline, side(input, split, data)));
      }
    } else {
      const compare = skew.compare ?? validated.filter((n) => n !== skew.baseline);
      requireSplits(compare, own, 'skew.compare');
      if (compare.length === 0) out.notes.push(`skew: no split besides ${skew.baseline} to compare (name them in skew.compare, or wire skewStatistics)`);
      for (const split of compare) record(split, compareDatasets(schema, 'skew', baseline, side(own, split, here(split))));
    }
  }

  if (drift) {
    const previous = await previousSpan(ctx);
    if (!previous) {
      out.notes.push(`drift: no earlier span of this pipeline has statistics${current.span !== undefined ? ` (this is span ${current.span})` : ''}; nothing to compare with`);
    } else {
      for (const split of validated) {
        if (!splitsOf(previous).includes(split)) {
          out.notes.push(`drift: the previous span's statistics (${previous.uri}) have no split ${split}`);
          continue;
        }
        const data: ComparedData = { statistics: 'previousSpan', split, uri: previous.uri, ...(previous.span !== undefined ? { span: previous.span } : {}) };
        record(split, compareDatasets(schema, 'drift', side(previous, split, data), side(own, split, here(split))));
      }
    }
  }
  return out;
}
