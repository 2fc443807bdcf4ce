import { z } from 'zod';
import { ArtifactRefSchema, type ArtifactRef } from '../artifacts/artifact-types';
import type { ArtifactQueries } from '../artifacts/metadata/metadata-store';

/** One file a location named, as the cache key and the executor see it. */
export const ResolvedFileSchema = z
  .object({
    /** Path relative to the set's root, '/'-separated. */
    path: z.string().min(1),
    size: z.number().int().nonnegative(),
    /** `sha256:<hex>` of a local file's bytes, or `etag:<etag>` of an S3 object. */
    contentHash: z.string().regex(/^(sha256:[0-9a-f]{64}|etag:\S+)$/),
    /** A local file's ctime (ms) when it was hashed: the executor checks it still holds what was hashed. */
    changedAt: z.number().optional(),
  })
  .strict();
export type ResolvedFile = z.infer<typeof ResolvedFileSchema>;

/** What a location (a path, a glob, a file:// or s3:// URI) named when the node was prepared. */
export const ResolvedFileSetSchema = z
  .object({
    /** The location as the parameter gave it. */
    location: z.string(),
    /** Where the files lie: an absolute directory, or `s3://bucket/prefix/`; each file is root + path. */
    root: z.string(),
    /** In path order. */
    files: z.array(ResolvedFileSchema),
    /**
     * When the location is a span pattern (`{SPAN}`, `{VERSION}`, a date): the spans its files belong
     * to, oldest first, each with the version read. Implied by the files' paths, so the cache key needs
     * no more than those.
     */
    spans: z.array(z.object({ span: z.number().int().nonnegative(), version: z.number().int().nonnegative() }).strict()).optional(),
    /**
     * The named S3 source an s3:// set was listed with (absent: the artifact store's keys): the executor
     * is given the keys of the sources its sets name, and no others.
     */
    s3Source: z.string().min(1).optional(),
  })
  .strict();
export type ResolvedFileSet = z.infer<typeof ResolvedFileSetSchema>;

/**
 * What a component's resolve step found: file sets and artifacts, by a name of the component's
 * choosing. All of it enters the cache key (files by path and content, never by where they lie),
 * is recorded with the execution (artifacts as its inputs), and reaches the executor as `ctx.resolved`.
 */
export const ResolvedInputsSchema = z
  .object({
    files: z.record(z.string(), ResolvedFileSetSchema).default({}),
    artifacts: z.record(z.string(), z.array(ArtifactRefSchema)).default({}),
  })
  .strict();
export type ResolvedInputs = z.output<typeof ResolvedInputsSchema>;

export const NOTHING_RESOLVED: ResolvedInputs = { files: {}, artifacts: {} };

export interface ListFilesOptions {
  /**
   * Narrows what the location names before anything is hashed or counted against the per-location
   * limit (e.g. to one span of many): gets each file's full path or s3:// URI, in path order, and
   * returns those to keep.
   */
  select?(files: string[]): string[];
  /**
   * The S3 source an s3:// location is read with: the name of an endpoint and credential set in the
   * workers' configuration (`s3Sources`); the artifact store's when left out. A name, never a secret:
   * it travels in the IR and the cache key.
   */
  s3Source?: string;
}

/** What a resolve step may use: the node, its parsed parameters and inputs, file listing and the metadata store. */
export interface ResolveContext<P> {
  pipeline: string;
  nodeId: string;
  parameters: P;
  inputs: Record<string, ArtifactRef[]>;
  /**
   * The files a location names: a local path or glob (absolute), a `file://` URI, or an `s3://` URI
   * (a key, or a prefix ending in `/`), with their content hashes. Throws a `UserInputError` naming
   * the location when it names nothing or cannot be read.
   */
  listFiles(location: string, options?: ListFilesOptions): Promise<ResolvedFileSet>;
  /** Read access to the metadata store (e.g. the latest blessed model of the pipeline). */
  metadata: ArtifactQueries;
}
