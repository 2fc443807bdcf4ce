import type { Readable } from 'node:stream';
import { z } from 'zod';

/** Name of the manifest object written last at an artifact's URI: its presence is what "committed" means. */
export const MANIFEST_NAME = '_MLPIPE_MANIFEST.json';

export const ManifestFileSchema = z.object({
  /** Path relative to the artifact URI, '/'-separated. */
  path: z.string().min(1),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type ManifestFile = z.infer<typeof ManifestFileSchema>;

export const ManifestSchema = z.object({
  version: z.literal(1),
  uri: z.string(),
  /** sha256 over the sorted `path\0sha256\n` lines: the artifact's content identity. */
  contentHash: z.string().regex(/^[0-9a-f]{64}$/),
  files: z.array(ManifestFileSchema),
  committedAt: z.string(),
});
export type Manifest = z.infer<typeof ManifestSchema>;

export interface ObjectInfo {
  /** Key relative to the store root. */
  key: string;
  size: number;
  /**
   * The object's entity tag, where the store keeps one (`s3://`): it changes whenever the content
   * does, also at the same size, so it is what tells a rewritten object from the one before.
   */
  etag?: string;
}

/**
 * A staging area an executor writes an artifact into. `localDir` is a local directory the
 * executor fills with plain file I/O (DuckDB, ONNX, tfjs all want paths); `commit` publishes it.
 */
export interface StagingArea {
  readonly id: string;
  readonly localDir: string;
}

/**
 * One artifact store over a root URI (`file:///dir` or `s3://bucket/prefix`). Keys are relative to the
 * root and '/'-separated; URIs are absolute. Artifacts are directories of files published atomically:
 * readers only ever see artifacts whose manifest exists, and a manifest is written after every file.
 */
export interface ArtifactStore {
  readonly rootUri: string;

  uriFor(key: string): string;
  /** The key of a URI under this root; throws if the URI is elsewhere. */
  keyFor(uri: string): string;

  putObject(key: string, body: Readable | Buffer | string): Promise<void>;
  getObject(key: string): Promise<Readable>;
  getObjectBuffer(key: string): Promise<Buffer>;
  /** Null when absent. */
  statObject(key: string): Promise<ObjectInfo | null>;
  /** Every object under the prefix, recursively, in key order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Deletes every object under the prefix (or the single key). */
  deletePrefix(prefix: string): Promise<void>;

  /** A fresh, private staging area. Nothing in it is visible to readers. */
  createStaging(): Promise<StagingArea>;
  /**
   * Publishes the staging area at `uri`. Idempotent: if `uri` is already committed, the staging area
   * is discarded and the existing manifest is returned, so a retried commit never duplicates.
   */
  commit(staging: StagingArea, uri: string): Promise<Manifest>;
  /** Drops a staging area that will not be committed. */
  abort(staging: StagingArea): Promise<void>;
  /** The manifest of a committed artifact, or null if nothing is committed at `uri`. */
  readManifest(uri: string): Promise<Manifest | null>;
  /**
   * A local directory holding the committed artifact's files (the store's own directory for
   * `file://`, a download cache for `s3://`). Throws if the artifact is not committed.
   */
  materialize(uri: string): Promise<string>;
  /** Removes a committed artifact (manifest first, so it stops being visible at once). */
  deleteArtifact(uri: string): Promise<void>;
  close(): Promise<void>;
}
