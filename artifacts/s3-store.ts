import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'minio';
import {
  ancestorKeys,
  ArtifactNotFoundError,
  buildManifest,
  createLocalStaging,
  DigestStream,
  hasErrorCode,
  hashLocalArtifact,
  InvalidArtifactLocationError,
  mapWithConcurrency,
  normalizeKey,
  normalizeObjectKey,
  parseManifest,
  serializeManifest,
  STAGING_SEGMENT,
  stagingDirOf,
  StoreRoot,
} from './manifest';
import { s3Client, type S3Settings } from './s3-client';
import { MANIFEST_NAME, type ArtifactStore, type Manifest, type ObjectInfo, type StagingArea } from './store';

/** A network fault or an overloaded server: the operation may succeed if retried. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
  readonly retryable = true;
}

/** The server refused us (bad credentials, no such bucket, no permission): retrying will not help. */
export class StoreAccessError extends Error {
  override name = 'StoreAccessError';
}

/** Downloaded bytes differ from what the manifest recorded. */
export class ArtifactIntegrityError extends Error {
  override name = 'ArtifactIntegrityError';
}

export interface S3StoreOptions {
  /** Local directory for staging areas and materialized artifacts (content-addressed). */
  cacheDir?: string;
  /**
   * How long a commit claim may go unrefreshed before it counts as a crashed committer's and is
   * taken over; the time a crash mid-commit can hold up the next commit to that URI.
   */
  claimStaleMs?: number;
}

export const DEFAULT_S3_CACHE_DIR = path.join(os.homedir(), '.cache', 'mlpipe', 'artifacts');

// A fixed part size keeps streams of unknown length from being buffered in ~550 MB parts (the
// client's default for an unknown size); 16 MiB x 10,000 parts still allows 160 GiB objects.
const PART_SIZE = 16 * 1024 * 1024;
// The S3 API's limit for a single server-side CopyObject; larger files are uploaded straight in.
const MAX_COPY_BYTES = 5 * 1024 * 1024 * 1024;
const TRANSFER_CONCURRENCY = 4;
const DELETE_BATCH = 1000;
// A commit holds a claim while it copies files and writes the manifest; the holder refreshes it
// several times per stale period, so only a crashed (or stalled) committer's claim goes stale.
const DEFAULT_CLAIM_STALE_MS = 30_000;
const CLAIM_REFRESHES_PER_STALE_PERIOD = 6;
const CLAIM_WAIT_LIMIT_MS = 10 * 60_000;

const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ERR_STREAM_PREMATURE_CLOSE',
]);
const BUSY_SERVER_CODES = new Set([
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
  'XMinioServerNotInitialized',
]);
const CREDENTIAL_CODES = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AllAccessDisabled']);

export interface S3Root {
  bucket: string;
  /** Key prefix inside the bucket without surrounding '/', '' for the whole bucket. */
  prefix: string;
}

/** Bucket and prefix of an `s3://bucket[/prefix]` root URI. */
export function parseS3RootUri(rootUri: string): S3Root {
  const match = /^s3:\/\/([^/]*)(?:\/(.*))?$/.exec(rootUri);
  if (!match) throw new InvalidArtifactLocationError(`artifact root '${rootUri}': expected s3://bucket[/prefix]`);
  const bucket = match[1] ?? '';
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..')) {
    throw new InvalidArtifactLocationError(
      `artifact root '${rootUri}': bucket '${bucket}' is not a valid S3 bucket name ` +
        "(3-63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit)",
    );
  }
  const prefix = normalizeKey(match[2] ?? '', `artifact root ${rootUri}: prefix`, { allowRoot: true });
  return { bucket, prefix };
}

interface ListedObject {
  name: string;
  size: number;
  etag: string;
  lastModified: number;
}

const XML_ENTITIES: Record<string, string> = { lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' };

function decodeXmlText(text: string): string {
  return text.replace(/&(lt|gt|quot|apos|amp|#\d+|#x[0-9a-fA-F]+);/g, (_, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(parseInt(entity.slice(1), 10));
    return XML_ENTITIES[entity] ?? '';
  });
}

function xmlElement(xml: string, tag: string): string | undefined {
  return new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml)?.[1];
}

/** An ETag without the quotes S3 puts around it, as the client's statObject gives it. */
function bareEtag(etag: string): string {
  return etag.replace(/^"|"$/g, '');
}

/**
 * One ListObjectsV2 page. Parsed here rather than by the client because its XML parser turns
 * number-like keys into numbers ('007' comes back as '7').
 */
function parseListPage(xml: string): { objects: ListedObject[]; nextToken: string | null } {
  const urlEncoded = xmlElement(xml, 'EncodingType') === 'url';
  const objects: ListedObject[] = [];
  for (const [, block = ''] of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
    const rawKey = decodeXmlText(xmlElement(block, 'Key') ?? '');
    objects.push({
      name: urlEncoded ? decodeURIComponent(rawKey.replace(/\+/g, ' ')) : rawKey,
      size: Number(xmlElement(block, 'Size') ?? 0),
      etag: bareEtag(decodeXmlText(xmlElement(block, 'ETag') ?? '')),
      lastModified: Date.parse(xmlElement(block, 'LastModified') ?? ''),
    });
  }
  const truncated = xmlElement(xml, 'IsTruncated') === 'true';
  const token = xmlElement(xml, 'NextContinuationToken');
  if (truncated && !token) throw new Error('S3 listing is truncated but carries no continuation token');
  return { objects, nextToken: truncated && token ? decodeXmlText(token) : null };
}

/** Percent-encoding as SigV4 canonical query strings want it. */
function encodeQueryValue(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks);
}

function errorCode(err: unknown): string {
  return typeof err === 'object' && err !== null ? String((err as { code?: unknown }).code ?? '') : '';
}

/**
 * Artifact store on the S3 API (MinIO, AWS S3, SeaweedFS) through the `minio` client, using only
 * plain S3 operations. Executors stage locally; a commit uploads to a staging prefix, copies the files
 * server-side to their final keys and writes the manifest last: its presence means committed.
 */
export class S3ArtifactStore implements ArtifactStore {
  readonly rootUri: string;
  private readonly root: StoreRoot;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly client: Client;
  private readonly agent: http.Agent;
  private readonly localStagingRoot: string;
  private readonly downloadRoot: string;

  private constructor(
    location: S3Root,
    private readonly config: S3Settings,
    private readonly cacheDir: string,
    private readonly claimStaleMs: number,
  ) {
    this.bucket = location.bucket;
    this.prefix = location.prefix;
    this.rootUri = `s3://${location.bucket}${location.prefix ? `/${location.prefix}` : ''}`;
    this.root = new StoreRoot(this.rootUri);
    this.agent = config.endpoint.startsWith('https:') ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
    this.client = s3Client(config, { partSize: PART_SIZE, transportAgent: this.agent });
    this.localStagingRoot = path.join(cacheDir, STAGING_SEGMENT);
    this.downloadRoot = path.join(cacheDir, '.downloads');
  }

  /** Opens the store, creating the bucket if it does not exist yet. */
  static async open(rootUri: string, config: S3Settings, options: S3StoreOptions = {}): Promise<S3ArtifactStore> {
    const store = new S3ArtifactStore(
      parseS3RootUri(rootUri),
      config,
      path.resolve(options.cacheDir ?? DEFAULT_S3_CACHE_DIR),
      options.claimStaleMs ?? DEFAULT_CLAIM_STALE_MS,
    );
    try {
      await store.ensureBucket();
      await mkdir(store.localStagingRoot, { recursive: true });
      await mkdir(store.downloadRoot, { recursive: true });
    } catch (err) {
      await store.close();
      throw err;
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
    const name = this.objectName(normalized);
    const action = `put ${this.uriFor(normalized)}`;
    if (typeof body === 'string' || Buffer.isBuffer(body)) {
      await this.s3(action, () => this.client.putObject(this.bucket, name, body));
      return;
    }
    // The client pipes a stream without listening for its errors (a failing source would crash the
    // process and leave the upload waiting forever), so the source goes through a pipeline we watch.
    const relay = new PassThrough();
    let sourceFailure: unknown;
    const feeding = pipeline(body, relay).catch((err: unknown) => {
      sourceFailure ??= err;
      throw err;
    });
    const upload = this.client.putObject(this.bucket, name, relay);
    try {
      await Promise.all([feeding, upload]);
    } catch (err) {
      // Whichever side failed first, stop the other: no half-fed upload, no source left waiting.
      relay.destroy();
      feeding.catch(() => undefined);
      upload.catch(() => undefined);
      await this.client.removeIncompleteUpload(this.bucket, name).catch(() => undefined);
      throw err === sourceFailure ? err : this.describeFailure(err, action);
    }
  }

  async getObject(key: string): Promise<Readable> {
    const normalized = normalizeKey(key, 'object key');
    const uri = this.uriFor(normalized);
    return this.s3(`get ${uri}`, async () => {
      try {
        return await this.client.getObject(this.bucket, this.objectName(normalized));
      } catch (err) {
        if (errorCode(err) === 'NoSuchKey') throw new ArtifactNotFoundError(`no object at ${uri}`);
        throw err;
      }
    });
  }

  async getObjectBuffer(key: string): Promise<Buffer> {
    const normalized = normalizeKey(key, 'object key');
    const stream = await this.getObject(normalized);
    return this.s3(`get ${this.uriFor(normalized)}`, () => readAll(stream));
  }

  async statObject(key: string): Promise<ObjectInfo | null> {
    const normalized = normalizeKey(key, 'object key');
    return this.s3(`stat ${this.uriFor(normalized)}`, async () => {
      try {
        const info = await this.client.statObject(this.bucket, this.objectName(normalized));
        return { key: normalized, size: info.size, etag: bareEtag(info.etag) };
      } catch (err) {
        if (errorCode(err) === 'NotFound' || errorCode(err) === 'NoSuchKey') return null;
        throw err;
      }
    });
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const normalized = normalizeKey(prefix, 'list prefix', { allowRoot: true });
    if (normalized !== '') {
      const single = await this.statObject(normalized);
      if (single) yield single;
    }
    for await (const object of this.listObjects(this.dirPrefix(normalized))) {
      const key = this.keyOfName(object.name);
      if (normalized === '' && key.startsWith(`${STAGING_SEGMENT}/`)) continue;
      yield { key, size: object.size, etag: object.etag };
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    const normalized = normalizeKey(prefix, 'delete prefix', { allowRoot: true });
    const names: string[] = normalized === '' ? [] : [this.objectName(normalized)];
    for await (const object of this.listObjects(this.dirPrefix(normalized))) {
      if (normalized === '' && this.keyOfName(object.name).startsWith(`${STAGING_SEGMENT}/`)) continue;
      names.push(object.name);
    }
    // Manifests go first so that no artifact is ever visible with files missing.
    const isManifest = (name: string) => name === MANIFEST_NAME || name.endsWith(`/${MANIFEST_NAME}`);
    await this.removeNames(names.filter(isManifest), `delete ${this.uriFor(normalized)}`);
    await this.removeNames(names.filter((n) => !isManifest(n)), `delete ${this.uriFor(normalized)}`);
  }

  createStaging(): Promise<StagingArea> {
    return createLocalStaging(this.localStagingRoot);
  }

  async commit(staging: StagingArea, uri: string): Promise<Manifest> {
    const localDir = stagingDirOf(staging, this.localStagingRoot, this.rootUri);
    const key = this.root.artifactKey(uri);
    const canonicalUri = this.uriFor(key);
    const existing = await this.readManifestOf(key);
    if (existing) {
      await rm(localDir, { recursive: true, force: true });
      return existing;
    }
    await this.assertNoCommittedAncestor(key, canonicalUri);
    const files = await hashLocalArtifact(localDir, { fsync: false });
    const manifest = buildManifest(canonicalUri, files);
    const localPath = (relPath: string) => path.join(localDir, ...relPath.split('/'));
    const stagedName = (relPath: string) => this.objectName(`${STAGING_SEGMENT}/${staging.id}/${relPath}`);
    const copyable = files.filter((f) => f.size <= MAX_COPY_BYTES);
    try {
      await mapWithConcurrency(copyable, TRANSFER_CONCURRENCY, (file) =>
        this.s3(`commit ${canonicalUri}: upload ${file.path}`, () =>
          this.client.fPutObject(this.bucket, stagedName(file.path), localPath(file.path)),
        ),
      );
      const claim = await this.acquireClaim(key, canonicalUri);
      if (typeof claim !== 'string') {
        await rm(localDir, { recursive: true, force: true });
        return claim;
      }
      const refresher = setInterval(() => {
        // A missed refresh only shortens the claim's life; the commit itself reports real failures.
        this.client.putObject(this.bucket, claim, canonicalUri).catch(() => undefined);
      }, this.claimStaleMs / CLAIM_REFRESHES_PER_STALE_PERIOD);
      refresher.unref();
      try {
        const winner = await this.readManifestOf(key);
        if (winner) {
          await rm(localDir, { recursive: true, force: true });
          return winner;
        }
        await this.clearDebris(key, canonicalUri);
        await mapWithConcurrency(files, TRANSFER_CONCURRENCY, (file) =>
          this.s3(`commit ${canonicalUri}: copy ${file.path}`, async () => {
            const finalName = this.objectName(`${key}/${file.path}`);
            if (file.size <= MAX_COPY_BYTES) {
              await this.client.copyObject(this.bucket, finalName, `/${this.bucket}/${stagedName(file.path)}`);
            } else {
              await this.client.fPutObject(this.bucket, finalName, localPath(file.path));
            }
          }),
        );
        await this.s3(`commit ${canonicalUri}: write manifest`, () =>
          this.client.putObject(this.bucket, this.manifestName(key), serializeManifest(manifest)),
        );
      } finally {
        clearInterval(refresher);
        await this.removeNames([claim], `commit ${canonicalUri}: release claim`);
      }
      await rm(localDir, { recursive: true, force: true });
      return manifest;
    } finally {
      // Left-over staged copies are invisible to readers; failing to tidy them must not fail a commit.
      await this.removeNames(copyable.map((f) => stagedName(f.path)), `commit ${canonicalUri}: remove staged copies`).catch(
        () => undefined,
      );
    }
  }

  async abort(staging: StagingArea): Promise<void> {
    await rm(stagingDirOf(staging, this.localStagingRoot, this.rootUri), { recursive: true, force: true });
  }

  async readManifest(uri: string): Promise<Manifest | null> {
    return this.readManifestOf(this.root.artifactKey(uri));
  }

  /** Downloads into `<cacheDir>/<contentHash>` (verified, then renamed in whole) unless already there. */
  async materialize(uri: string): Promise<string> {
    const key = this.root.artifactKey(uri);
    const manifest = await this.readManifestOf(key);
    if (!manifest) throw new ArtifactNotFoundError(`no committed artifact at ${uri}`);
    const target = path.join(this.cacheDir, manifest.contentHash);
    if (await this.isMaterialized(target)) return target;
    const temp = path.join(this.downloadRoot, randomUUID());
    try {
      await mapWithConcurrency(manifest.files, TRANSFER_CONCURRENCY, async (file) => {
        const dest = path.join(temp, ...file.path.split('/'));
        await mkdir(path.dirname(dest), { recursive: true });
        const digest = new DigestStream();
        await this.s3(`materialize ${uri}: download ${file.path}`, async () => {
          const source = await this.client.getObject(this.bucket, this.objectName(`${key}/${file.path}`));
          await pipeline(source, digest, createWriteStream(dest));
        });
        if (digest.size !== file.size || digest.sha256 !== file.sha256) {
          throw new ArtifactIntegrityError(
            `${uri}/${file.path}: downloaded ${digest.size} bytes with sha256 ${digest.sha256}, ` +
              `but the manifest records ${file.size} bytes with sha256 ${file.sha256}`,
          );
        }
      });
      await writeFile(path.join(temp, MANIFEST_NAME), serializeManifest(manifest));
      await mkdir(this.cacheDir, { recursive: true });
      try {
        await rename(temp, target);
      } catch (err) {
        // Another materializer got there first; its copy is complete, or it would not be there.
        if (!hasErrorCode(err, 'ENOTEMPTY', 'EEXIST') || !(await this.isMaterialized(target))) throw err;
      }
      return target;
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
  }

  async deleteArtifact(uri: string): Promise<void> {
    const key = this.root.artifactKey(uri);
    await this.removeNames([this.manifestName(key)], `delete ${uri}`);
    await this.deletePrefix(key);
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }

  private objectName(key: string): string {
    if (this.prefix === '') return key;
    return key === '' ? this.prefix : `${this.prefix}/${key}`;
  }

  /** The store key of an object name listed under the root prefix. */
  private keyOfName(name: string): string {
    return this.prefix === '' ? name : name.slice(this.prefix.length + 1);
  }

  /** The S3 prefix of everything under a key taken as a directory. */
  private dirPrefix(key: string): string {
    const name = this.objectName(key);
    return name === '' ? '' : `${name}/`;
  }

  private manifestName(key: string): string {
    return this.objectName(`${key}/${MANIFEST_NAME}`);
  }

  private async isMaterialized(dir: string): Promise<boolean> {
    try {
      await readFile(path.join(dir, MANIFEST_NAME));
      return true;
    } catch (err) {
      if (hasErrorCode(err, 'ENOENT', 'ENOTDIR')) return false;
      throw err;
    }
  }

  private async readManifestOf(key: string): Promise<Manifest | null> {
    const where = `${this.uriFor(key)}/${MANIFEST_NAME}`;
    const text = await this.s3(`read ${where}`, async () => {
      try {
        return (await readAll(await this.client.getObject(this.bucket, this.manifestName(key)))).toString('utf8');
      } catch (err) {
        if (errorCode(err) === 'NoSuchKey') return null;
        throw err;
      }
    });
    return text === null ? null : parseManifest(text, where);
  }

  private async assertNoCommittedAncestor(key: string, uri: string): Promise<void> {
    for (const ancestor of ancestorKeys(key)) {
      if (await this.statObject(`${ancestor}/${MANIFEST_NAME}`)) {
        throw new InvalidArtifactLocationError(
          `cannot commit ${uri}: ${this.uriFor(ancestor)} is a committed artifact, and artifacts cannot nest`,
        );
      }
    }
  }

  /** Removes the objects a crashed commit left under an artifact's prefix (there is no manifest). */
  private async clearDebris(key: string, uri: string): Promise<void> {
    const names: string[] = [];
    for await (const object of this.listObjects(this.dirPrefix(key))) {
      if (object.name.endsWith(`/${MANIFEST_NAME}`)) {
        throw new InvalidArtifactLocationError(
          `cannot commit ${uri}: it holds the committed artifact ` +
            `${this.uriFor(this.keyOfName(object.name.slice(0, -MANIFEST_NAME.length - 1)))}, and artifacts cannot nest`,
        );
      }
      names.push(object.name);
    }
    await this.removeNames(names, `commit ${uri}: clear debris`);
  }

  /**
   * Takes the exclusive right to publish at `key`, or returns the manifest someone else published
   * meanwhile. Plain S3 has no conditional writes everywhere, so this is the write-then-list
   * protocol: a committer proceeds only if its claim is the only live one it sees. Two committers
   * cannot both see only their own claim under read-after-write consistent listing (AWS S3,
   * MinIO, SeaweedFS); when both see each other, both withdraw and retry after a random pause.
   */
  private async acquireClaim(key: string, uri: string): Promise<string | Manifest> {
    const claimPrefix = this.objectName(
      `${STAGING_SEGMENT}/claims/${createHash('sha256').update(key).digest('hex')}/`,
    );
    const claim = `${claimPrefix}${randomUUID()}`;
    const deadline = Date.now() + CLAIM_WAIT_LIMIT_MS;
    for (let attempt = 0; ; attempt++) {
      await this.s3(`commit ${uri}: claim`, () => this.client.putObject(this.bucket, claim, uri));
      const claims: ListedObject[] = [];
      for await (const object of this.listObjects(claimPrefix)) claims.push(object);
      const mine = claims.find((c) => c.name === claim);
      if (!mine) {
        throw new Error(
          `commit ${uri}: ${this.config.endpoint} did not list an object just written; ` +
            'mlpipe needs an S3 server with read-after-write consistent listings',
        );
      }
      const others = claims.filter((c) => c.name !== claim);
      // Ages compare server timestamps with each other, so client clocks do not matter.
      const stale = others.filter((c) => mine.lastModified - c.lastModified > this.claimStaleMs);
      await this.removeNames(stale.map((c) => c.name), `commit ${uri}: drop stale claims`);
      if (others.length === stale.length) return claim;
      await this.removeNames([claim], `commit ${uri}: withdraw claim`);
      if (Date.now() > deadline) {
        throw new StoreUnavailableError(
          `commit ${uri}: another commit to the same URI has been in progress for over ${CLAIM_WAIT_LIMIT_MS / 60_000} minutes`,
        );
      }
      await sleep(Math.min(2_000, 50 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random()));
      const winner = await this.readManifestOf(key);
      if (winner) return winner;
    }
  }

  private async *listObjects(s3Prefix: string): AsyncGenerator<ListedObject> {
    let token: string | null = null;
    do {
      const params: Array<[string, string]> = [
        ['encoding-type', 'url'],
        ['list-type', '2'],
        ['prefix', s3Prefix],
      ];
      if (token !== null) params.push(['continuation-token', token]);
      const query = params
        .map(([name, value]) => `${name}=${encodeQueryValue(value)}`)
        .sort()
        .join('&');
      const page = await this.s3(`list s3://${this.bucket}/${s3Prefix}`, async () => {
        const response = await this.client.makeRequestAsync({ method: 'GET', bucketName: this.bucket, query });
        return parseListPage((await readAll(response)).toString('utf8'));
      });
      yield* page.objects;
      token = page.nextToken;
    } while (token !== null);
  }

  private async removeNames(names: readonly string[], action: string): Promise<void> {
    for (let i = 0; i < names.length; i += DELETE_BATCH) {
      const batch = names.slice(i, i + DELETE_BATCH);
      const results = await this.s3(action, () => this.client.removeObjects(this.bucket, batch));
      const failed = results.flatMap((r) => (r?.Error ? [`${r.Error.Key ?? '?'}: ${r.Error.Code ?? r.Error.Message ?? 'failed'}`] : []));
      if (failed.length > 0) throw new Error(`${action}: could not delete ${failed.length} object(s): ${failed.slice(0, 5).join(', ')}`);
    }
  }

  private async ensureBucket(): Promise<void> {
    const action = `open artifact root ${this.rootUri}`;
    const exists = await this.s3(action, () => this.client.bucketExists(this.bucket));
    if (exists) return;
    await this.s3(action, async () => {
      try {
        await this.client.makeBucket(this.bucket, this.config.region);
      } catch (err) {
        // Another process created it between our look and our request.
        if (errorCode(err) !== 'BucketAlreadyOwnedByYou') throw err;
      }
    });
  }

  /** Runs one S3 call, turning its failure into an error that says where and whether to retry. */
  private async s3<T>(action: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw this.describeFailure(err, action);
    }
  }

  private describeFailure(err: unknown, action: string): Error {
    if (
      err instanceof StoreUnavailableError ||
      err instanceof StoreAccessError ||
      err instanceof ArtifactNotFoundError ||
      err instanceof ArtifactIntegrityError ||
      err instanceof InvalidArtifactLocationError
    ) {
      return err;
    }
    const code = errorCode(err);
    const detail = this.scrub(`${code ? `${code}: ` : ''}${err instanceof Error ? err.message : String(err)}`);
    const where = `S3 endpoint ${this.config.endpoint}, bucket '${this.bucket}'`;
    if (NETWORK_ERROR_CODES.has(code)) {
      return new StoreUnavailableError(`${action}: ${where} is unreachable (${detail})`);
    }
    if (BUSY_SERVER_CODES.has(code)) {
      return new StoreUnavailableError(`${action}: ${where} is temporarily unavailable (${detail})`);
    }
    if (code === 'NoSuchBucket') {
      return new StoreAccessError(`${action}: bucket '${this.bucket}' does not exist at ${this.config.endpoint}`);
    }
    if (CREDENTIAL_CODES.has(code)) {
      return new StoreAccessError(
        `${action}: ${where} refused access key '${this.config.accessKey}' (${detail}); ` +
          'check the configured S3 access key and secret key',
      );
    }
    return new Error(`${action} (${where}): ${detail}`);
  }

  /** Server messages never carry the secret, but an error string must not be the first to. */
  private scrub(text: string): string {
    return text.split(this.config.secretKey).join('********');
  }
}
