import { createHash } from 'node:crypto';
import { cp, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { z } from 'zod';
import { ExecutorResultSchema, UserInputError, type Executor, type ExecutorContext, type ExecutorInput, type ExecutorResult, type ModelRegistryAccess, type Progress } from '../../dsl/executor';
import { loadConfig, resolveConfig } from '../../config/config';
import type { ResolvedInputs } from '../../dsl/resolve';
import { runResolveStep } from '../../activities/resolve-step';
import { FileHashMemo, listInputFiles } from '../../artifacts/input-files';
import { openMetadataStore } from '../../artifacts/metadata/metadata-store';
import { NO_S3_SOURCES, s3SourcesFor, s3SourcesOf, type S3Sources } from '../../artifacts/s3-sources';
import type { PropertyValue } from '../../artifacts/artifact-types';
import { contentHashOf } from '../../artifacts/manifest';
import { describeIssues } from '../../dsl/zod-issues';
import type { ManifestFile } from '../../artifacts/store';
import type { ComponentSpec } from '../../dsl/component';
import { tempDir } from './tmp';

/** An input artifact for a test: a local directory, with properties when the executor reads them. */
export interface TestArtifact {
  localDir: string;
  properties?: Record<string, PropertyValue>;
}

export interface ExecutorTestOptions<P extends z.ZodType> {
  /** Raw parameters, parsed by the spec's schema as the executor activity does. */
  parameters?: z.input<P>;
  /** Input artifacts by input key: local directories, or directories with properties. */
  inputs?: Record<string, Array<string | TestArtifact>>;
  signal?: AbortSignal;
  resumeState?: unknown;
  /** Files of the checkpoint a retry would resume from, copied into `ctx.checkpointDir` first. */
  checkpointFiles?: string;
  /** The S3 endpoints and keys the resolve step lists s3:// inputs with and the executor reads them with. */
  s3Sources?: S3Sources;
  /** For a component that writes the model registry; by default this process's configuration's (environment variables). */
  modelRegistry?: ModelRegistryAccess;
  /** Called on every progress report, as it happens (e.g. to cancel mid-run). */
  onProgress?: (progress: Progress) => void;
}

export interface ExecutorTestRun {
  /** Local directory of each output key, filled by the executor. */
  outputDirs: Record<string, string>;
  result: ExecutorResult;
  /** Every progress report, in order. */
  progress: Progress[];
  /** The state of every `checkpoint` call, in order (checked to be JSON, as the activity does). */
  checkpoints: unknown[];
  /** `ctx.checkpointDir` as the executor left it. */
  checkpointDir: string;
  /** An output as the input of a next executor, with the properties this run gave it. */
  artifact(outputKey: string): TestArtifact;
}

async function filesUnder(root: string, dir = root): Promise<ManifestFile[]> {
  const out: ManifestFile[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      out.push(...(await filesUnder(root, full)));
    } else if (entry.isFile()) {
      const body = await readFile(full);
      out.push({
        path: path.relative(root, full).split(path.sep).join('/'),
        size: (await stat(full)).size,
        sha256: createHash('sha256').update(body).digest('hex'),
      });
    }
  }
  return out;
}

function configuredModelRegistry(): ModelRegistryAccess {
  const config = resolveConfig(loadConfig());
  return { metadataUrl: config.metadataUrl, s3Sources: s3SourcesOf(config) };
}

/** The component's resolve step as the control step runs it: local files and s3:// with `s3Sources`, an in-memory metadata store. */
async function resolveForTest(spec: ComponentSpec, parameters: unknown, inputs: Record<string, ExecutorInput[]>, s3Sources: S3Sources): Promise<ResolvedInputs> {
  const metadata = await openMetadataStore('sqlite://:memory:');
  try {
    const memo = new FileHashMemo();
    return await runResolveStep(spec, {
      pipeline: 'test',
      nodeId: `test-${spec.type}`,
      parameters,
      inputs: Object.fromEntries(Object.entries(inputs).map(([k, list]) => [k, list.map((i) => i.ref)])),
      listFiles: (location, options) => listInputFiles(location, { ...options, s3: s3Sources, memo }),
      metadata,
    });
  } finally {
    await metadata.close();
  }
}

/**
 * Runs a component's executor (give the spec or the factory `defineComponent` made) in this process
 * on local directories, the way the control step and the executor activity do (parameters parsed by
 * the spec's schema, its resolve step, fresh output and scratch directories, the executor loaded from
 * `spec.executor`), without Temporal or an artifact store.
 */
export async function runExecutorForTest<P extends z.ZodType>(
  component: ComponentSpec<P> | { spec: ComponentSpec<P> },
  options: ExecutorTestOptions<P> = {},
): Promise<ExecutorTestRun> {
  const spec = ('spec' in component ? component.spec : component) as unknown as ComponentSpec;
  const parsed = spec.parameters.safeParse(options.parameters ?? {});
  if (!parsed.success) throw new UserInputError(`${spec.type} parameters: ${describeIssues(parsed.error, '(parameters)')}`);

  const inputs: Record<string, ExecutorInput[]> = Object.fromEntries(Object.keys(spec.inputs).map((key) => [key, []]));
  for (const [key, artifacts] of Object.entries(options.inputs ?? {})) {
    const inputSpec = spec.inputs[key];
    if (!inputSpec) throw new Error(`${spec.type} has no input "${key}" (inputs: ${Object.keys(spec.inputs).join(', ')})`);
    inputs[key] = await Promise.all(
      artifacts.map(async (artifact) => {
        const { localDir, properties = {} } = typeof artifact === 'string' ? { localDir: artifact } : artifact;
        return {
          localDir,
          ref: {
            type: inputSpec.type,
            uri: pathToFileURL(localDir).href,
            contentHash: contentHashOf(await filesUnder(localDir)),
            properties,
          },
        };
      }),
    );
  }

  const s3Sources = options.s3Sources ?? NO_S3_SOURCES;
  const resolved = await resolveForTest(spec, parsed.data, inputs, s3Sources);
  const outputDirs: Record<string, string> = {};
  for (const key of Object.keys(spec.outputs)) outputDirs[key] = await tempDir(`${spec.type}-${key}`);
  const progress: Progress[] = [];
  const checkpoints: unknown[] = [];
  const checkpointDir = await tempDir(`${spec.type}-checkpoint`);
  if (options.checkpointFiles) await cp(options.checkpointFiles, checkpointDir, { recursive: true });
  const ctx: ExecutorContext = {
    nodeId: `test-${spec.type}`,
    run: { pipeline: 'test', workflowId: 'test-workflow', runId: 'test-run' },
    parameters: parsed.data,
    inputs,
    outputDirs,
    resolved,
    s3Sources: s3SourcesFor(s3Sources, Object.values(resolved.files)),
    ...(spec.writesModelRegistry ? { modelRegistry: options.modelRegistry ?? configuredModelRegistry() } : {}),
    tmpDir: await tempDir(`${spec.type}-tmp`),
    checkpointDir,
    resumeState: options.resumeState,
    progress: (p) => {
      progress.push(p);
      options.onProgress?.(p);
    },
    checkpoint: async (state) => {
      checkpoints.push(JSON.parse(JSON.stringify({ state })).state);
    },
    signal: options.signal ?? new AbortController().signal,
  };

  const mod = require(spec.executor.module) as Record<string, unknown>;
  const executor = mod[spec.executor.export ?? 'executor'];
  if (typeof executor !== 'function') throw new Error(`${spec.executor.module} exports no executor function`);
  const result = ExecutorResultSchema.parse(await (executor as Executor)(ctx));
  return {
    outputDirs,
    result,
    progress,
    checkpoints,
    checkpointDir,
    artifact: (key) => {
      const localDir = outputDirs[key];
      if (!localDir) throw new Error(`${spec.type} has no output "${key}"`);
      return { localDir, properties: result.properties?.[key] ?? {} };
    },
  };
}
