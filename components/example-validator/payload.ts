import { z } from 'zod';
import { AnomalyKindSchema, SeveritySchema } from './anomaly-kinds';

/**
 * The content of an ExampleAnomalies artifact: `anomalies.json`, what ExampleValidator found in each
 * split's statistics against the schema. Reports and the run summary read it.
 */
export const ANOMALIES_FILE_NAME = 'anomalies.json';

export const AnomalySchema = z
  .object({
    kind: AnomalyKindSchema,
    severity: SeveritySchema,
    /** The feature (column) it is about; null for the dataset as a whole (DATASET_* kinds). */
    feature: z.string().nullable(),
    split: z.string(),
    /** A few words: TFDV's short description, e.g. `Unexpected string values`. */
    short: z.string(),
    /** What was found, with the figures and what the schema expects, e.g. `Island: 12% of values (...) are 'Torgersen2', not in the domain [...]`. */
    description: z.string(),
  })
  .strict();
export type Anomaly = z.infer<typeof AnomalySchema>;

export const SplitAnomaliesSchema = z
  .object({
    name: z.string(),
    numExamples: z.number().int().nonnegative(),
    /** In schema order, then new columns in the data's order, dataset-level ones last. */
    anomalies: z.array(AnomalySchema),
  })
  .strict();
export type SplitAnomalies = z.infer<typeof SplitAnomaliesSchema>;

export const ExampleAnomaliesSchema = z
  .object({
    version: z.literal(1),
    /** The environment the data was validated in (`TRAINING`, `SERVING`, ...), when one was given. */
    environment: z.string().optional(),
    /** The severity each kind had in this validation (defaults and overrides). */
    severities: z.record(AnomalyKindSchema, SeveritySchema),
    splits: z.array(SplitAnomaliesSchema),
  })
  .strict();
export type ExampleAnomalies = z.infer<typeof ExampleAnomaliesSchema>;
