import { FileArtifactStore } from './file-store';
import { InvalidArtifactLocationError } from './manifest';
import type { S3Settings } from './s3-client';
import { S3ArtifactStore } from './s3-store';
import type { ArtifactStore } from './store';

export interface OpenArtifactStoreOptions {
  /** Where an `s3://` store keeps staging areas and materialized artifacts. */
  cacheDir?: string;
}

/** The artifact store for a root URI: `file:///abs/dir` or `s3://bucket[/prefix]` (with `s3` settings). */
export async function openArtifactStore(
  rootUri: string,
  s3?: S3Settings,
  options: OpenArtifactStoreOptions = {},
): Promise<ArtifactStore> {
  if (rootUri.startsWith('file:')) return FileArtifactStore.open(rootUri);
  if (rootUri.startsWith('s3:')) {
    if (!s3) {
      throw new InvalidArtifactLocationError(
        `artifact root ${rootUri} needs S3 settings: an endpoint, an access key and a secret key`,
      );
    }
    return S3ArtifactStore.open(rootUri, s3, options);
  }
  throw new InvalidArtifactLocationError(
    `artifact root '${rootUri}': unsupported scheme; expected file:///absolute/path or s3://bucket[/prefix]`,
  );
}
