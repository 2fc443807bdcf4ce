import { ApplicationFailure, log } from '@temporalio/activity';
import type { ArtifactRef } from '../artifacts/artifact-types';
import { fingerprintBase, fingerprintWithVersion } from '../artifacts/fingerprint';
import { FileHashMemo, listInputFiles } from '../artifacts/input-files';
import { InvalidArtifactLocationError } from '../artifacts/manifest';
import { RUN_STATUS_PROPERTY, type MetadataStore } from '../artifacts/metadata/metadata-store';
import type { S3Sources } from '../artifacts/s3-sources';
import type { ArtifactStore } from '../artifacts/store';
import type { ComponentSpec } from '../dsl/component';
import { ComponentError, UserInputError } from '../dsl/executor';
import type { ResolvedInputs } from '../dsl/resolve';
import { describeIssues } from '../dsl/zod-issues';
import {
  AbandonNodeInputSchema,
  PrepareNodeInputSchema,
  PublishNodeInputSchema,
  RecordApprovalInputSchema,
  approvalProperty,
  type AbandonNodeInput,
  type PrepareNodeInput,
  type PrepareNodeResult,
  type PublishNodeInput,
  type RecordApprovalInput,
} from '../workflows/pipeline-types';
import type { ComponentRegistry } from './component-registry';
import { outputKey } from './run-layout';
import { runResolveStep } from './resolve-step';

export interface ControlDeps {
  store: ArtifactStore;
  metadata: MetadataStore;
  /** The components this control worker knows: their versions key the cache, their resolve steps run here. */
  registry: ComponentRegistry;
  /** For resolve steps that list s3:// inputs: the artifact store's keys and the named sources of the configuration. */
  s3Sources?: S3Sources;
}

type RefsByKey = Record<string, ArtifactRef[]>;

/** Metadata records reduced to the refs that travel through the workflow. */
function refsOf(records: Record<string, Array<ArtifactRef & { id: number }>>): RefsByKey {
  return Object.fromEntries(
    Object.entries(records).map(([k, recs]) => [k, recs.map(({ id, type, uri, contentHash, properties }) => ({ id, type, uri, contentHash, properties }))]),
  );
}


/** Bad input: the node fails at once with the message; retrying cannot fix it. */
const badInput = (message: string) => ApplicationFailure.nonRetryable(message, 'UserInputError');

/** The user's mistakes and a component's broken contract fail the node at once; anything else may pass on a retry. */
function asNonRetryable(err: unknown): unknown {
  if (err instanceof UserInputError) return badInput(err.message);
  if (err instanceof ComponentError) return ApplicationFailure.nonRetryable(err.message, 'ComponentError');
  return err;
}

/** What the cache key takes from the resolve step: files by path and content, artifacts by content. */
function keyedResolution(resolved: ResolvedInputs) {
  return {
    files: Object.fromEntries(Object.entries(resolved.files).map(([name, set]) => [name, set.files.map((f) => ({ path: f.path, contentHash: f.contentHash }))])),
    artifacts: Object.fromEntries(Object.entries(resolved.artifacts).map(([name, refs]) => [name, refs.map((r) => r.contentHash)])),
  };
}

/**
 * The control-plane activities, run as local activities of the control worker: the cache look-up
 * before a node (after its resolve step), publication of outputs and lineage after it. They touch
 * metadata, manifests and listings only, never data.
 */
export function createControlActivities({ store, metadata, registry, s3Sources }: ControlDeps) {
  // Lives as long as the control worker: a file unchanged since its last hashing is not read again.
  const hashes = new FileHashMemo();

  async function resolve(input: PrepareNodeInput, spec: ComponentSpec, parameters: unknown): Promise<ResolvedInputs> {
    try {
      return await runResolveStep(spec, {
        pipeline: input.pipeline,
        nodeId: input.nodeId,
        parameters,
        inputs: input.inputs,
        listFiles: (location, options) => listInputFiles(location, { ...options, s3: s3Sources, memo: hashes }),
        metadata,
      });
    } catch (err) {
      throw asNonRetryable(err);
    }
  }

  /**
   * Outputs of a cached execution, if every one is still committed in this store with the same
   * content; otherwise why not. Outputs committed in another store (the artifact root changed since)
   * are a miss, not an error.
   */
  async function reusableOutputs(
    candidate: { executionId: number; outputs: Record<string, Array<ArtifactRef & { id: number; state: string }>> },
    expectedKeys: string[],
  ): Promise<{ outputs: RefsByKey } | { miss: string }> {
    const missing = expectedKeys.find((k) => (candidate.outputs[k]?.length ?? 0) === 0);
    if (missing) return { miss: `execution #${candidate.executionId} recorded no '${missing}' output` };
    for (const refs of Object.values(candidate.outputs)) {
      for (const ref of refs) {
        if (ref.state !== 'live') return { miss: `output ${ref.uri} of execution #${candidate.executionId} is ${ref.state}` };
        let manifest;
        try {
          manifest = await store.readManifest(ref.uri);
        } catch (err) {
          if (err instanceof InvalidArtifactLocationError) {
            return { miss: `output ${ref.uri} of execution #${candidate.executionId} is not in the current artifact store ${store.rootUri}` };
          }
          throw err;
        }
        if (!manifest || manifest.contentHash !== ref.contentHash) {
          await metadata.setArtifactState(ref.id, 'deleted');
          return { miss: `output ${ref.uri} of execution #${candidate.executionId} is no longer committed with its content` };
        }
      }
    }
    return { outputs: refsOf(candidate.outputs) };
  }

  return {
    async prepareNode(raw: PrepareNodeInput): Promise<PrepareNodeResult> {
      const input = PrepareNodeInputSchema.parse(raw);
      const spec = registry.get(input.component);
      if (!spec) {
        // Retryable: during a rolling deploy another control worker may know the component.
        throw ApplicationFailure.retryable(
          `component '${input.component}' is not registered on the control worker (known: ${[...registry.keys()].sort().join(', ')}); start it with --components <module> that exports it`,
          'UnknownComponent',
        );
      }
      const params = spec.parameters.safeParse(input.parameters);
      if (!params.success) throw badInput(`parameters: ${describeIssues(params.error, '(parameters)')}`);
      const resolved = await resolve(input, spec, params.data);
      // The version registered here, not the one the pipeline was compiled with: a schedule created
      // before an executor's version bump must not keep hitting the old cache.
      const componentVersion = spec.version;
      let keyBase: string;
      try {
        keyBase = fingerprintBase({
          component: input.component,
          parameters: params.data as Record<string, unknown>,
          inputs: Object.fromEntries(Object.entries(input.inputs).map(([k, refs]) => [k, refs.map((r) => r.contentHash)])),
          resolved: keyedResolution(resolved),
        });
      } catch (err) {
        // Parameters the component's schema turns into something JSON cannot carry (a Date, say).
        throw ApplicationFailure.nonRetryable(`${input.component} parameters cannot be part of a cache key: ${(err as Error).message}`, 'ComponentError');
      }
      const fingerprint = fingerprintWithVersion(keyBase, componentVersion);

      // A retried prepare (e.g. after a control worker crash) must not start a second execution.
      const run = await metadata.getRun(input.runId);
      if (!run) {
        await metadata.putContext('run', input.runId, { [RUN_STATUS_PROPERTY]: 'running', workflowId: input.workflowId }, { pipeline: input.pipeline });
      }
      const existing = run?.executions.find((e) => e.nodeId === input.nodeId && e.fingerprint === fingerprint);
      if (existing?.state === 'cached') {
        let outputs = refsOf(existing.outputs);
        // An earlier attempt recorded the cache hit but died before attaching its outputs.
        const complete = Object.keys(input.outputs).every((k) => (outputs[k]?.length ?? 0) > 0);
        const source = existing.cachedFrom ? await metadata.getExecution(existing.cachedFrom) : null;
        if (!complete && source) outputs = await metadata.finishExecution(existing.id, { state: 'cached', outputs: refsOf(source.outputs) });
        return {
          cached: true,
          executionId: existing.id,
          outputs,
          ...(existing.summary ? { summary: existing.summary } : {}),
          ...(source?.blocked ? { blocked: source.blocked } : {}),
        };
      }
      const execution = {
        pipeline: input.pipeline,
        runId: input.runId,
        nodeId: input.nodeId,
        component: input.component,
        componentVersion,
        fingerprint,
        // Artifacts the resolve step found are recorded as inputs of the execution, as TFX's resolvers' are.
        inputs: { ...input.inputs, ...resolved.artifacts },
        resolved,
      };
      const misses: string[] = [];
      if (input.useCache && !existing) {
        for (const candidate of await metadata.findByFingerprint(fingerprint)) {
          const reusable = await reusableOutputs(candidate, Object.keys(input.outputs));
          if ('miss' in reusable) {
            misses.push(reusable.miss);
            continue;
          }
          const executionId = await metadata.startExecution({ ...execution, state: 'cached', cachedFrom: candidate.executionId });
          const original = await metadata.getExecution(candidate.executionId);
          const summary = original?.summary ?? undefined;
          const published = await metadata.finishExecution(executionId, { state: 'cached', outputs: reusable.outputs, ...(summary ? { summary } : {}) });
          return { cached: true, executionId, outputs: published, ...(summary ? { summary } : {}), ...(candidate.blocked ? { blocked: candidate.blocked } : {}) };
        }
      }
      const cacheMiss = misses.length > 0 ? misses.join('; ') : undefined;
      if (cacheMiss) log.info(`node '${input.nodeId}': cached outputs not reusable, running it: ${cacheMiss}`);
      const executionId = existing?.state === 'running' ? existing.id : await metadata.startExecution({ ...execution, ...(cacheMiss ? { cacheMiss } : {}) });
      const outputUris = Object.fromEntries(
        Object.keys(input.outputs).map((key) => [key, store.uriFor(outputKey(input.pipeline, input.runId, input.nodeId, key))]),
      );
      return { cached: false, executionId, fingerprint, keyBase, componentVersion, outputUris, resolved, ...(cacheMiss ? { cacheMiss } : {}) };
    },

    async publishNode(raw: PublishNodeInput): Promise<RefsByKey> {
      const input = PublishNodeInputSchema.parse(raw);
      for (const refs of Object.values(input.outputs)) {
        for (const ref of refs) {
          const manifest = await store.readManifest(ref.uri);
          if (!manifest || manifest.contentHash !== ref.contentHash) {
            throw new Error(`output ${ref.uri} is not committed with content ${ref.contentHash.slice(0, 12)}; refusing to publish`);
          }
        }
      }
      if (input.keyBase && input.keyVersion && input.componentVersion && input.componentVersion !== input.keyVersion) {
        log.warn(
          `execution #${input.executionId}: keyed with component version ${input.keyVersion} (control worker), but the executor ran version ${input.componentVersion}; keying it by ${input.componentVersion}`,
        );
        await metadata.rekeyExecution(input.executionId, { fingerprint: fingerprintWithVersion(input.keyBase, input.componentVersion), componentVersion: input.componentVersion });
      }
      return metadata.finishExecution(input.executionId, {
        state: 'succeeded',
        outputs: input.outputs,
        worker: input.worker,
        attempt: input.attempt,
        summary: input.summary,
        ...(input.blocked ? { blocked: input.blocked } : {}),
      });
    },

    async abandonNode(raw: AbandonNodeInput): Promise<void> {
      const input = AbandonNodeInputSchema.parse(raw);
      await metadata.finishExecution(input.executionId, { state: input.state, error: input.error });
    },

    async recordApproval(raw: RecordApprovalInput): Promise<void> {
      const input = RecordApprovalInputSchema.parse(raw);
      await metadata.putContext('run', input.runId, { [approvalProperty(input.nodeId)]: JSON.stringify(input.approval) }, { pipeline: input.pipeline });
    },

    async finishRun(input: { runId: string; pipeline: string; state: 'succeeded' | 'failed' | 'cancelled' }): Promise<void> {
      await metadata.putContext('run', input.runId, { [RUN_STATUS_PROPERTY]: input.state }, { pipeline: input.pipeline });
    },
  };
}

export type ControlActivities = ReturnType<typeof createControlActivities>;
