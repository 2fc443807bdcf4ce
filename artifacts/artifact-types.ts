import { z } from 'zod';

/** The artifact types that flow between components (see docs/architecture in README). */
export const ARTIFACT_TYPES = [
  'Examples',
  'ExampleStatistics',
  'Schema',
  'ExampleAnomalies',
  'TransformGraph',
  'TransformedExamples',
  'Model',
  'ServingModel',
  'ModelEvaluation',
  'ModelBlessing',
  'PushedModel',
] as const;
export const ArtifactTypeSchema = z.enum(ARTIFACT_TYPES);
export type ArtifactType = z.infer<typeof ArtifactTypeSchema>;

export const PropertyValueSchema = z.union([z.string(), z.number(), z.boolean()]);
export type PropertyValue = z.infer<typeof PropertyValueSchema>;

/** What travels through Temporal for an artifact: a reference and small properties, never data. */
export const ArtifactRefSchema = z.object({
  /** Metadata-store id, once published. */
  id: z.number().int().positive().optional(),
  type: ArtifactTypeSchema,
  uri: z.string(),
  contentHash: z.string().regex(/^[0-9a-f]{64}$/),
  properties: z.record(z.string(), PropertyValueSchema).default({}),
});
export type ArtifactRef = z.infer<typeof ArtifactRefSchema>;
