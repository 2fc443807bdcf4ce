import { createHash } from 'node:crypto';
import type { Command } from 'commander';
import { z } from 'zod';
import type { MetadataStore } from '../../artifacts/metadata/metadata-store';
import type { ModelVersionRecord } from '../../artifacts/metadata/model-versions';
import {
  MODEL_PROPERTY,
  PUSH_FILE,
  PUSHED_PROPERTY,
  PushRecordSchema,
  REPOSITORY_MODEL_FILE,
  REPOSITORY_PROPERTY,
  VERSION_CONFIG_FILE,
  VERSION_PROPERTY,
  type PushRecord,
} from '../../components/pusher/payload';
import { openModelRepository, publishNewVersion } from '../../components/pusher/repository';
import { resolveConfig } from '../../config/config';
import { s3SourcesOf } from '../../artifacts/s3-sources';
import { curlCommand } from '../../components/infra-validator/example-request';
import { cliConfig, CliError, parseFlags } from '../cli-context';
import { withRunningDevStack } from '../dev-stack-state';
import { withMetadata } from './runs';

/** The S3 keys a repository is opened with: the configuration's, or a running `mlpipe dev` stack's MinIO. */
const settings = () => resolveConfig(withRunningDevStack(cliConfig()));

const print = (json: boolean, value: unknown, text: () => string) => process.stdout.write(`${json ? JSON.stringify(value, null, 2) : text()}\n`);

function origin(v: ModelVersionRecord): string {
  if (v.details.kind === 'rollback') return `rollback to version ${v.details.rollbackOf}`;
  return v.details.sourceUri ?? 'push';
}

/** A version with the pipeline run whose Pusher published it, when one did. */
type ListedVersion = ModelVersionRecord & { run?: { pipeline: string; runId: string } };

/**
 * The run whose Pusher published a version: the first execution that output its PushedModel (a later
 * cached execution outputs the same artifact). None for a rollback, or a push outside a pipeline run.
 */
async function withPushingRun(m: MetadataStore, v: ModelVersionRecord): Promise<ListedVersion> {
  if (v.details.kind !== 'push') return v;
  const properties = { [REPOSITORY_PROPERTY]: v.repository, [MODEL_PROPERTY]: v.model, [VERSION_PROPERTY]: v.version, [PUSHED_PROPERTY]: true };
  const [pushed] = await m.findArtifacts({ type: 'PushedModel', properties, limit: 1 });
  if (!pushed) return v;
  const graph = await m.lineage(pushed.id, { direction: 'up', depth: 1 });
  const producers = new Set(graph.events.filter((e) => e.kind === 'output' && e.artifactId === pushed.id).map((e) => e.executionId));
  const first = graph.executions.filter((e) => producers.has(e.id)).sort((a, b) => a.id - b.id)[0];
  return first ? { ...v, run: { pipeline: first.pipeline, runId: first.runId } } : v;
}

export function formatVersionsTable(versions: readonly ListedVersion[]): string {
  if (versions.length === 0) return 'no model versions in the metadata store';
  const rows = versions.map((v) => [
    v.repository,
    v.model,
    String(v.version),
    v.state,
    v.publishedAt ?? v.allocatedAt,
    v.run ? `${v.run.pipeline}/${v.run.runId}` : '-',
    v.servedContentHash.slice(0, 12),
    origin(v),
  ]);
  const header = ['REPOSITORY', 'MODEL', 'VERSION', 'STATE', 'WHEN', 'RUN', 'CONTENT', 'FROM'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}

/** The published versions of a model, newest first, in one repository: the one named, or the only one holding the model. */
async function versionsOf(m: MetadataStore, model: string, repository: string | undefined): Promise<ModelVersionRecord[]> {
  const versions = await m.listModelVersions({ model, publishedOnly: true, ...(repository ? { repository: repository.replace(/\/+$/, '') } : {}) });
  if (versions.length === 0) throw new CliError(`no published version of model '${model}'${repository ? ` in ${repository}` : ''} in the metadata store (try \`mlpipe models list\`)`);
  const repositories = [...new Set(versions.map((v) => v.repository))];
  if (repositories.length > 1) throw new CliError(`model '${model}' is in ${repositories.length} repositories (${repositories.join(', ')}): name one with --repository`);
  return versions;
}

function pick(versions: readonly ModelVersionRecord[], version: number | undefined): ModelVersionRecord {
  if (version === undefined) return versions[0]!;
  const found = versions.find((v) => v.version === version);
  if (!found) throw new CliError(`model '${versions[0]!.model}' in ${versions[0]!.repository} has no published version ${version}; it has ${versions.map((v) => v.version).join(', ')}`);
  return found;
}

async function readPushRecord(store: Awaited<ReturnType<typeof openModelRepository>>, v: ModelVersionRecord): Promise<PushRecord> {
  const key = `${v.model}/${v.version}/${PUSH_FILE}`;
  const parsed = PushRecordSchema.safeParse(JSON.parse((await store.getObjectBuffer(key)).toString('utf8')));
  if (!parsed.success) throw new CliError(`${store.uriFor(key)} is not a push record mlpipe wrote`);
  return parsed.data;
}

function formatShown(v: ListedVersion, record: PushRecord): string {
  const lines = [
    `${v.model} version ${v.version} in ${v.repository}`,
    `  published:  ${v.publishedAt ?? 'not finished'}`,
    `  run:        ${v.run ? `${v.run.pipeline}/${v.run.runId}` : '-'}`,
    `  content:    ${v.servedContentHash}`,
    `  from:       ${origin(v)}`,
    `  model:      ${record.lineage.servingModel.uri} (${record.lineage.servingModel.contentHash})`,
  ];
  if (record.lineage.blessing) lines.push(`  blessing:   ${record.lineage.blessing.uri}`);
  if (record.lineage.infraBlessing) lines.push(`  infra:      ${record.lineage.infraBlessing.uri}`);
  // The server's address is not the registry's to know: `mlpipe serve`'s default port.
  if (record.exampleRequest) lines.push(`  try it:     ${curlCommand('http://127.0.0.1:8000', v.model, record.exampleRequest)}`);
  if (record.evaluation) {
    lines.push(`  evaluation: ${record.evaluation.verdict}`);
    // One line per metric and slice: a value and a change threshold on one metric read the same value.
    const metricLines = record.evaluation.metrics.map((metric) => {
      const slice = Object.entries(metric.slice).map(([k, val]) => `${k}=${String(val)}`).join(', ') || 'overall';
      return `    ${metric.metric} (${slice}): ${metric.value ?? 'undefined'}`;
    });
    lines.push(...new Set(metricLines));
  }
  return lines.join('\n');
}

const RepositoryFlags = z.object({ repository: z.string().optional(), s3Source: z.string().optional(), json: z.boolean().default(false) });

export function registerModelsCommand(program: Command): void {
  const models = program.command('models').description('the model registry: versions the Pusher published in model repositories');
  models
    .command('list')
    .description('models and their versions: when, from which ServingModel, which content')
    .option('--repository <uri>', 'only this model repository (file:///dir or s3://bucket/prefix)')
    .option('--json', 'print JSON')
    .action(async (raw: unknown) => {
      const flags = parseFlags(z.object({ repository: z.string().optional(), json: z.boolean().default(false) }), raw);
      await withMetadata(async (m) => {
        const records = await m.listModelVersions(flags.repository ? { repository: flags.repository.replace(/\/+$/, '') } : {});
        const versions = await Promise.all(records.map((v) => withPushingRun(m, v)));
        print(flags.json, versions, () => formatVersionsTable(versions));
      });
    });
  models
    .command('show')
    .description('one version (the newest by default): lineage, evaluation, content')
    .argument('<model>', 'model name')
    .option('--version <n>', 'this version instead of the newest')
    .option('--repository <uri>', 'the model repository, when the model is in several')
    .option('--s3-source <name>', 'S3 source an s3:// repository is read with')
    .option('--json', 'print JSON')
    .action(async (model: string, raw: unknown) => {
      const flags = parseFlags(RepositoryFlags.extend({ version: z.coerce.number().int().positive().optional() }), raw);
      await withMetadata(async (m) => {
        const v = pick(await versionsOf(m, model, flags.repository), flags.version);
        const store = await openModelRepository(v.repository, flags.s3Source, s3SourcesOf(settings()));
        try {
          const listed = await withPushingRun(m, v);
          const record = await readPushRecord(store, v);
          print(flags.json, { ...listed, push: record }, () => formatShown(listed, record));
        } finally {
          await store.close();
        }
      });
    });
  models
    .command('rollback')
    .description("publishes an earlier version's files again as the newest version, so a running server switches back")
    .argument('<model>', 'model name')
    .requiredOption('--to <n>', 'the version to go back to')
    .option('--repository <uri>', 'the model repository, when the model is in several')
    .option('--s3-source <name>', 'S3 source an s3:// repository is written with')
    .option('--json', 'print JSON')
    .action(async (model: string, raw: unknown) => {
      const flags = parseFlags(RepositoryFlags.extend({ to: z.coerce.number().int().positive() }), raw);
      await withMetadata(async (m) => {
        const versions = await versionsOf(m, model, flags.repository);
        const target = pick(versions, flags.to);
        if (target.version === versions[0]!.version) throw new CliError(`version ${target.version} of '${model}' is already the newest: nothing to roll back`);
        const store = await openModelRepository(target.repository, flags.s3Source, s3SourcesOf(settings()));
        try {
          const record = await readPushRecord(store, target);
          const dir = `${target.model}/${target.version}`;
          const modelBytes = await store.getObjectBuffer(`${dir}/${REPOSITORY_MODEL_FILE}`);
          const pushed = await publishNewVersion(store, m, {
            repository: target.repository,
            model,
            modelFile: modelBytes,
            modelDigest: { size: modelBytes.length, sha256: createHash('sha256').update(modelBytes).digest('hex') },
            config: await store.getObjectBuffer(`${dir}/${VERSION_CONFIG_FILE}`),
            details: { kind: 'rollback', rollbackOf: target.version, sourceUri: record.lineage.servingModel.uri, sourceContentHash: record.lineage.servingModel.contentHash },
            record: { ...record, lineage: { ...record.lineage, rollbackOf: target.version } },
          });
          print(flags.json, pushed, () => `rolled back ${model} in ${target.repository}: version ${pushed.modelVersion} now serves version ${target.version}'s model`);
        } finally {
          await store.close();
        }
      });
    });
}
