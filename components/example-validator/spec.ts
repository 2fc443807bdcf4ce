import { z } from 'zod';
import { defineComponent } from '../../dsl/component';
import { AnomalyKindSchema, SeveritySchema } from './anomaly-kinds';
import { resolvePreviousSpan } from './drift/previous-span';

export const ExampleValidatorParametersSchema = z
  .object({
    /**
     * The environment the data is in (`TRAINING`, `SERVING`, ...), as TFDV's: a feature the schema keeps
     * out of it (a label `notInEnvironment: ['SERVING']`) is not required there. Unset: every feature is
     * in.
     */
    environment: z.string().min(1).optional(),
    /** Severity per anomaly kind, over the defaults (anomaly-kinds.ts): ERROR stops the pipeline, WARNING does not. */
    severity: z.partialRecord(AnomalyKindSchema, SeveritySchema).default({}),
    /** The splits to validate; each must be in the statistics. Default: all of them. */
    splits: z.array(z.string().min(1)).min(1).optional(),
    /** Splits to leave out, as TFX's `exclude_splits`. */
    excludeSplits: z.array(z.string()).default([]),
    /**
     * Training-serving skew (drift/comparisons.ts): the `baseline` split of the statistics against each
     * `compare` split, by the schema's `skewComparator` thresholds. With a `skewStatistics` input (say,
     * serving logs through their own ExampleGen and StatisticsGen), `compare` names its splits (default:
     * all of them); without, the statistics' other validated splits (default: all of them).
     */
    skew: z
      .object({ baseline: z.string().min(1).default('train'), compare: z.array(z.string().min(1)).min(1).optional() })
      .strict()
      .optional(),
    /**
     * Drift: each validated split against the same split of the previous span's statistics, by the
     * schema's `driftComparator` thresholds and `numExamplesDriftComparator`. The previous span's
     * statistics are found in the metadata store (drift/previous-span.ts); the first span has none,
     * which anomalies.json notes.
     */
    drift: z.object({}).strict().optional(),
  })
  .strict();
export type ExampleValidatorParameters = z.output<typeof ExampleValidatorParametersSchema>;

/**
 * Statistics against a schema → `anomalies.json` (payload.ts). A gate: an ERROR anomaly publishes the
 * anomalies and then stops the pipeline before anything downstream runs.
 */
export const ExampleValidator = defineComponent({
  type: 'ExampleValidator',
  version: '1',
  description: "Checks each split's statistics against the schema (TFDV's anomaly kinds) and stops the pipeline on an ERROR anomaly",
  parameters: ExampleValidatorParametersSchema,
  inputs: { statistics: { type: 'ExampleStatistics' }, schema: { type: 'Schema' }, skewStatistics: { type: 'ExampleStatistics', optional: true } },
  outputs: { anomalies: 'ExampleAnomalies' },
  defaultResource: 'cpu',
  executor: { module: require.resolve('./executor') },
  resolve: resolvePreviousSpan,
});
