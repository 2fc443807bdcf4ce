import { createWriteStream } from 'node:fs';
import { mkdir, statfs } from 'node:fs/promises';
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
 * Why each object is copied to a local file rather than streamed into its reader:
 *  - CSV, JSON and Parquet are read by DuckDB, which reads S3 only through its httpfs extension,
 *    downloaded at run time and not available here; its readers take file paths and read them more than
 *    once or out of order (the CSV sniffer reads a sample before the scan, a parallel CSV or Parquet scan
 *    seeks to byte ranges, a Parquet file's footer is read first);
 *  - the JavaScript readers (formats/) take file paths too, and none reads its file once from start to
 *    end: a TFRecord input is read for its features (a sample, then all of it when a record outgrows
 *    them) before its rows; an Avro file's header is read, the file closed, and reopened at its first
 *    block; an Arrow IPC file is read from its footer, and a stream is opened for its schema and again
 *    for its batches. Streaming them would take a reader interface that opens a byte range again (a
 *    ranged GET, checked against the keyed ETag) instead of a path.
 * So the objects need their size in free space under `dir` (the executor's tmpDir, under the worker's
 * TMPDIR); running out is an error naming the object, its size and the directory.
 */
/**
 * An ENOSPC while copying `uri` to `dir`, as a message a user can act on; any other error as it is.
 * Retried like any failure of the store's (other runs' files may be gone by then).
 */
async function downloadError(err: unknown, uri: string, size: number, dir: string): Promise<unknown> {
  if ((err as { code?: string }).code !== 'ENOSPC') return err;
  const space = await statfs(dir).catch(() => undefined);
  const free = space ? `, ${describeBytes(space.bavail * space.bsize)} free there now` : '';
  return new Error(
    `input object ${uri} (${describeBytes(size)}) does not fit in ${dir}: no space left on the device${free}. ` +
      'S3 inputs are copied to the executor\'s tmpDir before reading: free space there, or point the worker\'s TMPDIR at a larger disk',
  );
}

function describeBytes(bytes: number): string {
  return bytes < 1e6 ? `${bytes} bytes` : `${(bytes / 1e6).toFixed(1)} MB (${bytes} bytes)`;
}

/**
 * The resolved set as local files: a local set as it is; each object of an s3:// set streamed to a
 * file under `dir` (never whole in memory), checked to be the very object the cache key was made of
 * (same ETag). An object changed or gone since, a missing bucket or refused access is a
 * UserInputError (a retry reads the same); anything else, such as the network or a full disk, is retried.
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
    await pipeline(body, createWriteStream(target), { signal: opts.signal }).catch(async (err: unknown) => {
      throw await downloadError(err, uri, file.size, opts.dir);
    });
    bytes += file.size;
  }
  opts.progress({ message: `downloaded ${set.files.length} object(s)`, counters: { bytesDownloaded: bytes, bytesToDownload: totalBytes } });
  return { ...set, root: localRoot };
}
