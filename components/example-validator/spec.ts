import { z } from 'zod';
import { defineComponent } from '../../dsl/component';
import { AnomalyKindSchema, SeveritySchema } from './anomaly-kinds';

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
  inputs: { statistics: { type: 'ExampleStatistics' }, schema: { type: 'Schema' } },
  outputs: { anomalies: 'ExampleAnomalies' },
  defaultResource: 'cpu',
  executor: { module: require.resolve('./executor') },
});
