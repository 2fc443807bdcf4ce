import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import picomatch from 'picomatch';
import { glob, isDynamicPattern } from 'tinyglobby';
import type { ListFilesOptions, ResolvedFile, ResolvedFileSet } from '../dsl/resolve';
import { hashFileContent } from './fingerprint';
import { s3Client } from './s3-client';
import { NO_S3_SOURCES, S3_ACCESS_REFUSED_CODES, s3SourceSettings, type S3Sources } from './s3-sources';

/** A location that names no readable file: the user's to fix, never worth a retry. */
export class InputLocationError extends Error {
  override name = 'InputLocationError';
}

/**
 * At most this many files per location: the list travels with the node through Temporal (in the
 * control step's result and in the executor's input), whose payloads draw a warning from 256 KB on;
 * a file costs about 150 bytes of it.
 */
export const MAX_FILES_PER_LOCATION = 1000;
/** What a listing narrowed by `select` may name before it is narrowed: names only, a few MB at most. */
const MAX_LISTED_PER_LOCATION = 100_000;

/** How many file hashes the long-lived control worker keeps; the oldest go first. */
const MEMO_ENTRIES = 10_000;

/**
 * Hashes of local files by identity. ctime is part of it: any write, and any `touch -d` that sets the
 * mtime back, moves the ctime, so a rewritten file of equal size and mtime is read again.
 */
export class FileHashMemo {
  private readonly byIdentity = new Map<string, string>();
  constructor(
    private readonly capacity = MEMO_ENTRIES,
    private readonly hashFile: (file: string) => Promise<string> = hashFileContent,
  ) {}

  async hash(file: string): Promise<{ size: number; sha256: string; changedAt: number }> {
    const info = await stat(file);
    const identity = `${file}\0${info.size}\0${info.mtimeMs}\0${info.ctimeMs}\0${info.ino}`;
    let sha256 = this.byIdentity.get(identity);
    if (sha256 !== undefined) {
      // Re-inserted so the map's order stays least recently used first.
      this.byIdentity.delete(identity);
    } else {
      sha256 = await this.hashFile(file);
    }
    this.byIdentity.set(identity, sha256);
    while (this.byIdentity.size > this.capacity) this.byIdentity.delete(this.byIdentity.keys().next().value!);
    return { size: info.size, sha256, changedAt: info.ctimeMs };
  }

  get size(): number {
    return this.byIdentity.size;
  }
}

function tooMany(location: string, count: number, limit = MAX_FILES_PER_LOCATION): InputLocationError {
  return new InputLocationError(
    `"${location}" names ${count} files; at most ${limit} are allowed per location (merge small files, or split the input by span)`,
  );
}

type Select = ListFilesOptions['select'];

/** The paths (relative to `root`) `select` keeps, or all of them without one. */
function selected(root: string, relative: string[], select: Select): string[] {
  if (!select) return relative;
  const full = (p: string) => (root.endsWith('/') ? `${root}${p}` : `${root}/${p}`);
  const kept = new Set(select(relative.map(full)));
  return relative.filter((p) => kept.has(full(p)));
}

async function listLocal(location: string, pattern: string, memo: FileHashMemo, select: Select): Promise<ResolvedFileSet> {
  if (!path.isAbsolute(pattern)) {
    throw new InputLocationError(`input "${location}" must be an absolute path or a file:// URI (got a relative path): workers may run in another directory`);
  }
  let root: string;
  let relative: string[];
  if (!isDynamicPattern(pattern)) {
    const info = await stat(pattern).catch(() => null);
    if (!info) throw new InputLocationError(`input file not found: ${pattern}`);
    if (info.isDirectory()) throw new InputLocationError(`input ${pattern} is a directory; name its files with a glob such as ${path.join(pattern, '*.parquet')}`);
    root = path.dirname(pattern);
    relative = [path.basename(pattern)];
  } else {
    const parts = pattern.split('/');
    root = parts.slice(0, parts.findIndex((p) => isDynamicPattern(p))).join('/') || '/';
    relative = (await glob(path.relative(root, pattern), { cwd: root, onlyFiles: true, expandDirectories: false })).sort();
    if (relative.length === 0) throw new InputLocationError(`no file matches the input pattern "${location}"`);
    if (select && relative.length > MAX_LISTED_PER_LOCATION) throw tooMany(location, relative.length, MAX_LISTED_PER_LOCATION);
    relative = selected(root, relative, select);
  }
  if (relative.length > MAX_FILES_PER_LOCATION) throw tooMany(location, relative.length);
  const files: ResolvedFile[] = [];
  for (const file of relative) {
    const full = path.join(root, file);
    const { size, sha256, changedAt } = await memo.hash(full).catch((err: NodeJS.ErrnoException) => {
      throw new InputLocationError(`cannot read input file ${full} (${err.code ?? err.message})`);
    });
    files.push({ path: file.split(path.sep).join('/'), size, contentHash: `sha256:${sha256}`, changedAt });
  }
  return { location, root, files };
}

/** What the user can fix (a wrong name, missing rights) fails at once; anything else (the network) may pass on a retry. */
function s3Refusal(location: string, bucket: string, described: string): (err: Error & { code?: string }) => never {
  return (err) => {
    if (err.code === 'NotFound' || err.code === 'NoSuchKey') throw new InputLocationError(`input object not found: ${location}`);
    if (err.code === 'NoSuchBucket') throw new InputLocationError(`input "${location}": bucket '${bucket}' does not exist (read with ${described})`);
    if (err.code && S3_ACCESS_REFUSED_CODES.has(err.code)) {
      throw new InputLocationError(`input "${location}": access refused (${err.code}) to ${described}`);
    }
    throw err;
  };
}

/**
 * An S3 object is keyed by its ETag: the store's own content identity, read without downloading.
 * A glob lists the objects under its static prefix and keeps those it matches.
 */
async function listS3(location: string, sources: S3Sources, sourceName: string | undefined, select: Select): Promise<ResolvedFileSet> {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(location);
  if (!match) throw new InputLocationError(`input "${location}" is not an s3://bucket/key URI`);
  const [, bucket, key] = match as unknown as [string, string, string];
  const source = s3SourceSettings(sources, sourceName);
  if ('problem' in source) throw new InputLocationError(`input "${location}" is on S3, but ${source.problem}`);
  const client = s3Client(source.settings);
  const refused = s3Refusal(location, bucket, source.described);
  const named = sourceName === undefined ? {} : { s3Source: sourceName };
  const segments = key.split('/');
  const firstDynamic = segments.findIndex((segment) => isDynamicPattern(segment));
  const files: ResolvedFile[] = [];
  if (firstDynamic < 0 && !key.endsWith('/') && key !== '') {
    const info = await client.statObject(bucket, key).catch(refused);
    files.push({ path: path.posix.basename(key), size: info.size, contentHash: `etag:${info.etag}` });
    return { location, root: `s3://${bucket}/${path.posix.dirname(key) === '.' ? '' : `${path.posix.dirname(key)}/`}`, files, ...named };
  }
  const prefix = firstDynamic < 0 ? key : segments.slice(0, firstDynamic).map((s) => `${s}/`).join('');
  const matches = firstDynamic < 0 ? () => true : picomatch(segments.slice(firstDynamic).join('/'), { dot: false });
  const limit = select ? MAX_LISTED_PER_LOCATION : MAX_FILES_PER_LOCATION;
  try {
    for await (const obj of client.listObjectsV2(bucket, prefix, true)) {
      if (!obj.name || obj.name.endsWith('/') || !matches(obj.name.slice(prefix.length))) continue;
      files.push({ path: obj.name.slice(prefix.length), size: obj.size, contentHash: `etag:${String(obj.etag).replace(/"/g, '')}` });
      if (files.length > limit) throw tooMany(location, files.length, limit);
    }
  } catch (err) {
    if (err instanceof InputLocationError) throw err;
    refused(err as Error & { code?: string });
  }
  if (files.length === 0) {
    throw new InputLocationError(firstDynamic < 0 ? `no object under the input prefix "${location}"` : `no object matches the input pattern "${location}"`);
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const root = `s3://${bucket}/${prefix}`;
  const kept = new Set(selected(root, files.map((f) => f.path), select));
  return { location, root, files: files.filter((f) => kept.has(f.path)), ...named };
}

/**
 * The files a location names, each with its content hash: a local path or glob (absolute), a
 * file:// URI, or an s3:// key or prefix (`/` at the end). Every problem the user can fix is an
 * InputLocationError naming the location.
 */
export async function listInputFiles(
  location: string,
  opts: ListFilesOptions & { s3?: S3Sources; memo: FileHashMemo },
): Promise<ResolvedFileSet> {
  const found = await listAll(location, opts);
  if (found.files.length > MAX_FILES_PER_LOCATION) throw tooMany(location, found.files.length);
  return found;
}

async function listAll(location: string, opts: ListFilesOptions & { s3?: S3Sources; memo: FileHashMemo }): Promise<ResolvedFileSet> {
  if (/^s3:\/\//i.test(location)) return listS3(location, opts.s3 ?? NO_S3_SOURCES, opts.s3Source, opts.select);
  if (/^file:/i.test(location)) {
    let local: string;
    try {
      local = fileURLToPath(location);
    } catch (err) {
      throw new InputLocationError(`input "${location}" is not a valid file:// URI: ${(err as Error).message}`);
    }
    return listLocal(location, local, opts.memo, opts.select);
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(location);
  if (scheme) throw new InputLocationError(`input "${location}": ${scheme[1]}:// locations are not supported; give a local path, a file:// or an s3:// URI`);
  return listLocal(location, location, opts.memo, opts.select);
}

/**
 * Throws when a local file of the set is not as it was hashed (its size or ctime moved): the node's
 * cache key holds the old content, so reading the new one would file new outputs under an old key.
 */
export async function assertUnchanged(set: ResolvedFileSet): Promise<void> {
  if (!path.isAbsolute(set.root)) return;
  for (const file of set.files) {
    const full = path.join(set.root, file.path);
    const info = await stat(full).catch(() => null);
    if (!info || info.size !== file.size || (file.changedAt !== undefined && info.ctimeMs !== file.changedAt)) {
      throw new InputLocationError(
        `input file ${full} ${info ? 'changed' : 'was removed'} after the node was prepared (its cache key holds the content it had then): run the pipeline again`,
      );
    }
  }
}
