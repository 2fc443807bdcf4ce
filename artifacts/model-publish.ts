import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { hashLocalFile } from './manifest';
import {
  publishedManifest,
  publishingManifest,
  serializeVersionManifest,
  VERSION_MANIFEST_NAME,
  VersionFileNameSchema,
  type PublishedVersionManifest,
} from './model-version-manifest';
import type { ArtifactStore, ManifestFile } from './store';

/** A version file's content: bytes in memory, or a local file streamed from disk (models can be large). */
export type VersionFileContent = Uint8Array | { localFile: string };

export interface VersionFile {
  name: string;
  content: VersionFileContent;
}

const MODEL_NAME = /^[^/\\.][^/\\]*$/;

/**
 * One publication of `<model>/<version>/` in a model repository that an artifact store holds (opened on
 * the repository's root, `file://` or `s3://`). Starting it replaces the version's manifest with a
 * "publishing" one, so a server keeps serving what it served while files change; `finish` removes the
 * files the new version does not have and writes the manifest listing every file, last. Any step may
 * fail and the whole publication be run again. One publication of a version at a time.
 */
export class ModelVersionPublication {
  private readonly files = new Map<string, ManifestFile>();

  private constructor(
    private readonly store: ArtifactStore,
    private readonly dir: string,
  ) {}

  static async start(store: ArtifactStore, model: string, version: number): Promise<ModelVersionPublication> {
    if (!MODEL_NAME.test(model)) {
      throw new Error(`cannot publish model '${model}': expected a directory name without '/' or '\\', not starting with '.'`);
    }
    if (!Number.isSafeInteger(version) || version < 1) {
      throw new Error(`cannot publish version ${version} of model '${model}': expected a positive integer`);
    }
    const publication = new ModelVersionPublication(store, `${model}/${version}`);
    await store.putObject(publication.manifestKey, serializeVersionManifest(publishingManifest()));
    return publication;
  }

  private get manifestKey(): string {
    return `${this.dir}/${VERSION_MANIFEST_NAME}`;
  }

  async putFile(name: string, content: VersionFileContent): Promise<void> {
    const checked = VersionFileNameSchema.safeParse(name);
    if (!checked.success) throw new Error(`cannot publish ${this.dir}/${name}: ${checked.error.issues[0]?.message}`);
    if (this.files.has(name)) throw new Error(`cannot publish ${this.dir}/${name} twice in one publication`);
    const key = `${this.dir}/${name}`;
    if (content instanceof Uint8Array) {
      const bytes = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
      await this.store.putObject(key, bytes);
      this.files.set(name, { path: name, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    } else {
      const digest = await hashLocalFile(content.localFile, { fsync: false });
      await this.store.putObject(key, createReadStream(content.localFile));
      this.files.set(name, { path: name, ...digest });
    }
  }

  /** Makes the version visible: what an earlier publication left and this one did not write goes first. */
  async finish(): Promise<PublishedVersionManifest> {
    if (this.files.size === 0) throw new Error(`cannot publish ${this.dir} without files`);
    const stale: string[] = [];
    for await (const object of this.store.list(this.dir)) {
      const name = object.key.slice(this.dir.length + 1);
      if (name !== VERSION_MANIFEST_NAME && !this.files.has(name)) stale.push(object.key);
    }
    for (const key of stale) await this.store.deletePrefix(key);
    const manifest = publishedManifest([...this.files.values()]);
    await this.store.putObject(this.manifestKey, serializeVersionManifest(manifest));
    return manifest;
  }
}

/** Publishes `<model>/<version>/` with exactly `files`, replacing whatever the version held before. */
export async function publishModelVersion(
  store: ArtifactStore,
  model: string,
  version: number,
  files: readonly VersionFile[],
): Promise<PublishedVersionManifest> {
  const publication = await ModelVersionPublication.start(store, model, version);
  for (const file of files) await publication.putFile(file.name, file.content);
  return publication.finish();
}
