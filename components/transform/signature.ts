import { z } from 'zod';

/**
 * The signature of a compiled transform graph, written as `signature.json` beside `transform.onnx`:
 * what a caller feeds and what it gets back. Every tensor's first dimension is the batch (-1 here,
 * the symbolic dim `batch` in the graph).
 *
 * Inputs are the raw features, one 1-D tensor each, named as the feature:
 * - a number feature (INT, FLOAT, BOOL) as `float32`, NaN for a missing value (int64 cannot hold NaN);
 * - a string feature as `string` (BYTES on the wire), '' for a missing value;
 * - a timestamp feature (TEMPORAL) as `int64` microseconds since 1970-01-01T00:00:00Z, MISSING_INSTANT
 *   for a missing value.
 * Outputs are the model features, named as the transform's outputs: `[-1]` for a scalar, `[-1, width]`
 * for a one-hot vector.
 */

export const GraphDtypeSchema = z.enum(['float32', 'int64', 'string']);
export type GraphDtype = z.infer<typeof GraphDtypeSchema>;

/** The int64 a missing timestamp is fed as (INT64's minimum, no real instant); date parts of it are -1. */
export const MISSING_INSTANT = -(2n ** 63n);

export const TensorSpecSchema = z
  .object({
    name: z.string().min(1),
    dtype: GraphDtypeSchema,
    /** -1 for the batch dimension. */
    shape: z.array(z.number().int().min(-1)).min(1),
  })
  .strict();
export type TensorSpec = z.infer<typeof TensorSpecSchema>;

export const GraphSignatureSchema = z
  .object({ inputs: z.array(TensorSpecSchema), outputs: z.array(TensorSpecSchema) })
  .strict();
export type GraphSignature = z.infer<typeof GraphSignatureSchema>;

/** A labelIds output's classes, in id order: how a predicted id turns back into a name. */
export const LabelMappingSchema = z
  .object({ output: z.string().min(1), feature: z.string().min(1), classes: z.array(z.string()).min(1) })
  .strict();
export type LabelMapping = z.infer<typeof LabelMappingSchema>;

export const TransformSignatureSchema = z
  .object({
    version: z.literal(1),
    /** `transform.onnx`: every output, labels included; materialises the training data. */
    training: GraphSignatureSchema,
    /** `transform_serving.onnx`: the same graph without the label outputs and the features only they read. */
    serving: GraphSignatureSchema,
    labels: z.array(LabelMappingSchema),
  })
  .strict();
export type TransformSignature = z.infer<typeof TransformSignatureSchema>;

export const TRANSFORM_GRAPH_FILE = 'transform.onnx';
export const SERVING_GRAPH_FILE = 'transform_serving.onnx';
export const SIGNATURE_FILE = 'signature.json';
export const ANALYZERS_FILE = 'analyzers.json';
