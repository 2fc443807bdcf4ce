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

/** A model's config.json as this repository serves it: the model's own name, whatever name the Trainer gave it. */
export function repositoryConfig(configJson: string, model: string, where: string): Buffer {
  let config: unknown;
  try {
    config = JSON.parse(configJson);
  } catch (err) {
    throw new UserInputError(`${where} is not valid JSON: ${(err as Error).message}`);
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new UserInputError(`${where}: expected a JSON object (a Triton model config)`);
  return Buffer.from(`${JSON.stringify({ ...config, name: model }, null, 2)}\n`);
}

/**
 * Puts an InfraBlessing's warm-up files (`<infraDir>/warmup/*`) at `<model>/warmup/<name>`, where the
 * server reads the input_data_file of the config.json that names them. Call it before that config.json
 * is written: a config naming files not there yet fails the version's load until they are. Returns
 * how many it put.
 */
export async function publishWarmupFiles(store: ArtifactStore, model: string, infraDir: string): Promise<number> {
  const files = await warmupFiles(infraDir);
  for (const file of files) await store.putObject(warmupFileKey(model, file.name), await readFile(file.localFile));
  return files.length;
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
