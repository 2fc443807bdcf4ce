import { z } from 'zod';
import { defineComponent } from '../../dsl/component';

export const StatisticsGenParametersSchema = z
  .object({
    /** How many most frequent values to keep per string or boolean feature. */
    topK: z.number().int().min(1).max(1000).default(10),
    /** Splits to leave out, as TFX's `exclude_splits`. */
    excludeSplits: z.array(z.string()).default([]),
  })
  .strict();
export type StatisticsGenParameters = z.output<typeof StatisticsGenParametersSchema>;

/** Per split, per feature statistics of an Examples artifact, written as `statistics.json`. */
export const StatisticsGen = defineComponent({
  type: 'StatisticsGen',
  version: '1',
  description: 'Computes per-split, per-feature statistics (counts, missing, min/max/mean/std, distinct, top values)',
  parameters: StatisticsGenParametersSchema,
  inputs: { examples: { type: 'Examples' } },
  outputs: { statistics: 'ExampleStatistics' },
  defaultResource: 'cpu',
  executor: { module: require.resolve('./executor') },
});
