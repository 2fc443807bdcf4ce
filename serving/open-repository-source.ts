import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openArtifactStore } from '../artifacts/open-store';
import type { S3Settings } from '../artifacts/s3-client';
import { FileRepositorySource } from './file-repository-source';
import type { RepositorySource } from './repository-source';
import { StoreRepositorySource } from './store-repository-source';

export class RepositoryLocationError extends Error {
  override readonly name = 'RepositoryLocationError';
}

/** The repository at a `file://` URI, a plain path, or an `s3://bucket[/prefix]` URI (with S3 settings). */
export async function openRepositorySource(uri: string, s3?: S3Settings): Promise<RepositorySource> {
  if (uri.startsWith('s3://')) return new StoreRepositorySource(await openArtifactStore(uri, s3));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) && !uri.startsWith('file://')) {
    throw new RepositoryLocationError(`model repository '${uri}': unsupported scheme; expected file://, s3:// or a directory path`);
  }
  const dir = uri.startsWith('file://') ? fileURLToPath(uri) : path.resolve(uri);
  const info = await stat(dir).catch(() => null);
  if (!info?.isDirectory()) throw new RepositoryLocationError(`model repository '${uri}': ${dir} is not a directory`);
  return new FileRepositorySource(dir, uri);
}
