import { z } from 'zod';
import { describeIssues } from '../dsl/zod-issues';
import { compareKeys, contentHashOf } from './manifest';
import { ManifestFileSchema, type ManifestFile } from './store';

/**
 * Name of the manifest in a model version directory, `<model>/<version>/_MLPIPE_VERSION.json`.
 * Not the artifact manifest's name: an artifact is committed once and never changes (a retried commit
 * returns the manifest already there, and stores refuse to write that name any other way), whereas a
 * version directory is published again in place, its manifest first saying "publishing" and last
 * listing the files. Visible (no leading '.') so that a listing shows it next to the model.
 */
export const VERSION_MANIFEST_NAME = '_MLPIPE_VERSION.json';

const FORMAT = 'mlpipe.model-version.v1';

/**
 * A file of a version: a plain name directly in the version directory (what a model repository lists),
 * never hidden (a local repository skips hidden names) and never the manifest itself.
 */
export const VersionFileNameSchema = z
  .string()
  .regex(/^[^/\\.][^/\\]*$/, "a file name directly in the version directory: no '/' or '\\', not starting with '.'")
  .refine((name) => name !== VERSION_MANIFEST_NAME, `'${VERSION_MANIFEST_NAME}' is the version manifest's own name`);

const PublishingManifestSchema = z.object({
  format: z.literal(FORMAT),
  state: z.literal('publishing'),
  startedAt: z.string(),
});

const PublishedManifestSchema = z.object({
  format: z.literal(FORMAT),
  state: z.literal('published'),
  /** sha256 over the sorted `name\0sha256\n` lines, as an artifact's: equal files, equal hash. */
  contentHash: z.string().regex(/^[0-9a-f]{64}$/),
  files: z
    .array(ManifestFileSchema.extend({ path: VersionFileNameSchema }))
    .min(1)
    .refine((files) => new Set(files.map((f) => f.path)).size === files.length, 'each file is listed once'),
  publishedAt: z.string(),
});

export const VersionManifestSchema = z.discriminatedUnion('state', [PublishingManifestSchema, PublishedManifestSchema]);
export type VersionManifest = z.infer<typeof VersionManifestSchema>;
export type PublishedVersionManifest = z.infer<typeof PublishedManifestSchema>;

export function publishingManifest(startedAt = new Date()): VersionManifest {
  return { format: FORMAT, state: 'publishing', startedAt: startedAt.toISOString() };
}

export function publishedManifest(files: readonly ManifestFile[], publishedAt = new Date()): PublishedVersionManifest {
  return PublishedManifestSchema.parse({
    format: FORMAT,
    state: 'published',
    contentHash: contentHashOf(files),
    files: [...files].sort((a, b) => compareKeys(a.path, b.path)),
    publishedAt: publishedAt.toISOString(),
  });
}

export function serializeVersionManifest(manifest: VersionManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** Parses a version manifest; `where` (its key) names it in the error. */
export function parseVersionManifest(text: string, where: string): VersionManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`version manifest ${where} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = VersionManifestSchema.safeParse(json);
  if (!parsed.success) throw new Error(`version manifest ${where} is malformed: ${describeIssues(parsed.error, '(root)')}`);
  if (parsed.data.state === 'published' && parsed.data.contentHash !== contentHashOf(parsed.data.files)) {
    throw new Error(`version manifest ${where} is malformed: its contentHash is not the hash of the files it lists`);
  }
  return parsed.data;
}

/**
 * The first way a version directory's files (name -> size) fall short of its published manifest, or
 * undefined when every listed file is there with its size. `dir` (`<model>/<version>`) names the files.
 */
export function findSizeMismatch(manifest: PublishedVersionManifest, sizes: ReadonlyMap<string, number>, dir: string): string | undefined {
  for (const file of manifest.files) {
    const size = sizes.get(file.path);
    const listed = `version manifest ${dir}/${VERSION_MANIFEST_NAME} lists ${file.path} with ${file.size} bytes`;
    if (size === undefined) return `${listed}, but ${dir}/${file.path} does not exist`;
    if (size !== file.size) return `${listed}, but ${dir}/${file.path} has ${size} bytes`;
  }
  return undefined;
}
