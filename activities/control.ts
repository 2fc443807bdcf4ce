import type { ArtifactRef } from '../artifacts/artifact-types';
import { computeFingerprint, hashFileContent } from '../artifacts/fingerprint';
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
import type { ComponentRegistry } from './component-registry';

export interface ControlDeps {
  store: ArtifactStore;
  metadata: MetadataStore;
  registry: ComponentRegistry;
}

type RefsByKey = Record<string, ArtifactRef[]>;

/** Where a node's output lives: one prefix per run and node, so a retried attempt writes the same place. */
export function outputUri(store: ArtifactStore, pipeline: string, runId: string, nodeId: string, key: string): string {
  return store.uriFor(`pipelines/${pipeline}/runs/${runId}/${nodeId}/${key}`);
}

/**
 * The control-plane activities (queue mlpipe-control): fingerprint and cache look-up before a node,
 * publication of outputs and lineage after it. They touch metadata and manifests only, never data.
 */
export function createControlActivities({ store, metadata, registry }: ControlDeps) {
  async function fingerprintOf(input: PrepareNodeInput): Promise<string> {
    const spec = registry.get(input.component);
    const userModules: Record<string, string> = {};
    for (const param of spec?.userModuleParameters ?? []) {
      const modulePath = input.parameters[param];
      if (typeof modulePath === 'string') userModules[param] = await hashFileContent(modulePath);
    }
    return computeFingerprint({
      component: input.component,
      componentVersion: input.componentVersion,
      parameters: input.parameters,
      inputs: Object.fromEntries(Object.entries(input.inputs).map(([k, refs]) => [k, refs.map((r) => r.contentHash)])),
      userModules,
    });
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
    return Object.fromEntries(
      Object.entries(candidate.outputs).map(([k, refs]) => [
        k,
        refs.map(({ id, type, uri, contentHash, properties }) => ({ id, type, uri, contentHash, properties })),
      ]),
    );
  }

  return {
    async prepareNode(raw: PrepareNodeInput): Promise<PrepareNodeResult> {
      const input = PrepareNodeInputSchema.parse(raw);
      const fingerprint = await fingerprintOf(input);
      // A retried prepare (e.g. after a control worker crash) must not start a second execution.
      const run = await metadata.getRun(input.runId);
      if (!run) {
        await metadata.putContext('run', input.runId, { [RUN_STATUS_PROPERTY]: 'running', workflowId: input.workflowId }, { pipeline: input.pipeline });
      }
      const existing = run?.executions.find((e) => e.nodeId === input.nodeId && e.fingerprint === fingerprint);
      if (existing?.state === 'cached') {
        const outputs = Object.fromEntries(
          Object.entries(existing.outputs).map(([k, recs]) => [k, recs.map(({ id, type, uri, contentHash, properties }) => ({ id, type, uri, contentHash, properties }))]),
        );
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
      if (input.useCache && !existing) {
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
