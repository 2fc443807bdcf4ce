import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { builtinRegistry } from '../../activities/builtin-components';
import type { ComponentRegistry } from '../../activities/component-registry';
import { openArtifactStore } from '../../artifacts/open-store';
import { openMetadataStore, type MetadataStore } from '../../artifacts/metadata/metadata-store';
import type { ArtifactStore } from '../../artifacts/store';
import { connectClient, startPipeline, waitForRun } from '../../client/pipeline-client';
import { ENV_VARS, loadConfig, resolveConfig, type QueueName, type ResolvedConfig } from '../../config/config';
import { compilePipeline, type PipelineDefinition } from '../../dsl/compile';
import type { PipelineSpec } from '../../dsl/ir';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { startWorkers, type RunningWorkers } from '../../workers/worker';
import type { PipelineStatus, RunOptions } from '../../workflows/pipeline-types';
import { ENGINE_COMPONENTS } from '../fixtures/engine-components';
import { TestStep } from '../fixtures/test-components';
import { Resumable, ResumableProcess } from '../fixtures/durable-components';
import { testTemporal } from '../support/servers';
import { tempDir } from '../support/tmp';

// The SDK logs every expected activity failure with its stack at WARN, which would bury test output.
try {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
} catch {
  // Another test module installed the runtime first; its settings stand.
}

export const TEST_COMPONENTS_MODULE = path.join(__dirname, '..', 'fixtures', 'test-components.js');
export const DURABLE_COMPONENTS_MODULE = path.join(__dirname, '..', 'fixtures', 'durable-components.js');

export function testRegistry(): ComponentRegistry {
  const registry = builtinRegistry();
  for (const component of [TestStep, Resumable, ResumableProcess, ...ENGINE_COMPONENTS]) registry.register(component.spec);
  return registry;
}

export interface TestStack {
  config: ResolvedConfig;
  client: Client;
  store: ArtifactStore;
  metadata: MetadataStore;
  registry: ComponentRegistry;
  workers: RunningWorkers[];
  /** MLPIPE_* variables that point a CLI process (worker, run, schedule) at this stack. */
  env(): Record<string, string>;
  /** Workers for `queues`; `registry` gives them other component versions than the stack's. */
  addWorkers(queues: QueueName[], opts?: { identity?: string; concurrency?: Partial<Record<QueueName, number>>; registry?: ComponentRegistry }): Promise<RunningWorkers>;
  compile(definition: PipelineDefinition): PipelineSpec;
  start(definition: PipelineDefinition | PipelineSpec, options?: Partial<RunOptions>): Promise<WorkflowHandle>;
  run(definition: PipelineDefinition | PipelineSpec, options?: Partial<RunOptions>): Promise<{ handle: WorkflowHandle; status: PipelineStatus; error?: string; wallMs: number }>;
  stop(): Promise<void>;
}

/**
 * A real stack for engine tests: the shared Temporal dev server, a fresh artifact root and SQLite
 * metadata store in a temp dir, and in-process workers. Runs left open are terminated on stop so the
 * next test's workers never pick them up.
 */
export async function startTestStack(
  opts: {
    queues?: QueueName[];
    artifactRoot?: string;
    s3?: ResolvedConfig['s3'];
    /** Named S3 sources input locations may be read with (ExampleGen's `s3Source`). */
    s3Sources?: ResolvedConfig['s3Sources'];
    metadataUrl?: string;
    concurrency?: Partial<Record<QueueName, number>>;
  } = {},
): Promise<TestStack> {
  const temporal = await testTemporal();
  const home = await tempDir('stack');
  const config = resolveConfig({
    ...loadConfig({ env: {}, cwd: home }),
    temporalAddress: temporal.address,
    ...(opts.artifactRoot ? { artifactRoot: opts.artifactRoot } : {}),
    ...(opts.s3 ? { s3: opts.s3 } : {}),
    ...(opts.s3Sources ? { s3Sources: opts.s3Sources } : {}),
    ...(opts.metadataUrl ? { metadataUrl: opts.metadataUrl } : {}),
  });
  const registry = testRegistry();
  const store = await openArtifactStore(config.artifactRoot, config.s3, { cacheDir: path.join(home, 'cache') });
  const metadata = await openMetadataStore(config.metadataUrl);
  const { client, close } = await connectClient(config);
  const handles: WorkflowHandle[] = [];
  const workers: RunningWorkers[] = [];
  const stack: TestStack = {
    config,
    client,
    store,
    metadata,
    registry,
    workers,
    env: () => ({
      [ENV_VARS.home]: config.home,
      [ENV_VARS.temporalAddress]: config.temporalAddress!,
      [ENV_VARS.artifactRoot]: config.artifactRoot,
      [ENV_VARS.metadataUrl]: config.metadataUrl,
      ...(config.s3
        ? {
            [ENV_VARS.s3Endpoint]: config.s3.endpoint,
            [ENV_VARS.s3AccessKey]: config.s3.accessKey,
            [ENV_VARS.s3SecretKey]: config.s3.secretKey,
            [ENV_VARS.s3Region]: config.s3.region,
          }
        : {}),
    }),
    async addWorkers(queues, o = {}) {
      const w = await startWorkers({ config, queues, registry: o.registry ?? registry, identity: o.identity, concurrency: { cpu: 4, gpu: 2, ...opts.concurrency, ...o.concurrency } });
      workers.push(w);
      return w;
    },
    compile: (definition) => compilePipeline(definition, registry),
    async start(definition, options = {}) {
      const spec = 'irVersion' in definition ? definition : compilePipeline(definition, registry);
      const handle = await startPipeline(client, spec, options);
      handles.push(handle);
      return handle;
    },
    async run(definition, options = {}) {
      const started = Date.now();
      const handle = await stack.start(definition, options);
      const outcome = await waitForRun(handle);
      return { handle, status: outcome.status, error: outcome.error, wallMs: Date.now() - started };
    },
    async stop() {
      for (const h of handles) {
        const d = await h.describe().catch(() => null);
        if (d?.status.name === 'RUNNING') await h.terminate('test finished').catch(() => undefined);
      }
      await Promise.all(workers.map((w) => w.shutdown()));
      await close();
      await metadata.close();
      await store.close();
    },
  };
  if (opts.queues?.length) await stack.addWorkers(opts.queues);
  return stack;
}
