import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  ancestorKeys,
  ArtifactNotFoundError,
  buildManifest,
  compareKeys,
  createLocalStaging,
  hasErrorCode,
  hashLocalArtifact,
  InvalidArtifactLocationError,
  normalizeKey,
  normalizeObjectKey,
  parseManifest,
  serializeManifest,
  STAGING_SEGMENT,
  stagingDirOf,
  StoreRoot,
} from './manifest';
import { MANIFEST_NAME, type ArtifactStore, type Manifest, type ObjectInfo, type StagingArea } from './store';

/** The absolute directory of a `file:///abs/dir` root URI (URIs hold raw paths, not percent-escapes). */
export function parseFileRootUri(rootUri: string): string {
  if (!rootUri.startsWith('file://')) {
    throw new InvalidArtifactLocationError(`artifact root '${rootUri}': expected file:///absolute/path`);
  }
  const dir = rootUri.slice('file://'.length);
  if (!dir.startsWith('/')) {
    throw new InvalidArtifactLocationError(
      `artifact root '${rootUri}': expected file:///absolute/path (file:// followed by an absolute path)`,
    );
  }
  return path.resolve(dir);
}

/**
 * Artifact store on a local directory. A commit renames a fully written, fsynced staging directory
 * (holding its manifest) into place, so an artifact appears complete or not at all.
 */
export class FileArtifactStore implements ArtifactStore {
  readonly rootUri: string;
  private readonly root: StoreRoot;
  private readonly stagingRoot: string;

  private constructor(readonly rootDir: string) {
    this.rootUri = `file://${rootDir}`;
    this.root = new StoreRoot(this.rootUri);
    // Staging lives under the root so that publishing is a rename within one filesystem.
    this.stagingRoot = path.join(rootDir, STAGING_SEGMENT);
  }

  static async open(rootUri: string): Promise<FileArtifactStore> {
    const store = new FileArtifactStore(parseFileRootUri(rootUri));
    try {
      await mkdir(store.stagingRoot, { recursive: true });
    } catch (err) {
      throw new Error(`artifact root ${store.rootUri}: cannot create ${store.stagingRoot}: ${(err as Error).message}`);
    }
    return store;
  }

  uriFor(key: string): string {
    return this.root.uriFor(key);
  }

  keyFor(uri: string): string {
    return this.root.keyFor(uri);
  }

  async putObject(key: string, body: Readable | Buffer | string): Promise<void> {
    const normalized = normalizeObjectKey(key, 'object key');
    const target = this.pathFor(normalized);
    const uri = this.uriFor(normalized);
    try {
      await mkdir(path.dirname(target), { recursive: true });
    } catch (err) {
      if (hasErrorCode(err, 'ENOTDIR', 'EEXIST')) {
        throw new InvalidArtifactLocationError(`cannot write ${uri}: a parent of it is an object, not a prefix`);
      }
      throw err;
    }
    // Written aside and renamed in, so a reader never sees half an object.
    const temp = path.join(this.stagingRoot, `put-${randomUUID()}`);
    try {
      if (typeof body === 'string' || Buffer.isBuffer(body)) {
        await writeFile(temp, body, { flush: true });
      } else {
        await pipeline(body, createWriteStream(temp, { flush: true }));
      }
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      if (hasErrorCode(err, 'EISDIR', 'ENOTEMPTY', 'EEXIST')) {
        throw new InvalidArtifactLocationError(`cannot write ${uri}: it is a prefix holding other objects`);
      }
      throw err;
    }
  }

  async getObject(key: string): Promise<Readable> {
    const handle = await this.openObject(key);
    return handle.createReadStream();
  }

  async getObjectBuffer(key: string): Promise<Buffer> {
    const handle = await this.openObject(key);
    try {
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  }

  async statObject(key: string): Promise<ObjectInfo | null> {
    const normalized = normalizeKey(key, 'object key');
    const info = await statOrNull(this.pathFor(normalized));
    return info?.isFile() ? { key: normalized, size: info.size } : null;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const normalized = normalizeKey(prefix, 'list prefix', { allowRoot: true });
    if (normalized !== '') {
      const info = await statOrNull(this.pathFor(normalized));
      if (info?.isFile()) yield { key: normalized, size: info.size };
      if (!info?.isDirectory()) return;
    }
    yield* this.walk(normalized);
  }

  async deletePrefix(prefix: string): Promise<void> {
    const normalized = normalizeKey(prefix, 'delete prefix', { allowRoot: true });
    if (normalized !== '') {
      await this.removeAway(this.pathFor(normalized));
      return;
    }
    for (const name of await readdir(this.rootDir)) {
      if (name !== STAGING_SEGMENT) await this.removeAway(path.join(this.rootDir, name));
    }
  }

  createStaging(): Promise<StagingArea> {
    return createLocalStaging(this.stagingRoot);
  }

  async commit(staging: StagingArea, uri: string): Promise<Manifest> {
    const stagingDir = stagingDirOf(staging, this.stagingRoot, this.rootUri);
    const key = this.root.artifactKey(uri);
    const canonicalUri = this.uriFor(key);
    const finalDir = this.pathFor(key);
    const existing = await this.readManifestIn(finalDir);
    if (existing) {
      await rm(stagingDir, { recursive: true, force: true });
      return existing;
    }
    await this.assertNoCommittedAncestor(key, canonicalUri);
    const files = await hashLocalArtifact(stagingDir, { fsync: true });
    const manifest = buildManifest(canonicalUri, files);
    const stagedManifest = path.join(stagingDir, MANIFEST_NAME);
    await writeFile(stagedManifest, serializeManifest(manifest), { flush: true });
    const dirs = new Set([stagingDir, ...files.map((f) => path.dirname(path.join(stagingDir, ...f.path.split('/'))))]);
    for (const dir of dirs) await fsyncDir(dir);
    try {
      return await this.publish(stagingDir, finalDir, canonicalUri, manifest);
    } catch (err) {
      // The staging area stays committable: take back the manifest a retry would refuse as a user file.
      await rm(stagedManifest, { force: true });
      throw err;
    }
  }

  /** Renames a complete staging directory to `finalDir`, or returns the manifest of whoever won. */
  private async publish(stagingDir: string, finalDir: string, uri: string, manifest: Manifest): Promise<Manifest> {
    try {
      await mkdir(path.dirname(finalDir), { recursive: true });
    } catch (err) {
      if (hasErrorCode(err, 'ENOTDIR', 'EEXIST')) {
        throw new InvalidArtifactLocationError(`cannot commit ${uri}: a parent of it is an object, not a prefix`);
      }
      throw err;
    }
    // A few rounds at most: each lost race either finds a winner's manifest or clears debris.
    for (let round = 0; round < 5; round++) {
      try {
        await rename(stagingDir, finalDir);
        await fsyncDir(path.dirname(finalDir));
        return manifest;
      } catch (err) {
        if (hasErrorCode(err, 'ENOTDIR')) {
          throw new InvalidArtifactLocationError(`cannot commit ${uri}: an object exists at that key`);
        }
        if (!hasErrorCode(err, 'ENOTEMPTY', 'EEXIST')) throw err;
      }
      const winner = await this.readManifestIn(finalDir);
      if (winner) {
        await rm(stagingDir, { recursive: true, force: true });
        return winner;
      }
      await this.replaceDebris(finalDir, uri);
    }
    throw new Error(`cannot commit ${uri}: the location kept changing under concurrent writers`);
  }

  async abort(staging: StagingArea): Promise<void> {
    await rm(stagingDirOf(staging, this.stagingRoot, this.rootUri), { recursive: true, force: true });
  }

  async readManifest(uri: string): Promise<Manifest | null> {
    return this.readManifestIn(this.pathFor(this.root.artifactKey(uri)));
  }

  async materialize(uri: string): Promise<string> {
    const dir = this.pathFor(this.root.artifactKey(uri));
    if (!(await this.readManifestIn(dir))) throw new ArtifactNotFoundError(`no committed artifact at ${uri}`);
    return dir;
  }

  async deleteArtifact(uri: string): Promise<void> {
    await this.removeAway(this.pathFor(this.root.artifactKey(uri)));
  }

  async close(): Promise<void> {}

  private pathFor(key: string): string {
    return key === '' ? this.rootDir : path.join(this.rootDir, ...key.split('/'));
  }

  private async openObject(key: string) {
    const normalized = normalizeKey(key, 'object key');
    const notFound = () => new ArtifactNotFoundError(`no object at ${this.uriFor(normalized)}`);
    const handle = await open(this.pathFor(normalized), 'r').catch((err: unknown) => {
      throw hasErrorCode(err, 'ENOENT', 'ENOTDIR') ? notFound() : err;
    });
    if (!(await handle.stat()).isFile()) {
      await handle.close();
      throw notFound();
    }
    return handle;
  }

  private async readManifestIn(dir: string): Promise<Manifest | null> {
    const file = path.join(dir, MANIFEST_NAME);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if (hasErrorCode(err, 'ENOENT', 'ENOTDIR')) return null;
      throw err;
    }
    return parseManifest(text, file);
  }

  private async assertNoCommittedAncestor(key: string, uri: string): Promise<void> {
    for (const ancestor of ancestorKeys(key)) {
      if (await statOrNull(path.join(this.pathFor(ancestor), MANIFEST_NAME))) {
        throw new InvalidArtifactLocationError(
          `cannot commit ${uri}: ${this.uriFor(ancestor)} is a committed artifact, and artifacts cannot nest`,
        );
      }
    }
  }

  /**
   * Moves a manifest-less directory left at `finalDir` out of the way. If a concurrent commit
   * renamed its artifact in between our look and our move (it can replace an empty directory),
   * the inode differs and the artifact is put back.
   */
  private async replaceDebris(finalDir: string, uri: string): Promise<void> {
    const debris = await lstatOrNull(finalDir);
    if (!debris) return;
    if (!debris.isDirectory()) {
      throw new InvalidArtifactLocationError(`cannot commit ${uri}: an object exists at that key`);
    }
    const entries = await readdir(finalDir, { recursive: true }).catch((err: unknown) => {
      if (hasErrorCode(err, 'ENOENT', 'ENOTDIR')) return null;
      throw err;
    });
    // Gone, or a concurrent commit landed: the caller looks again.
    if (entries === null || entries.includes(MANIFEST_NAME)) return;
    const nested = entries.find((p) => path.basename(p) === MANIFEST_NAME);
    if (nested !== undefined) {
      throw new InvalidArtifactLocationError(
        `cannot commit ${uri}: it holds the committed artifact ${uri}/${path.dirname(nested).split(path.sep).join('/')}` +
          ', and artifacts cannot nest',
      );
    }
    const trash = this.trashPath();
    try {
      await rename(finalDir, trash);
    } catch (err) {
      if (hasErrorCode(err, 'ENOENT')) return;
      throw err;
    }
    const moved = await lstat(trash);
    if (moved.ino !== debris.ino || moved.dev !== debris.dev) {
      try {
        await rename(trash, finalDir);
        return;
      } catch (err) {
        if (!hasErrorCode(err, 'ENOTEMPTY', 'EEXIST')) throw err;
      }
    }
    await rm(trash, { recursive: true, force: true });
  }

  /** Removes a file or a whole directory; a directory disappears at once (renamed aside, then deleted). */
  private async removeAway(target: string): Promise<void> {
    const info = await lstatOrNull(target);
    if (!info) return;
    if (!info.isDirectory()) {
      await unlink(target).catch((err: unknown) => {
        if (!hasErrorCode(err, 'ENOENT')) throw err;
      });
      return;
    }
    const trash = this.trashPath();
    try {
      await rename(target, trash);
    } catch (err) {
      if (hasErrorCode(err, 'ENOENT')) return;
      throw err;
    }
    await rm(trash, { recursive: true, force: true });
  }

  private trashPath(): string {
    return path.join(this.stagingRoot, `trash-${randomUUID()}`);
  }

  private async *walk(prefixKey: string): AsyncGenerator<ObjectInfo> {
    const dir = this.pathFor(prefixKey);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (hasErrorCode(err, 'ENOENT', 'ENOTDIR')) return;
      throw err;
    }
    // A directory sorts as 'name/' so that the walk yields keys in full-key order.
    const named = entries
      .filter((e) => !(prefixKey === '' && e.name === STAGING_SEGMENT))
      .map((e) => ({ entry: e, sortName: e.isDirectory() ? `${e.name}/` : e.name }))
      .sort((a, b) => compareKeys(a.sortName, b.sortName));
    for (const { entry } of named) {
      const key = prefixKey === '' ? entry.name : `${prefixKey}/${entry.name}`;
      if (entry.isDirectory()) {
        yield* this.walk(key);
      } else if (entry.isFile()) {
        const info = await statOrNull(path.join(dir, entry.name));
        if (info) yield { key, size: info.size };
      }
    }
  }
}

async function statOrNull(p: string) {
  try {
    return await stat(p);
  } catch (err) {
    if (hasErrorCode(err, 'ENOENT', 'ENOTDIR')) return null;
    throw err;
  }
}

async function lstatOrNull(p: string) {
  try {
    return await lstat(p);
  } catch (err) {
    if (hasErrorCode(err, 'ENOENT', 'ENOTDIR')) return null;
    throw err;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
