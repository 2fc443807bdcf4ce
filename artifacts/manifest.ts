import { createHash, randomUUID, type Hash } from 'node:crypto';
import { lstat, mkdir, open, readdir } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { MANIFEST_NAME, ManifestSchema, type Manifest, type ManifestFile, type StagingArea } from './store';
import { describeIssues } from '../dsl/zod-issues';

/**
 * Helpers shared by both artifact store backends: key rules, key order, content hashing and the
 * manifest that marks an artifact committed.
 */

/** Top-level key segment reserved for staging areas and in-flight temporaries; never listed. */
export const STAGING_SEGMENT = '.staging';

/** A key, prefix or URI that the store refuses: the message names it and says what was expected. */
export class InvalidArtifactLocationError extends Error {
  override name = 'InvalidArtifactLocationError';
}

/** A read of an object or artifact that does not exist (or is not committed). */
export class ArtifactNotFoundError extends Error {
  override name = 'ArtifactNotFoundError';
}

/** Keys sort by their UTF-8 bytes, the order S3 lists in, so both backends agree. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

const MAX_KEY_BYTES = 1024;

/**
 * Validates a '/'-separated key relative to a store root and returns it without a trailing '/'.
 * `''` means the root itself and is only accepted where `allowRoot` says so.
 */
export function normalizeKey(key: string, what: string, options: { allowRoot?: boolean } = {}): string {
  const trimmed = key.endsWith('/') ? key.slice(0, -1) : key;
  const fail = (expected: string): never => {
    throw new InvalidArtifactLocationError(`${what} '${key}': expected ${expected}`);
  };
  if (trimmed === '') {
    if (options.allowRoot) return '';
    fail('a non-empty key');
  }
  if (trimmed.startsWith('/')) fail("a relative key (no leading '/')");
  if (trimmed.includes('\0')) fail('no NUL characters');
  if (Buffer.byteLength(trimmed, 'utf8') > MAX_KEY_BYTES) fail(`at most ${MAX_KEY_BYTES} bytes`);
  const segments = trimmed.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) {
    fail("'/'-separated names without empty, '.' or '..' segments");
  }
  if (segments[0] === STAGING_SEGMENT) fail(`a key outside the reserved '${STAGING_SEGMENT}/' area`);
  return trimmed;
}

/** A key an object may be written at: valid, and not a manifest (only a commit writes those). */
export function normalizeObjectKey(key: string, what: string): string {
  if (key.endsWith('/')) throw new InvalidArtifactLocationError(`${what} '${key}': expected no trailing '/'`);
  const normalized = normalizeKey(key, what);
  if (normalized.split('/').pop() === MANIFEST_NAME) {
    throw new InvalidArtifactLocationError(
      `${what} '${key}': '${MANIFEST_NAME}' is reserved for the manifest a commit writes`,
    );
  }
  return normalized;
}

/** Every proper ancestor of a key, nearest last: 'a/b/c' -> ['a', 'a/b']. */
export function ancestorKeys(key: string): string[] {
  const segments = key.split('/');
  return segments.slice(1).map((_, i) => segments.slice(0, i + 1).join('/'));
}

/** sha256 over the sorted `path\0sha256\n` lines: equal file sets give equal hashes, names included. */
export function contentHashOf(files: readonly ManifestFile[]): string {
  const hash = createHash('sha256');
  for (const file of [...files].sort((a, b) => compareKeys(a.path, b.path))) {
    hash.update(`${file.path}\0${file.sha256}\n`);
  }
  return hash.digest('hex');
}

export function buildManifest(uri: string, files: readonly ManifestFile[], committedAt = new Date()): Manifest {
  const sorted = [...files].sort((a, b) => compareKeys(a.path, b.path));
  return ManifestSchema.parse({
    version: 1,
    uri,
    contentHash: contentHashOf(sorted),
    files: sorted,
    committedAt: committedAt.toISOString(),
  });
}

export function serializeManifest(manifest: Manifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** Parses a stored manifest; `where` names its location in the error. */
export function parseManifest(text: string, where: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`manifest ${where} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issues = describeIssues(parsed.error, '(root)');
    throw new Error(`manifest ${where} is malformed: ${issues}`);
  }
  return parsed.data;
}

/** A pass-through stream that counts and hashes what flows through it. */
export class DigestStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  size = 0;
  private digestHex: string | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.digestHex = this.hash.digest('hex');
    callback();
  }

  /** The hex sha256 of everything that passed; only valid once the stream has finished. */
  get sha256(): string {
    if (this.digestHex === undefined) throw new Error('DigestStream read before it finished');
    return this.digestHex;
  }
}

/** Streams a local file through sha256; with `fsync` its data is also flushed to disk. */
export async function hashLocalFile(file: string, options: { fsync: boolean }): Promise<{ size: number; sha256: string }> {
  const handle = await open(file, 'r');
  try {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of handle.createReadStream({ autoClose: false, highWaterMark: 1 << 20 })) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    if (options.fsync) await handle.sync();
    return { size, sha256: hash.digest('hex') };
  } finally {
    await handle.close();
  }
}

/**
 * The regular files under a local artifact directory as '/'-separated paths in key order. Anything
 * that cannot travel to an object store (symlinks, sockets, a file named like the manifest) is refused.
 */
export async function listLocalArtifactFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const abs = rel === '' ? dir : path.join(dir, ...rel.split('/'));
    const entries = await readdir(abs, { withFileTypes: true });
    const named = entries.map((e) => ({ entry: e, sortName: e.isDirectory() ? `${e.name}/` : e.name }));
    named.sort((a, b) => compareKeys(a.sortName, b.sortName));
    for (const { entry } of named) {
      const relPath = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        await walk(relPath);
      } else if (!entry.isFile()) {
        throw new InvalidArtifactLocationError(
          `${path.join(dir, relPath)}: only regular files and directories can be part of an artifact`,
        );
      } else if (entry.name === MANIFEST_NAME) {
        throw new InvalidArtifactLocationError(
          `${path.join(dir, relPath)}: '${MANIFEST_NAME}' is reserved for the manifest a commit writes`,
        );
      } else {
        out.push(relPath);
      }
    }
  };
  await walk('');
  return out;
}

/** Hashes every file of a local artifact directory (in key order), reading a few files at a time. */
export async function hashLocalArtifact(dir: string, options: { fsync: boolean }): Promise<ManifestFile[]> {
  const stat = await lstat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (!stat?.isDirectory()) {
    throw new ArtifactNotFoundError(`staging directory ${dir} does not exist: was it already committed or aborted?`);
  }
  const paths = await listLocalArtifactFiles(dir);
  return mapWithConcurrency(paths, 4, async (relPath) => ({
    path: relPath,
    ...(await hashLocalFile(path.join(dir, ...relPath.split('/')), options)),
  }));
}

/**
 * `fn` over `items` with at most `limit` calls in flight; results keep the input order. After a
 * failure no new call starts, and an error is thrown only once the calls in flight have
 * ended, so a caller's clean-up never races a straggler.
 */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const outcomes = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker));
  const rejected = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (rejected) throw rejected.reason;
  return results;
}

/** True for an errno-style error with one of the given codes. */
export function hasErrorCode(err: unknown, ...codes: string[]): boolean {
  return typeof err === 'object' && err !== null && codes.includes(String((err as { code?: unknown }).code));
}

/** The URI arithmetic of a store root (`file:///dir` or `s3://bucket/prefix`, without a trailing '/'). */
export class StoreRoot {
  private readonly base: string;

  constructor(readonly uri: string) {
    this.base = uri.endsWith('/') ? uri : `${uri}/`;
  }

  uriFor(key: string): string {
    const normalized = normalizeKey(key, 'key', { allowRoot: true });
    return normalized === '' ? this.uri : `${this.base}${normalized}`;
  }

  keyFor(uri: string): string {
    if (uri === this.uri || uri === this.base) return '';
    if (!uri.startsWith(this.base)) {
      throw new InvalidArtifactLocationError(`URI '${uri}' is not under the artifact root ${this.uri}`);
    }
    return normalizeKey(uri.slice(this.base.length), `URI ${uri}: key`);
  }

  /** The key of an artifact URI: under the root, and not the root itself. */
  artifactKey(uri: string): string {
    const key = this.keyFor(uri);
    if (key === '') {
      throw new InvalidArtifactLocationError(`artifact URI '${uri}': expected a location below ${this.uri}, not the root`);
    }
    return key;
  }
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A fresh staging area: a directory named by a new UUID under the store's local staging root. */
export async function createLocalStaging(stagingRoot: string): Promise<StagingArea> {
  const id = randomUUID();
  const localDir = path.join(stagingRoot, id);
  await mkdir(localDir, { recursive: true });
  return { id, localDir };
}

/** The local directory of a staging area, refusing one that some other store (or caller) made up. */
export function stagingDirOf(staging: StagingArea, stagingRoot: string, rootUri: string): string {
  const expected = path.join(stagingRoot, staging.id);
  if (!UUID_PATTERN.test(staging.id) || path.resolve(staging.localDir) !== expected) {
    throw new InvalidArtifactLocationError(
      `staging area ${staging.id} (${staging.localDir}) was not created by the artifact store at ${rootUri}`,
    );
  }
  return expected;
}
