import type { ArtifactStore } from '../artifacts/store';
import type { RepositoryFile, RepositorySource } from './repository-source';

/**
 * A repository in the artifact store (`s3://bucket/prefix`). Objects are written whole, so a listed file
 * is complete; its stamp is its size and ETag, so that a file rewritten in place with the same size
 * (new weights, same architecture) is seen to change.
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
      if (depth !== 2 && depth !== 3) continue;
      if (object.etag === undefined) throw new Error(`${this.uri}: the listing gives no ETag for ${object.key}, so changes to it cannot be seen`);
      files.push({ key: object.key, size: object.size, stamp: `${object.size}:${object.etag}` });
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
