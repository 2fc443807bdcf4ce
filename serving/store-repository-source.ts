import type { ArtifactStore } from '../artifacts/store';
import type { RepositoryFile, RepositorySource } from './repository-source';

/**
 * A repository in the artifact store (`s3://bucket/prefix`). Objects are written whole, so a listed file
 * is complete; its size is its stamp (a pushed version directory is never rewritten in place).
 */
export class StoreRepositorySource implements RepositorySource {
  constructor(private readonly store: ArtifactStore) {}

  get uri(): string {
    return this.store.rootUri;
  }

  async listFiles(): Promise<RepositoryFile[]> {
    const files: RepositoryFile[] = [];
    for await (const object of this.store.list('')) {
      const depth = object.key.split('/').length;
      if (depth === 2 || depth === 3) files.push({ key: object.key, stamp: String(object.size) });
    }
    return files;
  }

  readFile(key: string): Promise<Buffer> {
    return this.store.getObjectBuffer(key);
  }

  localPath(): undefined {
    return undefined;
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
