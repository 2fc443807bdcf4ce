import { z } from 'zod';
import { defineComponent } from '../../dsl/component';
import { TOP_SUMMARY_SIZE } from './partial-statistics';

export const StatisticsGenParametersSchema = z
  .object({
    /** How many most frequent values to list per feature (`topValues`). */
    topK: z.number().int().min(1).max(1000).default(10),
    /** How many values by rank to keep per feature (`rankHistogram`), as TFDV's `num_rank_histogram_buckets`. */
    rankHistogramSize: z.number().int().min(1).max(TOP_SUMMARY_SIZE).default(1000),
    /** Buckets of the STANDARD and QUANTILES histograms, as TFDV's `num_histogram_buckets`. */
    numHistogramBuckets: z.number().int().min(1).max(1000).default(10),
    /** Quantiles at 0, 1/n, ..., 1; a multiple of 10, so that the deciles are always among them. */
    numQuantiles: z
      .number()
      .int()
      .min(10)
      .max(1000)
      .refine((n) => n % 10 === 0, 'must be a multiple of 10')
      .default(10),
    /** A numeric feature whose values weigh each row (TFDV's `weight_feature`): weighted statistics beside the plain ones. */
    weightFeature: z.string().min(1).optional(),
    /** Features to slice by: statistics for each of their values (missing included) beside the overall ones. */
    slices: z.array(z.string().min(1)).default([]),
    /**
     * The label feature: with it, `usefulness.json` ranks every other feature by its mutual information
     * with the label, beside their correlations and flags (usefulness/). Computed here, from the rows,
     * because it needs each feature's joint distribution with the label, as TFDV's lift statistics do.
     */
    label: z.string().min(1).optional(),
    /** Splits to leave out, as TFX's `exclude_splits`. */
    excludeSplits: z.array(z.string()).default([]),
  })
  .strict();
export type StatisticsGenParameters = z.output<typeof StatisticsGenParametersSchema>;

/** Per split, per feature statistics of an Examples artifact, written as `statistics.json`. */
export const StatisticsGen = defineComponent({
  type: 'StatisticsGen',
  version: '2',
  description:
    "Computes per-split (and per-slice) statistics of every feature, TFDV's full set: counts, moments, quantiles, histograms, distinct and top values, exact and mergeable",
  parameters: StatisticsGenParametersSchema,
  inputs: { examples: { type: 'Examples' } },
  outputs: { statistics: 'ExampleStatistics' },
  defaultResource: 'cpu',
  executor: { module: require.resolve('./executor') },
});
