import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { s3Client } from '../../artifacts/s3-client';
import { S3_ACCESS_REFUSED_CODES, s3SourceSettings, type S3Sources } from '../../artifacts/s3-sources';
import { UserInputError, type Progress } from '../../dsl/executor';
import type { ResolvedFileSet } from '../../dsl/resolve';

export interface S3DownloadOptions {
  /** The executor's sources; each set is read with the one it was listed with (`set.s3Source`). */
  sources: S3Sources;
  /** Where the objects go, each at `<bucket>/<key>` under it, so that messages about a file name its bucket and key. */
  dir: string;
  signal: AbortSignal;
  progress(progress: Progress): void;
}

function s3Location(root: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(root);
  if (!m) throw new UserInputError(`resolved input root "${root}" is not an s3://bucket/prefix/ location`);
  return { bucket: m[1]!, prefix: m[2]! };
}

/**
 * The resolved set as local files: a local set as it is; each object of an s3:// set streamed to a
 * file under `dir` (never whole in memory), checked to be the very object the cache key was made of
 * (same ETag). An object changed or gone since, a missing bucket or refused access is a
 * UserInputError (a retry reads the same); anything else, such as the network, is retried.
 */
export async function localInputFiles(set: ResolvedFileSet, opts: S3DownloadOptions): Promise<ResolvedFileSet> {
  if (!set.root.startsWith('s3://')) return set;
  const { bucket, prefix } = s3Location(set.root);
  const source = s3SourceSettings(opts.sources, set.s3Source);
  if ('problem' in source) throw new UserInputError(`input "${set.location}" is on S3, but ${source.problem}`);
  const client = s3Client(source.settings);
  const localRoot = path.join(opts.dir, bucket, prefix);
  const totalBytes = set.files.reduce((n, f) => n + f.size, 0);
  let bytes = 0;
  for (const [i, file] of set.files.entries()) {
    const key = `${prefix}${file.path}`;
    const uri = `s3://${bucket}/${key}`;
    const target = path.resolve(localRoot, file.path);
    const relative = path.relative(localRoot, target);
    // `..data.csv` is a fine name; only a `..` segment leaves the prefix.
    if (relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) throw new UserInputError(`input object ${uri}: its key leaves the prefix "${set.root}" (a '..' in it)`);
    opts.signal.throwIfAborted();
    opts.progress({ message: `downloading ${uri} (${i + 1} of ${set.files.length})`, counters: { bytesDownloaded: bytes, bytesToDownload: totalBytes } });
    await mkdir(path.dirname(target), { recursive: true });
    let body: Readable;
    try {
      body = await client.getObject(bucket, key);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'NoSuchKey' || code === 'NotFound') {
        throw new UserInputError(`input object ${uri} was removed after the node was prepared (its cache key holds the content it had then): run the pipeline again`);
      }
      if (code === 'NoSuchBucket' || (code !== undefined && S3_ACCESS_REFUSED_CODES.has(code))) throw new UserInputError(`input object ${uri}: ${code} with ${source.described}`);
      throw err;
    }
    // The response's own ETag: the bytes that follow are exactly the object version it names.
    const etag = (body as Partial<IncomingMessage>).headers?.etag?.replace(/"/g, '');
    if (`etag:${etag}` !== file.contentHash) {
      body.destroy();
      throw new UserInputError(
        `input object ${uri} changed after the node was prepared (ETag ${etag ?? 'missing'}, keyed by ${file.contentHash.slice('etag:'.length)}): run the pipeline again`,
      );
    }
    await pipeline(body, createWriteStream(target), { signal: opts.signal });
    bytes += file.size;
  }
  opts.progress({ message: `downloaded ${set.files.length} object(s)`, counters: { bytesDownloaded: bytes, bytesToDownload: totalBytes } });
  return { ...set, root: localRoot };
}
