import { createHash } from 'node:crypto';
import { hashLocalFile } from '../artifacts/manifest';
import {
  findSizeMismatch,
  parseVersionManifest,
  VERSION_MANIFEST_NAME,
  type PublishedVersionManifest,
  type VersionManifest,
} from '../artifacts/model-version-manifest';
import type { RepositoryFile, RepositorySource } from './repository-source';

/** What a version directory holds, as its manifest tells. */
export type VersionContents =
  /** No manifest: a directory made by hand, loaded as it is. */
  | { kind: 'unmanaged' }
  /** A publication is under way: none of it loads yet, and what served before goes on serving. */
  | { kind: 'publishing' }
  | { kind: 'published'; manifest: PublishedVersionManifest }
  /** A manifest that does not parse: the version fails to load with this error. */
  | { kind: 'invalid'; error: string };

const manifestKeyOf = (dir: string) => `${dir}/${VERSION_MANIFEST_NAME}`;

export function isVersionManifest(file: RepositoryFile): boolean {
  return file.key.endsWith(`/${VERSION_MANIFEST_NAME}`);
}

function contentsFrom(manifest: VersionManifest): VersionContents {
  return manifest.state === 'publishing' ? { kind: 'publishing' } : { kind: 'published', manifest };
}

/**
 * Reads the manifests of a repository's version directories, each again only when its stamp changes
 * (a poll reads nothing that did not change), and checks a published version's files against its
 * manifest before they load.
 */
export class VersionContentsReader {
  private readonly read = new Map<string, { stamp: string; contents: VersionContents }>();

  constructor(private readonly source: RepositorySource) {}

  /** The contents of each version directory of `model`. Throws when a manifest cannot be read. */
  async contentsOf(model: string, versions: ReadonlyMap<number, readonly RepositoryFile[]>): Promise<Map<number, VersionContents>> {
    const out = new Map<number, VersionContents>();
    const seen = new Set<string>();
    for (const [version, files] of versions) {
      const manifest = files.find(isVersionManifest);
      if (!manifest) {
        out.set(version, { kind: 'unmanaged' });
        continue;
      }
      seen.add(manifest.key);
      let cached = this.read.get(manifest.key);
      if (cached?.stamp !== manifest.stamp) {
        cached = { stamp: manifest.stamp, contents: await this.readContents(manifest.key) };
        this.read.set(manifest.key, cached);
      }
      out.set(version, cached.contents);
    }
    for (const key of this.read.keys()) if (key.startsWith(`${model}/`) && !seen.has(key)) this.read.delete(key);
    return out;
  }

  /**
   * The model file of version directory `dir` (`<model>/<version>`) for onnxruntime: its local path, or
   * its bytes when the repository is remote. A published version's files must first match its manifest:
   * every listed file with its size, the model file with its sha256. A mismatch is an error, unless the
   * manifest changed meanwhile (a publication began after the listing): then the result is undefined
   * and the next poll sees the new state.
   */
  async modelData(
    dir: string,
    modelFile: string,
    contents: VersionContents,
    files: readonly RepositoryFile[],
  ): Promise<string | Uint8Array | undefined> {
    if (contents.kind === 'invalid') throw new Error(contents.error);
    const modelKey = `${dir}/${modelFile}`;
    const read = async () => this.source.localPath(modelKey) ?? new Uint8Array(await this.source.readFile(modelKey));
    if (contents.kind !== 'published') return read();
    const { manifest } = contents;
    const listed = manifest.files.find((f) => f.path === modelFile);
    if (!listed) throw new Error(`version manifest ${manifestKeyOf(dir)} does not list ${modelFile}, the model file`);
    const sizes = new Map(files.map((f) => [f.key.slice(dir.length + 1), f.size]));
    let mismatch = findSizeMismatch(manifest, sizes, dir);
    if (mismatch === undefined) {
      const data = await read();
      const sha256 =
        typeof data === 'string' ? (await hashLocalFile(data, { fsync: false })).sha256 : createHash('sha256').update(data).digest('hex');
      if (sha256 === listed.sha256) return data;
      mismatch = `version manifest ${manifestKeyOf(dir)} lists ${modelFile} with sha256 ${listed.sha256}, but ${modelKey} has sha256 ${sha256}`;
    }
    if (!(await this.stillPublished(dir, manifest))) return undefined;
    throw new Error(
      `${mismatch}: the directory changed after it was published; publish the version again, ` +
        `or delete ${VERSION_MANIFEST_NAME} to serve the directory as it is`,
    );
  }

  private async stillPublished(dir: string, manifest: PublishedVersionManifest): Promise<boolean> {
    const now = await this.readContents(manifestKeyOf(dir)).catch(() => undefined);
    return now?.kind === 'published' && now.manifest.contentHash === manifest.contentHash;
  }

  private async readContents(key: string): Promise<VersionContents> {
    const text = (await this.source.readFile(key)).toString('utf8');
    try {
      return contentsFrom(parseVersionManifest(text, key));
    } catch (err) {
      return { kind: 'invalid', error: (err as Error).message };
    }
  }
}
