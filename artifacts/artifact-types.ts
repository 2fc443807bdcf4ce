import { z } from 'zod';

/**
 * An artifact type's name: `Examples`, `Model`, ... or any type a component declares for itself.
 * Types are open (a user's component can add one); the pipeline compiler checks that every input
 * receives the type it declares.
 */
export const ArtifactTypeSchema = z
  .string()
  .regex(/^[A-Z][A-Za-z0-9]{0,63}$/, 'artifact types are PascalCase names: a capital letter, then letters and digits (up to 64)');
export type ArtifactType = string;

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
