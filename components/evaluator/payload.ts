import { z } from 'zod';

/**
 * The Evaluator's artifacts. ModelEvaluation (`evaluation`): `evaluation.json` (this schema) and
 * `evaluation.html`. ModelBlessing (`blessing`): `blessing.json`, the verdict with every check, and
 * TFX's marker file `BLESSED` or `NOT_BLESSED`.
 */
export const EVALUATION_FILE = 'evaluation.json';
export const EVALUATION_REPORT_FILE = 'evaluation.html';
export const BLESSING_FILE = 'blessing.json';

/** A metric's point estimate and, with the bootstrap on, its interval; null where it is undefined (e.g. AUC of a single-class slice). */
export const MetricValueSchema = z
  .object({ value: z.number().nullable(), lower: z.number().nullable().optional(), upper: z.number().nullable().optional() })
  .strict();
export type MetricValue = z.infer<typeof MetricValueSchema>;

/** A slice: overall (no keys), or one value of each feature named (a cross when several). */
export const SliceKeySchema = z.record(z.string(), z.union([z.string(), z.number(), z.null()]));
export type SliceKey = z.infer<typeof SliceKeySchema>;

const CurveSchema = z.object({ x: z.array(z.number()), y: z.array(z.number()) }).strict();

export const SliceResultSchema = z
  .object({
    slice: SliceKeySchema,
    examples: z.number().int().min(0),
    /** Sum of the example weights, when the examples carry a weight. */
    weight: z.number().optional(),
    /** Smaller than minSliceSize: reported, its metrics left out and never judged. */
    tooSmall: z.boolean(),
    metrics: z.record(z.string(), MetricValueSchema),
    /** Classification: counts, rows = true class, columns = predicted class, in class id order. */
    confusionMatrix: z.array(z.array(z.number())).optional(),
    /** Classification, overall slice: ROC (x = FPR, y = TPR) and PR (x = recall, y = precision), one-vs-rest per class for multi-class. */
    roc: z.record(z.string(), CurveSchema).optional(),
    pr: z.record(z.string(), CurveSchema).optional(),
    /** Calibration: per bin of predicted probability (of the positive class, or of the predicted class), mean prediction vs mean label. */
    calibration: z.array(z.object({ meanPrediction: z.number(), meanLabel: z.number(), examples: z.number() }).strict()).optional(),
  })
  .strict();
export type SliceResult = z.infer<typeof SliceResultSchema>;

export const ModelResultSchema = z
  .object({
    /** The ServingModel evaluated. */
    uri: z.string(),
    contentHash: z.string(),
    slices: z.array(SliceResultSchema),
  })
  .strict();
export type ModelResult = z.infer<typeof ModelResultSchema>;

export const CheckSchema = z
  .object({
    metric: z.string(),
    slice: SliceKeySchema,
    kind: z.enum(['value', 'change']),
    /** Value threshold: the inclusive bounds; change threshold: direction and slack. */
    threshold: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])),
    value: z.number().nullable(),
    baselineValue: z.number().nullable().optional(),
    /** The interval the check read: the metric's (value) or the paired difference's (change, significance on). */
    interval: z.object({ lower: z.number().nullable(), upper: z.number().nullable() }).strict().optional(),
    passed: z.boolean(),
    /**
     * Not judged, so it cannot block (`passed` stays true): a change threshold without a baseline, a
     * slice of an `eachSliceOf` threshold smaller than minSliceSize. The reason says which.
     */
    skipped: z.boolean().optional(),
    /** In words, for the report and the gate's reason: what was compared with what. */
    reason: z.string(),
  })
  .strict();
export type Check = z.infer<typeof CheckSchema>;

export const FeatureImportanceSchema = z
  .object({
    feature: z.string(),
    metric: z.string(),
    /** Mean drop of the metric when the feature's values are permuted, and its spread over repeats. */
    mean: z.number(),
    std: z.number(),
    repeats: z.number().int().min(1),
  })
  .strict();

export const EvaluationSchema = z
  .object({
    version: z.literal(1),
    task: z.enum(['classification', 'regression']),
    /** The raw label feature, and the classes in the serving signature's id order. */
    label: z.string(),
    classes: z.array(z.string()).optional(),
    split: z.string(),
    weightFeature: z.string().nullable(),
    /** How AUCs were computed: exactly, or over this many thresholds beyond `exactAucLimit` rows. */
    auc: z.object({ method: z.enum(['exact', 'binned']), thresholds: z.number().int().optional(), exactAucLimit: z.number().int() }).strict(),
    bootstrap: z.object({ method: z.literal('poisson'), resamples: z.number().int().min(2), seed: z.number().int(), confidence: z.number() }).strict().nullable(),
    candidate: ModelResultSchema,
    /** The latest blessed, pushed model of the pipeline whose content differs from the candidate's; none for a first model. */
    baseline: ModelResultSchema.nullable(),
    /** Per slice, per metric: candidate minus baseline, its paired bootstrap interval included. */
    differences: z.array(z.object({ slice: SliceKeySchema, metrics: z.record(z.string(), MetricValueSchema) }).strict()),
    checks: z.array(CheckSchema),
    blessed: z.boolean(),
    /** One line: `blessed`, `not blessed: <the failed checks>`, or `not blessed: no thresholds configured`. */
    verdict: z.string(),
    featureImportance: z.array(FeatureImportanceSchema),
  })
  .strict();
export type Evaluation = z.infer<typeof EvaluationSchema>;
