import type { ArtifactRef } from '../artifacts/artifact-types';
import { ApplicationFailure } from '@temporalio/activity';
import { computeFingerprint } from '../artifacts/fingerprint';
import { ContentParameterError, hashParameterContent } from '../artifacts/parameter-content';
import { RUN_STATUS_PROPERTY, type MetadataStore } from '../artifacts/metadata/metadata-store';
import type { ArtifactStore } from '../artifacts/store';
import {
  AbandonNodeInputSchema,
  PrepareNodeInputSchema,
  PublishNodeInputSchema,
  type AbandonNodeInput,
  type PrepareNodeInput,
  type PrepareNodeResult,
  type PublishNodeInput,
} from '../workflows/pipeline-types';

export interface ControlDeps {
  store: ArtifactStore;
  metadata: MetadataStore;
}

type RefsByKey = Record<string, ArtifactRef[]>;

/** Metadata records reduced to the refs that travel through the workflow. */
function refsOf(records: Record<string, Array<ArtifactRef & { id: number }>>): RefsByKey {
  return Object.fromEntries(
    Object.entries(records).map(([k, recs]) => [k, recs.map(({ id, type, uri, contentHash, properties }) => ({ id, type, uri, contentHash, properties }))]),
  );
}

/** Where a node's output lives: one prefix per run and node, so a retried attempt writes the same place. */
export function outputUri(store: ArtifactStore, pipeline: string, runId: string, nodeId: string, key: string): string {
  return store.uriFor(`pipelines/${pipeline}/runs/${runId}/${nodeId}/${key}`);
}

/**
 * The control-plane activities (queue mlpipe-control): fingerprint and cache look-up before a node,
 * publication of outputs and lineage after it. They touch metadata and manifests only, never data.
 */
export function createControlActivities({ store, metadata }: ControlDeps) {
  /**
   * The cache key, and whether it can be trusted: a content parameter naming a location whose content
   * cannot be hashed here (s3://, say) makes the node uncacheable rather than keyed by its name.
   */
  async function fingerprintOf(input: PrepareNodeInput): Promise<{ fingerprint: string; cacheable: boolean }> {
    const contents: Record<string, string> = {};
    let cacheable = true;
    for (const param of input.contentParameters) {
      const value = input.parameters[param];
      const values = typeof value === 'string' ? [value] : Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
      const hashes: string[] = [];
      for (const [i, v] of values.entries()) {
        const where = `parameter ${param}${values.length > 1 ? `[${i}]` : ''}`;
        let hash: string | null;
        try {
          hash = await hashParameterContent(v, where);
        } catch (err) {
          if (err instanceof ContentParameterError) throw ApplicationFailure.nonRetryable(err.message, 'UserInputError');
          throw err;
        }
        if (hash === null) cacheable = false;
        else hashes.push(hash);
      }
      contents[param] = hashes.join(',');
    }
    const fingerprint = computeFingerprint({
      component: input.component,
      componentVersion: input.componentVersion,
      parameters: input.parameters,
      inputs: Object.fromEntries(Object.entries(input.inputs).map(([k, refs]) => [k, refs.map((r) => r.contentHash)])),
      // The fingerprint's slot for named files' content (user modules and input data alike).
      userModules: contents,
    });
    return { fingerprint, cacheable };
  }

  /** Outputs of a cached execution, if every one is still committed with the same content. */
  async function reusableOutputs(candidate: { outputs: Record<string, Array<ArtifactRef & { id: number; state: string }>> }, expectedKeys: string[]): Promise<RefsByKey | null> {
    if (!expectedKeys.every((k) => (candidate.outputs[k]?.length ?? 0) > 0)) return null;
    for (const refs of Object.values(candidate.outputs)) {
      for (const ref of refs) {
        if (ref.state !== 'live') return null;
        const manifest = await store.readManifest(ref.uri);
        if (!manifest || manifest.contentHash !== ref.contentHash) {
          await metadata.setArtifactState(ref.id, 'deleted');
          return null;
        }
      }
    }
    return refsOf(candidate.outputs);
  }

  return {
    async prepareNode(raw: PrepareNodeInput): Promise<PrepareNodeResult> {
      const input = PrepareNodeInputSchema.parse(raw);
      const { fingerprint, cacheable } = await fingerprintOf(input);
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
        const source = !complete && existing.cachedFrom ? await metadata.getExecution(existing.cachedFrom) : null;
        if (source) outputs = await metadata.finishExecution(existing.id, { state: 'cached', outputs: refsOf(source.outputs) });
        return { cached: true, executionId: existing.id, outputs, ...(existing.summary ? { summary: existing.summary } : {}) };
      }
      const execution = {
        pipeline: input.pipeline,
        runId: input.runId,
        nodeId: input.nodeId,
        component: input.component,
        componentVersion: input.componentVersion,
        fingerprint,
        inputs: input.inputs,
      };
      if (input.useCache && cacheable && !existing) {
        for (const candidate of await metadata.findByFingerprint(fingerprint)) {
          const outputs = await reusableOutputs(candidate, Object.keys(input.outputs));
          if (!outputs) continue;
          const executionId = await metadata.startExecution({ ...execution, state: 'cached', cachedFrom: candidate.executionId });
          const original = await metadata.getExecution(candidate.executionId);
          const summary = original?.summary ?? undefined;
          const published = await metadata.finishExecution(executionId, { state: 'cached', outputs, ...(summary ? { summary } : {}) });
          return { cached: true, executionId, outputs: published, ...(summary ? { summary } : {}) };
        }
      }
      const executionId = existing?.state === 'running' ? existing.id : await metadata.startExecution(execution);
      const outputUris = Object.fromEntries(
        Object.keys(input.outputs).map((key) => [key, outputUri(store, input.pipeline, input.runId, input.nodeId, key)]),
      );
      return { cached: false, executionId, fingerprint, outputUris };
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
      return metadata.finishExecution(input.executionId, {
        state: 'succeeded',
        outputs: input.outputs,
        worker: input.worker,
        attempt: input.attempt,
        summary: input.summary,
      });
    },

    async abandonNode(raw: AbandonNodeInput): Promise<void> {
      const input = AbandonNodeInputSchema.parse(raw);
      await metadata.finishExecution(input.executionId, { state: input.state, error: input.error });
    },

    async finishRun(input: { runId: string; pipeline: string; state: 'succeeded' | 'failed' | 'cancelled' }): Promise<void> {
      await metadata.putContext('run', input.runId, { [RUN_STATUS_PROPERTY]: input.state }, { pipeline: input.pipeline });
    },
  };
}

export type ControlActivities = ReturnType<typeof createControlActivities>;
