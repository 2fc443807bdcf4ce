import { z } from 'zod';
import { defineComponent } from '../../dsl/component';
import { resolveBaseline } from './baseline';
import { BootstrapOptionsSchema, DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES } from './bootstrap';
import { DEFAULT_EXACT_AUC_LIMIT } from './metrics/score-groups';
import { MinSliceSizeSchema, SliceSpecSchema } from './slices';
import { checkThresholdSlices, ThresholdsSchema } from './thresholds';

export const FeatureImportanceOptionsSchema = z
  .object({
    /** Times each raw feature is permuted; the spread over them is reported. */
    repeats: z.number().int().min(1).max(100).default(3),
    /** The first rows of the split with a label that importance is measured on (a sample keeps it cheap on millions of rows). */
    maxRows: z.number().int().min(10).default(10_000),
    seed: z.number().int().min(0).max(2 ** 32 - 1).default(0),
  })
  .strict();

export const EvaluatorParametersSchema = z
  .object({
    /**
     * The raw label feature (e.g. `Species`: class names for a classifier, numbers for a regressor), or a
     * labelIds output of the transform (e.g. `delayed`, bucketed from a delay) with `transformGraph`
     * wired: the labels are then computed by the transform graph itself, as the Trainer saw them.
     */
    label: z.string().min(1),
    split: z.string().min(1).default('eval'),
    /** Features, or crosses of features (`['Island', 'Sex']`), each of whose values is a slice beside overall. */
    slices: z.array(SliceSpecSchema).default([]),
    minSliceSize: MinSliceSizeSchema,
    /** TFMA's value and change thresholds; without any, the model is not blessed (as TFX). */
    thresholds: ThresholdsSchema,
    /** Confidence intervals by Poisson bootstrap (TFMA's), or `false` for point estimates only. */
    bootstrap: z.union([z.literal(false), BootstrapOptionsSchema]).default({ resamples: DEFAULT_RESAMPLES, seed: 0, confidence: DEFAULT_CONFIDENCE }),
    /** A numeric feature holding each example's weight: every metric is then weighted. */
    weightFeature: z.string().min(1).optional(),
    /** AUCs are exact up to this many rows, binned over 10,000 thresholds beyond (TFMA's way). */
    exactAucLimit: z.number().int().min(1).default(DEFAULT_EXACT_AUC_LIMIT),
    featureImportance: z.union([z.literal(false), FeatureImportanceOptionsSchema]).default({ repeats: 3, maxRows: 10_000, seed: 0 }),
    /** Compare with the newest blessed model of the pipeline (resolved in the control step); `false` judges value thresholds only. */
    baseline: z.boolean().default(true),
  })
  .strict()
  .superRefine((p, ctx) => {
    try {
      checkThresholdSlices(p.thresholds, p.slices);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['thresholds'], message: (err as Error).message });
    }
  });
export type EvaluatorParameters = z.output<typeof EvaluatorParametersSchema>;

/**
 * Evaluator: the candidate ServingModel (raw features in) over the eval split, and the baseline's when
 * one is found, metrics overall and per slice with bootstrap intervals, thresholds judged as TFMA does;
 * writes ModelEvaluation (evaluation.json, evaluation.html) and ModelBlessing, and stops the pipeline
 * (the engine's gate) when the model is not blessed.
 */
export const Evaluator = defineComponent({
  type: 'Evaluator',
  version: '1',
  description: 'Evaluates the model per slice with confidence intervals against the blessed baseline, and blesses it or stops the pipeline',
  parameters: EvaluatorParametersSchema,
  inputs: { examples: { type: 'Examples' }, model: { type: 'ServingModel' }, transformGraph: { type: 'TransformGraph', optional: true } },
  outputs: { evaluation: 'ModelEvaluation', blessing: 'ModelBlessing' },
  defaultResource: 'cpu',
  executor: { module: require.resolve('./executor') },
  resolve: resolveBaseline,
});
