import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UserInputError, type Progress } from '../../../dsl/executor';
import { withDuckDb, type DuckDbSession } from '../../data/duckdb-session';
import { sqlString } from '../../data/sql';
import type { ExampleStatistics, FeatureStatistics, SplitStatistics } from '../payload';
import { binningOf, FEATURE_VALUE_BINS, LABEL_VALUE_BINS, planBins, QUANTILE_BINS, unbinnableReason } from './binning';
import { distinctWithMissing, FLAG_CONVENTIONS, featureFlags, isOneToOneCandidate, nearDuplicates } from './flags';
import { mutualInformation } from './mutual-information-sql';
import { pairStatistics } from './pair-statistics-sql';
import { USEFULNESS_FILE_NAME, UsefulnessSchema, type FeatureUsefulness, type SplitUsefulness, type Usefulness } from './payload';

const CONVENTIONS: Usefulness['conventions'] = {
  mutualInformation:
    'I(feature; label) in bits: the plug-in estimate from the counts of (feature bin, label class) over the rows where the label is present, unweighted, over the whole split (not per slice)',
  numericBinning:
    `INT features with more than ${FEATURE_VALUE_BINS} distinct values, FLOAT and TEMPORAL (in microseconds): up to ${QUANTILE_BINS} equal-frequency bins [low, high) ` +
    `cut at the statistics' deciles 0.1 … 0.9 (a repeated cut point merges its bins; ±Infinity falls in the first or last bin); NaN one bin, missing one bin`,
  valueBinning:
    `STRING and BOOL features, and INT features with at most ${FEATURE_VALUE_BINS} distinct values: one bin for each of the ${FEATURE_VALUE_BINS} most frequent values ` +
    `(the statistics' rank histogram, as far as it goes), every other value one "other" bin, missing one bin`,
  labelBinning:
    `as a feature's, but a STRING or BOOL label keeps up to ${LABEL_VALUE_BINS} values as classes; an INT label with more than ${FEATURE_VALUE_BINS} distinct values, ` +
    `a FLOAT or a TEMPORAL one is cut at its deciles, and a numeric label's Pearson correlations are in the correlation matrix; rows without a label are left out`,
  uncertaintyCoefficient:
    "I(feature; label) / H(label), Theil's U: the fraction of the label's entropy the feature explains, 0 to 1, comparable across splits and labels",
  chanceLevel:
    'the mutual information an unrelated feature shows on average with as many bins on as many rows: (B − 1)(C − 1) / (2 N ln 2) bits for B non-empty feature bins, ' +
    'C label classes and N labelled rows (2 N ln 2 · I is the G-test statistic, χ² with (B − 1)(C − 1) degrees of freedom under independence); a value near it says nothing',
  correlation:
    'Pearson r of every pair of single-valued INT and FLOAT features (the label too when numeric), each pair over the rows where both are present and finite (DuckDB corr)',
  flags: FLAG_CONVENTIONS,
};

export interface UsefulnessRequest {
  label: string;
  statistics: ExampleStatistics;
  /** Each split's rows, as StatisticsGen read them. */
  relations: ReadonlyArray<{ name: string; relationSql: string }>;
  tmpDir: string;
  /** DuckDB's memory limit, as for the statistics' own scan: beyond it the counts spill to `tmpDir`. */
  memoryLimit: string;
  signal: AbortSignal;
  progress: (p: Progress) => void;
}

/** Usefulness of every feature for predicting `label`, per split, written as `usefulness.json` into `outDir`. */
export async function writeUsefulness(outDir: string, request: UsefulnessRequest): Promise<Usefulness> {
  const usefulness = UsefulnessSchema.parse(await computeUsefulness(request));
  await writeFile(path.join(outDir, USEFULNESS_FILE_NAME), `${JSON.stringify(usefulness, null, 2)}\n`);
  return usefulness;
}

async function computeUsefulness(request: UsefulnessRequest): Promise<Usefulness> {
  const labels = request.statistics.splits.map((split) => labelOf(split, request.label));
  const splits = await withDuckDb({ tmpDir: request.tmpDir, signal: request.signal }, async (db) => {
    await db.query(`SET memory_limit = ${sqlString(request.memoryLimit)}`);
    const done: SplitUsefulness[] = [];
    for (const [i, split] of request.statistics.splits.entries()) {
      const relation = request.relations.find((r) => r.name === split.name);
      if (!relation) throw new Error(`usefulness: no rows given for split "${split.name}"`);
      done.push(await splitUsefulness(db, split, labels[i]!, relation.relationSql, request.progress));
    }
    return done;
  });
  return { version: 1, label: request.label, conventions: CONVENTIONS, splits };
}

function labelOf(split: SplitStatistics, label: string): FeatureStatistics {
  const feature = split.features.find((f) => f.name === label);
  if (!feature) {
    throw new UserInputError(`StatisticsGen's label "${label}" is not a feature of split "${split.name}" (its features: ${split.features.map((f) => f.name).join(', ')})`);
  }
  const unbinnable = unbinnableReason(feature);
  if (unbinnable) throw new UserInputError(`StatisticsGen's label "${label}" is ${unbinnable} in split "${split.name}": a label needs one comparable value per row`);
  return feature;
}

async function splitUsefulness(db: DuckDbSession, split: SplitStatistics, label: FeatureStatistics, relationSql: string, progress: (p: Progress) => void): Promise<SplitUsefulness> {
  const others = split.features.filter((f) => f.name !== label.name);
  const binnable = others.filter((f) => unbinnableReason(f) === null);
  const plans = binnable.map((f) => planBins(f, FEATURE_VALUE_BINS));
  const labelPlan = planBins(label, LABEL_VALUE_BINS);
  progress({ message: `usefulness of split ${split.name}: mutual information of ${binnable.length} features with ${label.name}` });
  const mi = await mutualInformation(db, { relationSql, label: label.name, labelCodeSql: labelPlan.codeSql, featureCodeSql: plans.map((p) => p.codeSql) });

  const numeric = split.features.filter((f) => f.valency === 'single' && (f.type === 'INT' || f.type === 'FLOAT')).map((f) => f.name);
  const candidates = split.features.filter(isOneToOneCandidate).map((f) => ({ name: f.name, distinct: distinctWithMissing(f) }));
  progress({ message: `usefulness of split ${split.name}: correlations of ${numeric.length} numeric features, one-to-one maps among ${candidates.length}` });
  const pairs = await pairStatistics(db, { relationSql, numeric, oneToOneCandidates: candidates });
  const duplicates = nearDuplicates(numeric, candidates.map((c) => c.name), pairs);

  const nonEmpty = (counts: ReadonlyMap<number, number>) => [...counts.values()].filter((n) => n > 0).length;
  const classes = nonEmpty(mi.labelCounts);
  const features = others.map((f): FeatureUsefulness => {
    const flags = featureFlags(f, split.numExamples, duplicates.get(f.name) ?? []);
    const unbinnable = unbinnableReason(f);
    if (unbinnable !== null) {
      const none = { rank: null, mutualInformation: null, uncertaintyCoefficient: null, entropy: null, chanceLevel: null, binning: null };
      return { name: f.name, type: f.type, ...none, notRanked: unbinnable, flags };
    }
    const i = binnable.indexOf(f);
    const info = mi.features[i]!;
    const bins = nonEmpty(info.binCounts);
    return {
      name: f.name,
      type: f.type,
      rank: null,
      mutualInformation: info.mutualInformation,
      uncertaintyCoefficient: mi.labelEntropy > 0 ? Math.min(1, info.mutualInformation / mi.labelEntropy) : null,
      entropy: info.entropy,
      chanceLevel: mi.labeled > 0 ? ((bins - 1) * (classes - 1)) / (2 * mi.labeled * Math.LN2) : null,
      binning: binningOf(plans[i]!, info.binCounts),
      flags,
    };
  });
  const ranked = features
    .filter((f) => f.mutualInformation !== null)
    .sort((a, b) => b.mutualInformation! - a.mutualInformation! || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((f, k) => ({ ...f, rank: k + 1 }));
  return {
    name: split.name,
    numExamples: split.numExamples,
    label: { name: label.name, type: label.type, labeled: mi.labeled, entropy: mi.labelEntropy, binning: binningOf(labelPlan, mi.labelCounts) },
    features: [...ranked, ...features.filter((f) => f.mutualInformation === null)],
    correlation: { features: numeric, pearson: pairs.pearson, rows: pairs.rows },
  };
}
