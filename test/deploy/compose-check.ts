import { parse } from 'yaml';
import { z } from 'zod';
import { ConfigError, ENV_VARS, loadConfig, QueueNameSchema, resolveConfig, TASK_QUEUES, type ResolvedConfig } from '../../config/config';
import { PIPELINE_SEARCH_ATTRIBUTE } from '../../stack/temporal-dev-server';

/**
 * Static checks of docker-compose.yml and the Dockerfile. No Docker engine runs on the
 * development machines, so this is what keeps the production stack consistent with the code:
 * the services it needs, their ports, and worker environments that mlpipe's own config loader accepts.
 */

export const WORKER_SERVICES = { control: 'worker-control', cpu: 'worker-cpu', gpu: 'worker-gpu' } as const;
export const REQUIRED_SERVICES = [
  'postgres',
  'temporal',
  'temporal-setup',
  'temporal-ui',
  'minio',
  'minio-setup',
  ...Object.values(WORKER_SERVICES),
  'model-server',
] as const;

/** Host ports users reach, as documented: Temporal gRPC, its UI, MinIO API and console, model server HTTP and gRPC. */
export const PUBLISHED_PORTS: Record<string, number[]> = {
  temporal: [7233],
  'temporal-ui': [8080],
  minio: [9000, 9001],
  'model-server': [8000, 8001],
};

const stringList = z.array(z.string());
const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

const DeviceSchema = z.looseObject({
  driver: z.string().optional(),
  count: z.union([z.number(), z.literal('all')]).optional(),
  device_ids: stringList.optional(),
  capabilities: stringList,
});

const ServiceSchema = z.looseObject({
  image: z.string().optional(),
  build: z.union([z.string(), z.looseObject({ context: z.string() })]).optional(),
  command: z.union([z.string(), stringList]).optional(),
  entrypoint: z.union([z.string(), stringList]).optional(),
  environment: z.union([z.record(z.string(), scalar), stringList]).optional(),
  ports: z.array(z.union([z.string(), z.number(), z.looseObject({ target: z.number(), published: z.union([z.string(), z.number()]) })])).optional(),
  depends_on: z.union([stringList, z.record(z.string(), z.looseObject({ condition: z.string().optional() }))]).optional(),
  volumes: z.array(z.union([z.string(), z.looseObject({ target: z.string() })])).optional(),
  deploy: z
    .looseObject({
      resources: z
        .looseObject({ reservations: z.looseObject({ devices: z.array(DeviceSchema).optional() }).optional() })
        .optional(),
    })
    .optional(),
});
type Service = z.infer<typeof ServiceSchema>;

const ComposeSchema = z.looseObject({
  services: z.record(z.string(), ServiceSchema),
  volumes: z.record(z.string(), z.unknown()).optional(),
});

const KNOWN_MLPIPE_VARS = new Set<string>(Object.values(ENV_VARS));

/** Compose's `${VAR}`, `${VAR:-default}`, `${VAR-default}` and `$$`, read with no variables set. */
function interpolate(value: string, where: string, problems: string[]): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (match, braced, op, fallback, bare) => {
    if (match === '$$') return '$';
    if (op === undefined) {
      problems.push(`${where}: \${${braced ?? bare}} has no default, so the stack does not start without it`);
      return '';
    }
    return fallback as string;
  });
}

function environmentOf(service: Service, where: string, problems: string[]): Record<string, string> {
  const raw = service.environment;
  const entries: Array<[string, string]> = Array.isArray(raw)
    ? raw.map((line): [string, string] => {
        const eq = line.indexOf('=');
        return eq < 0 ? [line, ''] : [line.slice(0, eq), line.slice(eq + 1)];
      })
    : Object.entries(raw ?? {}).map(([k, v]): [string, string] => [k, v === null ? '' : String(v)]);
  return Object.fromEntries(entries.map(([k, v]) => [k, interpolate(v, `${where} environment ${k}`, problems)]));
}

function commandOf(service: Service): string[] {
  const c = service.command;
  if (c === undefined) return [];
  return Array.isArray(c) ? c : c.split(/\s+/).filter(Boolean);
}

function flagValue(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  if (i >= 0) return args[i + 1];
  return args.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
}

function dependsOn(service: Service): string[] {
  const d = service.depends_on;
  if (d === undefined) return [];
  return Array.isArray(d) ? d : Object.keys(d);
}

interface PortMapping {
  published: number;
  target: number;
}

function portMappings(service: Service): PortMapping[] {
  return (service.ports ?? []).flatMap((p): PortMapping[] => {
    if (typeof p === 'number') return [{ published: p, target: p }];
    if (typeof p === 'object') return [{ published: Number(p.published), target: p.target }];
    const parts = p.replace(/\/(tcp|udp)$/, '').split(':');
    const target = Number(parts.at(-1));
    const published = parts.length >= 2 ? Number(parts.at(-2)) : target;
    return [{ published, target }];
  });
}

function hostAndPort(where: string, value: string, problems: string[]): { host: string; port: number } | null {
  const m = /^(?:[a-z][a-z0-9+.-]*:\/\/)?(?:[^@/]*@)?([^:/]+):(\d+)/i.exec(value);
  if (!m) {
    problems.push(`${where}: '${value}' names no host:port`);
    return null;
  }
  return { host: m[1]!, port: Number(m[2]) };
}

/** A URL or address must point at a service of this stack and a port that service listens on. */
function checkPointsAtService(
  where: string,
  value: string,
  expectedService: string,
  expectedPort: number,
  services: Record<string, Service>,
  problems: string[],
): void {
  const target = hostAndPort(where, value, problems);
  if (!target) return;
  if (!(target.host in services)) problems.push(`${where}: host '${target.host}' is not a service of the stack`);
  else if (target.host !== expectedService) problems.push(`${where}: points at '${target.host}', expected '${expectedService}'`);
  if (target.port !== expectedPort) problems.push(`${where}: port ${target.port}, expected ${expectedPort}`);
}

function loadServiceConfig(name: string, env: Record<string, string>, problems: string[]): ResolvedConfig | null {
  try {
    // cwd is a directory that cannot hold an mlpipe.config.json: only the service's environment counts.
    return resolveConfig(loadConfig({ env, cwd: '/nonexistent/mlpipe-compose-check' }));
  } catch (err) {
    if (err instanceof ConfigError) {
      problems.push(`${name}: its environment is rejected by loadConfig: ${err.message}`);
      return null;
    }
    throw err;
  }
}

/** Container paths of a service's volume mounts. */
function volumeTargets(service: Service): string[] {
  return (service.volumes ?? []).map((v) => (typeof v === 'string' ? (v.split(':')[1] ?? v) : v.target));
}

/**
 * The control fleet opens the metadata store at start: its URL must be one this build opens
 * (sqlite://; postgres:// is refused) and the file must live on a volume, or every container
 * restart loses the lineage and the cache.
 */
function checkMetadataStore(name: string, metadataUrl: string, service: Service, problems: string[]): void {
  if (!metadataUrl.startsWith('sqlite://')) {
    problems.push(`${name}: ${ENV_VARS.metadataUrl} ${metadataUrl.split('://')[0]}:// cannot be opened by this build (its metadata store is SQLite)`);
    return;
  }
  const file = metadataUrl.slice('sqlite://'.length);
  if (!volumeTargets(service).some((target) => file.startsWith(`${target.replace(/\/$/, '')}/`))) {
    problems.push(`${name}: the metadata database ${file} is not on a volume of the service, so a restart would lose it`);
  }
}

function checkMlpipeEnvironment(
  name: string,
  env: Record<string, string>,
  compose: z.infer<typeof ComposeSchema>,
  bucketCreatedBySetup: (bucket: string) => boolean,
  problems: string[],
): ResolvedConfig | null {
  const config = loadServiceConfig(name, env, problems);
  if (!config) return null;
  const services = compose.services;
  if (!config.temporalAddress) problems.push(`${name}: ${ENV_VARS.temporalAddress} is not set, so it would start its own dev server`);
  else checkPointsAtService(`${name} ${ENV_VARS.temporalAddress}`, config.temporalAddress, 'temporal', 7233, services, problems);
  if (!config.artifactRoot.startsWith('s3://')) {
    problems.push(`${name}: ${ENV_VARS.artifactRoot} must be s3:// so every worker sees the same artifacts, got ${config.artifactRoot}`);
  } else {
    const bucket = config.artifactRoot.slice('s3://'.length).split('/')[0]!;
    if (!bucketCreatedBySetup(bucket)) problems.push(`${name}: bucket '${bucket}' of ${ENV_VARS.artifactRoot} is not created by minio-setup`);
  }
  if (config.s3) {
    checkPointsAtService(`${name} ${ENV_VARS.s3Endpoint}`, config.s3.endpoint, 'minio', 9000, services, problems);
    const minioEnv = environmentOf(services.minio ?? {}, 'minio', []);
    if (config.s3.accessKey !== minioEnv.MINIO_ROOT_USER || config.s3.secretKey !== minioEnv.MINIO_ROOT_PASSWORD) {
      problems.push(`${name}: ${ENV_VARS.s3AccessKey}/${ENV_VARS.s3SecretKey} differ from minio's MINIO_ROOT_USER/MINIO_ROOT_PASSWORD`);
    }
  }
  return config;
}

function gpuDevices(service: Service): z.infer<typeof DeviceSchema>[] {
  return (service.deploy?.resources?.reservations?.devices ?? []).filter((d) => d.capabilities.includes('gpu'));
}

function checkCompose(text: string, problems: string[]): void {
  let raw: unknown;
  try {
    raw = parse(text, { merge: true });
  } catch (err) {
    problems.push(`docker-compose.yml: not valid YAML: ${(err as Error).message}`);
    return;
  }
  const parsed = ComposeSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`docker-compose.yml ${issue.path.join('.')}: ${issue.message}`);
    return;
  }
  const compose = parsed.data;
  const services = compose.services;
  for (const name of REQUIRED_SERVICES) if (!(name in services)) problems.push(`service '${name}' is missing`);

  for (const [name, service] of Object.entries(services)) {
    if (!service.image && !service.build) problems.push(`${name}: has neither image nor build`);
    for (const dep of dependsOn(service)) {
      if (!(dep in services)) problems.push(`${name}: depends_on '${dep}', which is not a service`);
    }
    for (const key of Object.keys(environmentOf(service, name, problems))) {
      if (key.startsWith('MLPIPE_') && !KNOWN_MLPIPE_VARS.has(key)) {
        problems.push(`${name}: environment ${key} is not an mlpipe setting (known: ${[...KNOWN_MLPIPE_VARS].join(', ')})`);
      }
    }
  }
  for (const [name, ports] of Object.entries(PUBLISHED_PORTS)) {
    const mappings = services[name] ? portMappings(services[name]) : [];
    for (const port of ports) {
      if (!mappings.some((m) => m.published === port && m.target === port)) problems.push(`${name}: port ${port} is not published as ${port}:${port}`);
    }
  }

  const setupScript = commandOf(services['minio-setup'] ?? {}).join(' ');
  const bucketCreatedBySetup = (bucket: string): boolean => new RegExp(`mc mb\\b[^&;]*/${bucket}\\b`).test(setupScript);

  for (const [queue, name] of Object.entries(WORKER_SERVICES)) {
    const service = services[name];
    if (!service) continue;
    const args = commandOf(service);
    if (args[0] !== 'worker') problems.push(`${name}: command must start with 'worker', got '${args.join(' ')}'`);
    const queues = (flagValue(args, '--queues') ?? '').split(',').filter(Boolean);
    const parsedQueues = z.array(QueueNameSchema).safeParse(queues);
    if (!parsedQueues.success) problems.push(`${name}: --queues '${queues.join(',')}' is not a list of ${Object.keys(TASK_QUEUES).join(', ')}`);
    else if (parsedQueues.data.join(',') !== queue) problems.push(`${name}: polls --queues ${queues.join(',')}, expected ${queue}`);
    if (!service.build) problems.push(`${name}: must be built from the Dockerfile (build: .)`);
    const config = checkMlpipeEnvironment(name, environmentOf(service, name, []), compose, bucketCreatedBySetup, problems);
    if (config && queue === 'control') checkMetadataStore(name, config.metadataUrl, service, problems);
    const devices = gpuDevices(service);
    if (queue === 'gpu' && !devices.some((d) => d.driver === 'nvidia')) {
      problems.push(`${name}: reserves no NVIDIA device (deploy.resources.reservations.devices with driver nvidia, capabilities [gpu])`);
    }
    if (queue !== 'gpu' && devices.length > 0) problems.push(`${name}: reserves a GPU but polls no gpu queue`);
  }

  const server = services['model-server'];
  if (server) {
    const args = commandOf(server);
    if (args[0] !== 'serve') problems.push(`model-server: command must start with 'serve', got '${args.join(' ')}'`);
    const repository = flagValue(args, '--repository') ?? '';
    const config = checkMlpipeEnvironment('model-server', environmentOf(server, 'model-server', []), compose, bucketCreatedBySetup, problems);
    const repoBucket = /^s3:\/\/([^/]+)\//.exec(repository)?.[1];
    if (!repoBucket) problems.push(`model-server: --repository must be an s3:// location in the artifact bucket, got '${repository}'`);
    else if (config && !config.artifactRoot.startsWith(`s3://${repoBucket}/`)) problems.push(`model-server: --repository bucket '${repoBucket}' is not the artifact bucket`);
    // The server listens on 127.0.0.1 unless told otherwise; published ports need every interface.
    if (flagValue(args, '--host') !== '0.0.0.0') problems.push(`model-server: needs --host 0.0.0.0, or its published ports reach nothing inside the container`);
    for (const [flag, port] of [['--http-port', 8000], ['--grpc-port', 8001]] as const) {
      const value = flagValue(args, flag);
      if (value !== undefined && Number(value) !== port) problems.push(`model-server: ${flag} ${value} but port ${port} is published`);
    }
  }

  const temporal = services.temporal;
  if (temporal) {
    const env = environmentOf(temporal, 'temporal', []);
    if (!/^temporalio\/(auto-setup|server):/.test(temporal.image ?? '')) problems.push(`temporal: expected a temporalio/auto-setup or temporalio/server image, got '${temporal.image}'`);
    if (!/^postgres12(_pgx)?$/.test(env.DB ?? '')) problems.push(`temporal: DB must be postgres12 (PostgreSQL persistence), got '${env.DB}'`);
    if (!(env.POSTGRES_SEEDS && env.POSTGRES_SEEDS in services)) problems.push(`temporal: POSTGRES_SEEDS '${env.POSTGRES_SEEDS}' is not a service`);
  }
  const setup = commandOf(services['temporal-setup'] ?? {}).join(' ');
  if (!new RegExp(`search-attribute create\\b.*--name ${PIPELINE_SEARCH_ATTRIBUTE} --type Keyword`).test(setup)) {
    problems.push(`temporal-setup: does not register the ${PIPELINE_SEARCH_ATTRIBUTE} Keyword search attribute the pipeline workflow sets`);
  }
  const uiEnv = environmentOf(services['temporal-ui'] ?? {}, 'temporal-ui', []);
  if (uiEnv.TEMPORAL_ADDRESS) checkPointsAtService('temporal-ui TEMPORAL_ADDRESS', uiEnv.TEMPORAL_ADDRESS, 'temporal', 7233, services, problems);
  else problems.push('temporal-ui: TEMPORAL_ADDRESS is not set');
}

/** Dockerfile instructions of the final stage, continuation lines joined. */
function finalStage(dockerfile: string): Array<{ op: string; args: string }> {
  const joined = dockerfile.replace(/\\\r?\n/g, ' ');
  const instructions = joined
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const m = /^(\S+)\s*(.*)$/.exec(l)!;
      return { op: m[1]!.toUpperCase(), args: m[2]! };
    });
  const lastFrom = instructions.map((i) => i.op).lastIndexOf('FROM');
  return instructions.slice(Math.max(lastFrom, 0));
}

function checkDockerfile(dockerfile: string, binPath: string, problems: string[]): void {
  const all = dockerfile.replace(/\\\r?\n/g, ' ');
  if (!/^\s*RUN\b.*npm run build/m.test(all)) problems.push('Dockerfile: no RUN step builds dist (npm run build)');
  const final = finalStage(dockerfile);
  if (!final.some((i) => i.op === 'COPY' && /--from=\S+\s+\S*dist\b/.test(i.args))) problems.push('Dockerfile: the final stage does not copy the built dist');
  const entrypoint = final.filter((i) => i.op === 'ENTRYPOINT').at(-1);
  if (!entrypoint) {
    problems.push('Dockerfile: no ENTRYPOINT in the final stage; expected ["mlpipe"]');
    return;
  }
  let words: unknown;
  try {
    words = JSON.parse(entrypoint.args);
  } catch {
    words = entrypoint.args.split(/\s+/);
  }
  if (!Array.isArray(words) || words[0] !== 'mlpipe') {
    problems.push(`Dockerfile: ENTRYPOINT is ${entrypoint.args}, expected ["mlpipe"]`);
    return;
  }
  if (!final.some((i) => i.op === 'RUN' && new RegExp(`ln -s\\S*\\s+\\S*${binPath.replace(/[.]/g, '\\.')}\\s+\\S*/mlpipe\\b`).test(i.args))) {
    problems.push(`Dockerfile: 'mlpipe' on PATH is not linked to the package bin ${binPath}`);
  }
}

export interface DeploymentFiles {
  compose: string;
  dockerfile: string;
  /** package.json's bin.mlpipe, e.g. dist/cli/main.js */
  binPath: string;
}

/** Every inconsistency found, each naming the service or file and what was expected; empty when the stack is sound. */
export function checkDeployment(files: DeploymentFiles): string[] {
  const problems: string[] = [];
  checkCompose(files.compose, problems);
  checkDockerfile(files.dockerfile, files.binPath, problems);
  return problems;
}
