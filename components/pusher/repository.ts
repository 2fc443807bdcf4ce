import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { contentHashOf } from '../../artifacts/manifest';
import type { MetadataStore } from '../../artifacts/metadata/metadata-store';
import type { ModelVersionDetails } from '../../artifacts/metadata/model-versions';
import { publishModelVersion, type VersionFileContent } from '../../artifacts/model-publish';
import { openArtifactStore } from '../../artifacts/open-store';
import { s3SourceSettings, type S3Sources } from '../../artifacts/s3-sources';
import type { ArtifactStore } from '../../artifacts/store';
import { UserInputError } from '../../dsl/executor';
import { warmupFileKey } from '../../serving/warmup-data';
import { warmupFiles } from '../infra-validator/warmup-files';
import { PUSH_FILE, PushRecordSchema, REPOSITORY_CONFIG_FILE, REPOSITORY_MODEL_FILE, VERSION_CONFIG_FILE, type PushRecord } from './payload';

/**
 * The model repository at `uri` (`file:///abs/dir` or `s3://bucket[/prefix]`), an s3:// one read and
 * written with the named S3 source's keys (the artifact store's when none is named).
 */
export async function openModelRepository(uri: string, s3Source: string | undefined, sources: S3Sources): Promise<ArtifactStore> {
  if (!/^(file:\/\/\/|s3:\/\/)/.test(uri)) {
    throw new UserInputError(`model repository '${uri}': expected file:///absolute/path or s3://bucket[/prefix]`);
  }
  if (!uri.startsWith('s3://')) return openArtifactStore(uri);
  const source = s3SourceSettings(sources, s3Source);
  if ('problem' in source) throw new UserInputError(`model repository ${uri}: ${source.problem}`);
  return openArtifactStore(uri, source.settings);
}

/**
 * An InfraBlessing warm-up file as the repository holds it: `<model>/warmup/<hash>-<name>`, the hash
 * the first 16 hex digits of its bytes' sha256. Content-addressed because `<model>/warmup/` is shared
 * by every version (Triton's layout): a push then never rewrites a file that another version's config
 * names (a rollback puts that config back), nor makes the serving version reload for rows it already has.
 */
export interface WarmupUpload {
  name: string;
  publishedName: string;
  localFile: string;
}

export async function warmupUploads(infraDir: string): Promise<WarmupUpload[]> {
  return Promise.all(
    (await warmupFiles(infraDir)).map(async (file) => ({
      ...file,
      publishedName: `${createHash('sha256').update(await readFile(file.localFile)).digest('hex').slice(0, 16)}-${file.name}`,
    })),
  );
}

/** Puts the files where the server reads the config's input_data_file; before that config.json, which fails to load without them. */
export async function putWarmupFiles(store: ArtifactStore, model: string, uploads: readonly WarmupUpload[]): Promise<void> {
  for (const upload of uploads) await store.putObject(warmupFileKey(model, upload.publishedName), await readFile(upload.localFile));
}

/** A config whose model_warmup reads the files by the names they were published under. */
function withPublishedWarmupNames(config: Record<string, unknown>, uploads: readonly WarmupUpload[], where: string): Record<string, unknown> {
  if (uploads.length === 0 || !Array.isArray(config.model_warmup)) return config;
  const renamed = new Map(uploads.map((u) => [u.name, u.publishedName]));
  const rename = (file: unknown) => {
    const published = typeof file === 'string' ? renamed.get(file) : undefined;
    if (published === undefined) throw new UserInputError(`${where}: model_warmup reads input_data_file ${String(file)}, which is not among the InfraBlessing's warmup/ files`);
    return published;
  };
  const modelWarmup = (config.model_warmup as Array<{ inputs?: Record<string, Record<string, unknown>> }>).map((warmup) => ({
    ...warmup,
    ...(warmup.inputs
      ? { inputs: Object.fromEntries(Object.entries(warmup.inputs).map(([name, input]) => [name, 'input_data_file' in input ? { ...input, input_data_file: rename(input.input_data_file) } : input])) }
      : {}),
  }));
  return { ...config, model_warmup: modelWarmup };
}

/** A model's config.json as this repository serves it: the model's own name, whatever name the Trainer gave it; warm-up files by their published names. */
export function repositoryConfig(configJson: string, model: string, where: string, warmup: readonly WarmupUpload[] = []): Buffer {
  let config: unknown;
  try {
    config = JSON.parse(configJson);
  } catch (err) {
    throw new UserInputError(`${where} is not valid JSON: ${(err as Error).message}`);
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new UserInputError(`${where}: expected a JSON object (a Triton model config)`);
  return Buffer.from(`${JSON.stringify({ ...withPublishedWarmupNames(config as Record<string, unknown>, warmup, where), name: model }, null, 2)}\n`);
}

/** The hash of what the server loads: the model file and its config. */
export function servedContentHash(model: { size: number; sha256: string }, config: Buffer): string {
  return contentHashOf([
    { path: REPOSITORY_MODEL_FILE, ...model },
    { path: REPOSITORY_CONFIG_FILE, size: config.length, sha256: createHash('sha256').update(config).digest('hex') },
  ]);
}

/**
 * The highest version directory of `model` the repository holds, 0 for none: a version published by
 * hand or by another metadata store must not be overwritten by a number this store hands out.
 */
async function newestVersionIn(store: ArtifactStore, model: string): Promise<number> {
  let newest = 0;
  for await (const object of store.list(`${model}/`)) {
    const dir = /^[^/]+\/(\d+)\//.exec(object.key);
    if (dir) newest = Math.max(newest, Number(dir[1]));
  }
  return newest;
}

export interface NewVersion {
  repository: string;
  model: string;
  modelFile: VersionFileContent;
  modelDigest: { size: number; sha256: string };
  config: Buffer;
  details: ModelVersionDetails;
  /** The push record without what allocation decides (the version, the time). */
  record: Omit<PushRecord, 'modelVersion' | 'pushedAt' | 'servedContentHash'>;
}

/**
 * Publishes a new newest version: allocates its number in the metadata store, writes the model's
 * config.json, then the version directory through the publish contract (its manifest last, so the
 * server never sees half of it), and marks the version published.
 */
export async function publishNewVersion(store: ArtifactStore, metadata: MetadataStore, v: NewVersion): Promise<PushRecord> {
  const hash = servedContentHash(v.modelDigest, v.config);
  const atLeast = (await newestVersionIn(store, v.model)) + 1;
  const allocated = await metadata.allocateModelVersion({ repository: v.repository, model: v.model, servedContentHash: hash, details: v.details, atLeast });
  const record = PushRecordSchema.parse({ ...v.record, modelVersion: allocated.version, servedContentHash: hash, pushedAt: new Date().toISOString() });
  await store.putObject(`${v.model}/${REPOSITORY_CONFIG_FILE}`, v.config);
  await publishModelVersion(store, v.model, allocated.version, [
    { name: REPOSITORY_MODEL_FILE, content: v.modelFile },
    { name: VERSION_CONFIG_FILE, content: v.config },
    { name: PUSH_FILE, content: Buffer.from(`${JSON.stringify(record, null, 2)}\n`) },
  ]);
  await metadata.markModelVersionPublished(v.repository, v.model, allocated.version);
  return record;
}
