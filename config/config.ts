import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { issueLines } from '../dsl/zod-issues';
import { QUEUE_NAMES, QueueNameSchema } from './queues';

/** Environment variables mlpipe reads; the config file uses the camelCase keys of `MlpipeConfigSchema`. */
export const ENV_VARS = {
  home: 'MLPIPE_HOME',
  temporalAddress: 'MLPIPE_TEMPORAL_ADDRESS',
  temporalNamespace: 'MLPIPE_TEMPORAL_NAMESPACE',
  temporalUiUrl: 'MLPIPE_TEMPORAL_UI_URL',
  artifactRoot: 'MLPIPE_ARTIFACT_ROOT',
  s3Endpoint: 'MLPIPE_S3_ENDPOINT',
  s3AccessKey: 'MLPIPE_S3_ACCESS_KEY',
  s3SecretKey: 'MLPIPE_S3_SECRET_KEY',
  s3Region: 'MLPIPE_S3_REGION',
  metadataUrl: 'MLPIPE_METADATA_URL',
  workerQueues: 'MLPIPE_WORKER_QUEUES',
  workerConcurrency: 'MLPIPE_WORKER_CONCURRENCY',
  workerIdentity: 'MLPIPE_WORKER_IDENTITY',
  useBinariesOnPath: 'MLPIPE_USE_PATH_BINARIES',
} as const;

export const CONFIG_FILE_ENV = 'MLPIPE_CONFIG';
export const DEFAULT_CONFIG_FILE = 'mlpipe.config.json';

export { QUEUE_NAMES, QueueNameSchema, TASK_QUEUES, type QueueName } from './queues';

const artifactRootSchema = z
  .string()
  .refine((v) => /^file:\/\//.test(v) || /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(v), {
    message: 'expected file:///absolute/path or s3://bucket[/prefix]',
  });

const s3SettingsSchema = z
  .object({
    // z.string().url() takes 'minio:9000' for a URL with scheme 'minio'; an S3 endpoint is http(s).
    endpoint: z.url({ protocol: /^https?$/, error: 'expected a URL such as http://127.0.0.1:9000' }),
    accessKey: z.string().min(3),
    secretKey: z.string().min(8, 'expected at least 8 characters'),
    region: z.string().default('us-east-1'),
  })
  .strict();

/** Source names map to environment variables: 'partner-data' is MLPIPE_S3_SOURCE_PARTNER_DATA_*. */
const S3_SOURCE_NAME = /^[a-z][a-z0-9-]{0,62}$/;
const S3_SOURCE_ENV = /^MLPIPE_S3_SOURCE_([A-Z][A-Z0-9_]*?)_(ENDPOINT|ACCESS_KEY|SECRET_KEY|REGION)$/;
const S3_SOURCE_FIELDS = { ENDPOINT: 'endpoint', ACCESS_KEY: 'accessKey', SECRET_KEY: 'secretKey', REGION: 'region' } as const;

const metadataUrlSchema = z
  .string()
  .refine((v) => /^sqlite:\/\//.test(v) || /^postgres(ql)?:\/\//.test(v), {
    message: 'expected sqlite:///absolute/path.db or postgres://user@host/db',
  });

const concurrencySchema = z.partialRecord(QueueNameSchema, z.number().int().positive().max(1000));

export const MlpipeConfigSchema = z
  .object({
    home: z.string().min(1),
    temporalAddress: z
      .string()
      .regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port')
      .optional(),
    temporalNamespace: z.string().min(1).default('default'),
    /** Where the Temporal Web UI of `temporalAddress` is, for the links `mlpipe run` prints. */
    temporalUiUrl: z.url({ protocol: /^https?$/, error: 'expected a URL such as http://temporal-ui:8080' }).optional(),
    artifactRoot: artifactRootSchema.optional(),
    s3: s3SettingsSchema.optional(),
    /**
     * S3 endpoints and credentials input locations may be read with, by a name pipelines give
     * (ExampleGen's `s3Source`): data often lives in another account than the artifacts.
     */
    s3Sources: z
      .record(z.string().regex(S3_SOURCE_NAME, 'S3 source names use lowercase letters, digits and -, starting with a letter'), s3SettingsSchema)
      .default({}),
    metadataUrl: metadataUrlSchema.optional(),
    worker: z
      .object({
        queues: z.array(QueueNameSchema).min(1).default([...QUEUE_NAMES]),
        concurrency: concurrencySchema.default({}),
        identity: z.string().optional(),
      })
      .default({ queues: [...QUEUE_NAMES], concurrency: {} }),
    useBinariesOnPath: z.boolean().default(false),
  })
  .strict();

export type MlpipeConfig = z.infer<typeof MlpipeConfigSchema>;

/** Config with every store resolved to a concrete location. */
export interface ResolvedConfig extends MlpipeConfig {
  artifactRoot: string;
  metadataUrl: string;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

function parseConcurrency(raw: string, source: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [queue, value] = part.split('=');
    const n = Number(value);
    if (!queue || !Number.isInteger(n)) {
      throw new ConfigError(`${source}: expected queue=number[,queue=number], got '${part}'`);
    }
    out[queue] = n;
  }
  return out;
}

function fromEnv(env: Env): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const str = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v === '' ? undefined : v;
  };
  const set = (key: string, value: unknown) => {
    if (value !== undefined) out[key] = value;
  };
  set('home', str(ENV_VARS.home));
  set('temporalAddress', str(ENV_VARS.temporalAddress));
  set('temporalNamespace', str(ENV_VARS.temporalNamespace));
  set('temporalUiUrl', str(ENV_VARS.temporalUiUrl));
  set('artifactRoot', str(ENV_VARS.artifactRoot));
  set('metadataUrl', str(ENV_VARS.metadataUrl));
  const endpoint = str(ENV_VARS.s3Endpoint);
  if (endpoint !== undefined || str(ENV_VARS.s3AccessKey) !== undefined) {
    out.s3 = {
      endpoint,
      accessKey: str(ENV_VARS.s3AccessKey),
      secretKey: str(ENV_VARS.s3SecretKey),
      region: str(ENV_VARS.s3Region),
    };
  }
  const sources: Record<string, Record<string, string>> = {};
  for (const [name, value] of Object.entries(env)) {
    const m = S3_SOURCE_ENV.exec(name);
    if (!m || value === undefined || value === '') continue;
    const source = m[1]!.toLowerCase().replace(/_/g, '-');
    (sources[source] ??= {})[S3_SOURCE_FIELDS[m[2] as keyof typeof S3_SOURCE_FIELDS]] = value;
  }
  if (Object.keys(sources).length > 0) out.s3Sources = sources;
  const queues = str(ENV_VARS.workerQueues);
  const concurrency = str(ENV_VARS.workerConcurrency);
  const identity = str(ENV_VARS.workerIdentity);
  if (queues !== undefined || concurrency !== undefined || identity !== undefined) {
    out.worker = {
      ...(queues !== undefined ? { queues: queues.split(',').map((q) => q.trim()) } : {}),
      ...(concurrency !== undefined
        ? { concurrency: parseConcurrency(concurrency, ENV_VARS.workerConcurrency) }
        : {}),
      ...(identity !== undefined ? { identity } : {}),
    };
  }
  const onPath = str(ENV_VARS.useBinariesOnPath);
  if (onPath !== undefined) out.useBinariesOnPath = onPath === '1' || onPath === 'true';
  return out;
}

/** Maps a config key path back to the env var a user would set, for error messages. */
function settingName(pathParts: PropertyKey[], fromFile: boolean): string {
  const key = pathParts.map(String).join('.');
  const envByKey: Record<string, string> = {
    home: ENV_VARS.home,
    temporalAddress: ENV_VARS.temporalAddress,
    temporalNamespace: ENV_VARS.temporalNamespace,
    temporalUiUrl: ENV_VARS.temporalUiUrl,
    artifactRoot: ENV_VARS.artifactRoot,
    metadataUrl: ENV_VARS.metadataUrl,
    's3.endpoint': ENV_VARS.s3Endpoint,
    's3.accessKey': ENV_VARS.s3AccessKey,
    's3.secretKey': ENV_VARS.s3SecretKey,
    's3.region': ENV_VARS.s3Region,
    'worker.queues': ENV_VARS.workerQueues,
    'worker.identity': ENV_VARS.workerIdentity,
    useBinariesOnPath: ENV_VARS.useBinariesOnPath,
  };
  const source = pathParts[0] === 's3Sources' && pathParts.length === 3 ? String(pathParts[1]).toUpperCase().replace(/-/g, '_') : undefined;
  const sourceField = Object.entries(S3_SOURCE_FIELDS).find(([, field]) => field === pathParts[2])?.[0];
  if (source !== undefined && sourceField !== undefined) envByKey[key] = `MLPIPE_S3_SOURCE_${source}_${sourceField}`;
  const env = envByKey[key] ?? (key.startsWith('worker.queues') ? ENV_VARS.workerQueues : undefined) ??
    (key.startsWith('worker.concurrency') ? ENV_VARS.workerConcurrency : undefined);
  if (fromFile || env === undefined) return key || '(config)';
  return `${env} (${key})`;
}

export interface LoadConfigOptions {
  env?: Env;
  cwd?: string;
  /** Explicit overrides, e.g. from CLI flags; they win over env and file. */
  overrides?: Record<string, unknown>;
}

/**
 * Reads configuration from (lowest to highest precedence) defaults, the config file
 * (`$MLPIPE_CONFIG` or ./mlpipe.config.json), environment variables and explicit overrides.
 */
export function loadConfig(options: LoadConfigOptions = {}): MlpipeConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const filePath = env[CONFIG_FILE_ENV] ? path.resolve(cwd, env[CONFIG_FILE_ENV]!) : path.join(cwd, DEFAULT_CONFIG_FILE);
  let fileValues: Record<string, unknown> = {};
  if (existsSync(filePath)) {
    try {
      fileValues = JSON.parse(readFileSync(filePath, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError(`config file ${filePath}: not valid JSON (${(err as Error).message})`);
    }
  } else if (env[CONFIG_FILE_ENV]) {
    throw new ConfigError(`${CONFIG_FILE_ENV}=${env[CONFIG_FILE_ENV]}: file not found`);
  }
  const envValues = fromEnv(env);
  const merged: Record<string, unknown> = {
    home: path.join(cwd, '.mlpipe'),
    ...fileValues,
    ...envValues,
    ...(options.overrides ?? {}),
  };
  if (fileValues.s3 && envValues.s3) {
    merged.s3 = { ...(fileValues.s3 as object), ...stripUndefined(envValues.s3 as Record<string, unknown>) };
  }
  if (fileValues.s3Sources && envValues.s3Sources) {
    const fromFile = fileValues.s3Sources as Record<string, object>;
    const fromEnvVars = envValues.s3Sources as Record<string, object>;
    merged.s3Sources = Object.fromEntries(
      [...new Set([...Object.keys(fromFile), ...Object.keys(fromEnvVars)])].map((name) => [name, { ...fromFile[name], ...fromEnvVars[name] }]),
    );
  }
  const parsed = MlpipeConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const lines = issueLines(parsed.error, '', (issue) => {
      const paths = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k]) : [issue.path];
      const inFile = paths.some((p) => p.length > 0 && hasPath(fileValues, p) && !hasPath(envValues, p));
      return inFile ? `${filePath}: ${settingName(issue.path, true)}` : settingName(issue.path, false);
    });
    throw new ConfigError(`invalid mlpipe configuration:\n  ${lines.join('\n  ')}`);
  }
  const config = parsed.data;
  config.home = path.resolve(cwd, config.home);
  if (config.artifactRoot?.startsWith('s3://') && !config.s3) {
    throw new ConfigError(
      `${ENV_VARS.artifactRoot}=${config.artifactRoot} needs ${ENV_VARS.s3Endpoint}, ${ENV_VARS.s3AccessKey} and ${ENV_VARS.s3SecretKey}`,
    );
  }
  return config;
}

function stripUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

function hasPath(obj: unknown, parts: PropertyKey[]): boolean {
  let cur: unknown = obj;
  for (const p of parts) {
    if (cur === null || typeof cur !== 'object' || !(String(p) in (cur as object))) return false;
    cur = (cur as Record<string, unknown>)[String(p)];
  }
  return true;
}

/** Fills in the embedded defaults: artifacts and metadata under `home`. */
export function resolveConfig(config: MlpipeConfig): ResolvedConfig {
  return {
    ...config,
    artifactRoot: config.artifactRoot ?? `file://${path.join(config.home, 'artifacts')}`,
    metadataUrl: config.metadataUrl ?? `sqlite://${path.join(config.home, 'metadata.db')}`,
  };
}

/** A printable view of the config with secrets masked. */
export function redactConfig(config: MlpipeConfig): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(config)) as Record<string, unknown>;
  const s3 = copy.s3 as Record<string, unknown> | undefined;
  if (s3) s3.secretKey = '********';
  for (const source of Object.values((copy.s3Sources ?? {}) as Record<string, Record<string, unknown>>)) source.secretKey = '********';
  if (typeof copy.metadataUrl === 'string') copy.metadataUrl = copy.metadataUrl.replace(/:\/\/([^:@/]+):[^@/]+@/, '://$1:********@');
  return copy;
}
