import { z } from 'zod';
import { PropertyValueSchema, type ArtifactRef, type PropertyValue } from '../artifacts/artifact-types';
import type { ComponentFactory, ComponentSpec, InputSpec } from './component';
import type { ResolvedInputs } from './resolve';
import type { S3Sources } from '../artifacts/s3-sources';

/** Progress an executor reports; it becomes the activity's heartbeat details and the node's status. */
export const ProgressSchema = z.object({
  /** 0..1 when known. */
  fraction: z.number().min(0).max(1).optional(),
  message: z.string().optional(),
  /** Small counters shown in the UI, e.g. rows read. */
  counters: z.record(z.string(), z.number()).optional(),
});
export type Progress = z.infer<typeof ProgressSchema>;

export interface ExecutorInput {
  ref: ArtifactRef;
  /** Local directory holding the artifact's files (read-only). */
  localDir: string;
}

/**
 * What a component executor receives, typed by its spec: `ctx.inputs.examples` and
 * `ctx.outputDirs.statistics` exist when the spec declares them. Executors do plain file I/O on local
 * directories.
 */
export interface ModelRegistryAccess {
  metadataUrl: string;
  s3Sources: S3Sources;
}

/** The pipeline run a node belongs to: what an executor records about where its outputs came from. */
export interface RunIdentity {
  pipeline: string;
  workflowId: string;
  runId: string;
}

export interface ExecutorContext<S extends ComponentSpec = ComponentSpec> {
  nodeId: string;
  run: RunIdentity;
  parameters: z.output<S['parameters']>;
  /** The artifacts wired to each declared input (none for an optional input left unwired). */
  inputs: { [K in keyof S['inputs']]: ExecutorInput[] };
  /** A fresh local staging directory per output key; everything written there is published on success. */
  outputDirs: { [K in keyof S['outputs']]: string };
  /** What the component's resolve step found before the node ran (nothing when it has none). */
  resolved: ResolvedInputs;
  /**
   * The S3 endpoints and keys to download what the resolve step listed on S3: of the worker's (the
   * artifact store's and the named `s3Sources` of its configuration), only those the resolved s3://
   * file sets were listed with. Secrets: never log them or put them in outputs.
   */
  s3Sources: S3Sources;
  /**
   * For a component that `writesModelRegistry`: the worker's metadata store, where model versions are
   * allocated, and every S3 source of its configuration (an s3:// model repository's keys). Secrets.
   */
  modelRegistry?: ModelRegistryAccess;
  /** Scratch space, removed after the run. */
  tmpDir: string;
  /**
   * Files to carry across attempts: what is here when `checkpoint` is called is saved with it, and a
   * retry (on any worker) starts with the latest saved checkpoint's files back in this directory.
   */
  checkpointDir: string;
  /** The state given to the latest saved `checkpoint`, on a retry that resumes from it; undefined otherwise. */
  resumeState: unknown;
  progress(progress: Progress): void;
  /**
   * Saves `checkpointDir` and `state` (small, JSON) as the point a retry resumes from. Resolves once
   * both are committed in the artifact store; leave `checkpointDir` alone until then. A crash before
   * it resolves resumes from the previous checkpoint.
   */
  checkpoint(state: unknown): Promise<void>;
  /** Aborted when the activity is cancelled; long loops check it. */
  signal: AbortSignal;
}

export interface ExecutorResult<S extends ComponentSpec = ComponentSpec> {
  /** Properties to attach to each output artifact (e.g. row counts, split names). */
  properties?: { [K in keyof S['outputs']]?: Record<string, PropertyValue> };
  /** A small JSON summary shown in run status (keep it under a few KB). */
  summary?: Record<string, unknown>;
  /**
   * A gate: the outputs are published and recorded, then the node ends `blocked` with this reason
   * and the nodes downstream of it do not run (ExampleValidator finding anomalies, an Evaluator
   * that does not bless the model).
   */
  block?: { reason: string };
}

/** What an executor may return, checked where its result leaves its thread: executors are user code. */
export const ExecutorResultSchema = z
  .object({
    properties: z.record(z.string(), z.record(z.string(), PropertyValueSchema)).optional(),
    summary: z.record(z.string(), z.unknown()).optional(),
    block: z.object({ reason: z.string().min(1) }).strict().optional(),
  })
  .strict();

export type Executor<S extends ComponentSpec = ComponentSpec> = (ctx: ExecutorContext<S>) => Promise<ExecutorResult<S>>;

/**
 * An executor for a component, typed by its spec: `export const executor = defineExecutor(MyTrainer,
 * async (ctx) => { ... })`, in the module the spec's `executor` names.
 */
export function defineExecutor<P extends z.ZodType, I extends Record<string, InputSpec>, O extends Record<string, string>>(
  _component: ComponentFactory<P, I, O>,
  run: Executor<ComponentSpec<P, I, O>>,
): Executor<ComponentSpec<P, I, O>> {
  return run;
}

/**
 * Error an executor throws for bad input or parameters: the activity fails without retries and the
 * message reaches the user as is, so it must name the file/row/field and what was expected.
 */
export class UserInputError extends Error {
  override name = 'UserInputError';
}

/**
 * A component that breaks its own contract (an executor module without its export, a result or a
 * resolve step's answer of the wrong shape): retrying cannot help, and its author, not the user's
 * data, must change.
 */
export class ComponentError extends Error {
  override name = 'ComponentError';
}
