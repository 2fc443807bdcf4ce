import { z } from 'zod';
import { ArtifactRefSchema, PropertyValueSchema } from '../artifact-types';

/**
 * `pending`: registered but not yet committed; `live`: committed in the artifact store;
 * `deleted`: known to be gone from the store (a cache hit must not reuse it).
 */
export const ARTIFACT_STATES = ['pending', 'live', 'deleted'] as const;
export const ArtifactStateSchema = z.enum(ARTIFACT_STATES);
export type ArtifactState = z.infer<typeof ArtifactStateSchema>;

/** `cached`: the node did not run; its outputs were reused from the execution named by `cachedFrom`. */
export const EXECUTION_STATES = ['running', 'succeeded', 'failed', 'cancelled', 'cached'] as const;
export const ExecutionStateSchema = z.enum(EXECUTION_STATES);
export type ExecutionState = z.infer<typeof ExecutionStateSchema>;
export const FinalExecutionStateSchema = ExecutionStateSchema.exclude(['running']);
export type FinalExecutionState = z.infer<typeof FinalExecutionStateSchema>;

export const CONTEXT_TYPES = ['pipeline', 'run'] as const;
export const ContextTypeSchema = z.enum(CONTEXT_TYPES);
export type ContextType = z.infer<typeof ContextTypeSchema>;

export const RUN_STATES = ['running', 'succeeded', 'failed', 'cancelled'] as const;
export const RunStateSchema = z.enum(RUN_STATES);
export type RunState = z.infer<typeof RunStateSchema>;

/**
 * The run-context property that, when set (via `putContext('run', runId, { [RUN_STATUS_PROPERTY]: ... })`),
 * is the run's state. Without it the state is derived from the run's executions, which cannot tell a
 * run cancelled between nodes from one still going.
 */
export const RUN_STATUS_PROPERTY = 'status';

export const PropertiesSchema = z.record(z.string(), PropertyValueSchema);
export type Properties = z.infer<typeof PropertiesSchema>;

const isoTime = z.string().min(1);
const id = z.number().int().positive();

export const ArtifactRecordSchema = ArtifactRefSchema.extend({
  id,
  state: ArtifactStateSchema,
  createdAt: isoTime,
  updatedAt: isoTime,
});
export type ArtifactRecord = z.infer<typeof ArtifactRecordSchema>;

/** Artifacts by input/output key, each list in event order. */
export const ArtifactsByKeySchema = z.record(z.string(), z.array(ArtifactRecordSchema));
export type ArtifactsByKey = z.infer<typeof ArtifactsByKeySchema>;

/** Artifact refs by key as the caller passes them (ids optional). */
export const RefsByKeySchema = z.record(z.string(), z.array(ArtifactRefSchema));
export type RefsByKey = z.infer<typeof RefsByKeySchema>;
/** Refs by key as returned once registered: every ref carries its metadata-store id. */
export type PublishedRefsByKey = Record<string, Array<z.infer<typeof ArtifactRefSchema> & { id: number }>>;

/** An execution without its events: what lineage graphs carry. */
export const ExecutionInfoSchema = z.object({
  id,
  pipeline: z.string(),
  runId: z.string(),
  nodeId: z.string(),
  component: z.string(),
  componentVersion: z.string(),
  fingerprint: z.string(),
  state: ExecutionStateSchema,
  /** Identity of the worker that ran the executor (null until finished, or when cached). */
  worker: z.string().nullable(),
  attempt: z.number().int().positive().nullable(),
  startedAt: isoTime,
  finishedAt: isoTime.nullable(),
  error: z.string().nullable(),
  summary: z.record(z.string(), z.unknown()).nullable(),
  /** For a `cached` execution: the execution whose outputs it reused. */
  cachedFrom: id.nullable(),
  /** What the component's resolve step found (files with content hashes, artifacts), as the executor saw it. */
  resolved: z.record(z.string(), z.unknown()).nullable(),
  /** A gate's reason to stop what follows: the execution succeeded, and nothing downstream of it ran. */
  blocked: z.string().nullable(),
  /** Why outputs with the same cache key could not be reused, when there were some. */
  cacheMiss: z.string().nullable(),
});
export type ExecutionInfo = z.infer<typeof ExecutionInfoSchema>;

export const ExecutionRecordSchema = ExecutionInfoSchema.extend({
  inputs: ArtifactsByKeySchema,
  outputs: ArtifactsByKeySchema,
});
export type ExecutionRecord = z.infer<typeof ExecutionRecordSchema>;

const nonEmpty = z.string().min(1);
const Sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 hex digest (64 lowercase hex characters)');

/** An execution's cache key and the component version that key was made with. */
export const ExecutionKeySchema = z.object({ fingerprint: Sha256Schema, componentVersion: nonEmpty });
export type ExecutionKey = z.infer<typeof ExecutionKeySchema>;

export const StartExecutionSchema = z
  .object({
    pipeline: nonEmpty,
    runId: nonEmpty,
    nodeId: nonEmpty,
    component: nonEmpty,
    componentVersion: nonEmpty,
    fingerprint: Sha256Schema,
    inputs: RefsByKeySchema.default({}),
    state: z.enum(['running', 'cached']).default('running'),
    cachedFrom: id.optional(),
    resolved: z.record(z.string(), z.unknown()).optional(),
    cacheMiss: z.string().optional(),
  })
  .refine((e) => (e.state === 'cached') === (e.cachedFrom !== undefined), {
    message: "cachedFrom is required when state is 'cached' and only allowed then",
    path: ['cachedFrom'],
  });
export type StartExecution = z.input<typeof StartExecutionSchema>;

export const FinishExecutionSchema = z.object({
  state: FinalExecutionStateSchema,
  outputs: RefsByKeySchema.default({}),
  worker: z.string().min(1).optional(),
  attempt: z.number().int().positive().optional(),
  error: z.string().optional(),
  summary: z.record(z.string(), z.unknown()).optional(),
  blocked: z.string().min(1).optional(),
});
export type FinishExecution = z.input<typeof FinishExecutionSchema>;

export const CacheCandidateSchema = z.object({
  executionId: id,
  finishedAt: isoTime,
  outputs: ArtifactsByKeySchema,
  /** A gate that blocked: a node reusing this execution blocks too. */
  blocked: z.string().nullable(),
});
export type CacheCandidate = z.infer<typeof CacheCandidateSchema>;

export const RunSummarySchema = z.object({
  runId: z.string(),
  /** Null only for a run context registered without a pipeline and with no executions yet. */
  pipeline: z.string().nullable(),
  state: RunStateSchema,
  startedAt: isoTime,
  /** Latest execution end once the run is no longer running. */
  finishedAt: isoTime.nullable(),
  executions: z.number().int().nonnegative(),
  /** Executions per state (states with none are absent). */
  counts: z.partialRecord(ExecutionStateSchema, z.number().int().positive()),
  properties: PropertiesSchema,
});
export type RunSummary = z.infer<typeof RunSummarySchema>;

export const RunDetailSchema = z.object({
  run: RunSummarySchema,
  /** In start order. */
  executions: z.array(ExecutionRecordSchema),
});
export type RunDetail = z.infer<typeof RunDetailSchema>;

export const EventKindSchema = z.enum(['input', 'output']);
export type EventKind = z.infer<typeof EventKindSchema>;

export const LineageEventSchema = z.object({
  executionId: id,
  artifactId: id,
  kind: EventKindSchema,
  key: z.string(),
  index: z.number().int().nonnegative(),
});
export type LineageEvent = z.infer<typeof LineageEventSchema>;

export const LineageDirectionSchema = z.enum(['up', 'down', 'both']);
export type LineageDirection = z.infer<typeof LineageDirectionSchema>;

/** The graph around one artifact: artifacts and executions as nodes, events as edges. */
export const LineageGraphSchema = z.object({
  focus: id,
  /** What was followed from the focus, so a reader can tell "not asked" from "nothing there". */
  direction: LineageDirectionSchema,
  /** Execution hops followed; null when unlimited. */
  depth: z.number().int().positive().nullable(),
  artifacts: z.array(ArtifactRecordSchema),
  executions: z.array(ExecutionInfoSchema),
  events: z.array(LineageEventSchema),
});
export type LineageGraph = z.infer<typeof LineageGraphSchema>;

export const LineageOptionsSchema = z.object({
  /** Execution hops to follow from the focus artifact; unlimited when absent. */
  depth: z.number().int().positive().optional(),
  direction: LineageDirectionSchema.default('both'),
});
export type LineageOptions = z.input<typeof LineageOptionsSchema>;

export const ListRunsOptionsSchema = z.object({
  pipeline: z.string().min(1).optional(),
  limit: z.number().int().positive().max(10_000).default(50),
});
export type ListRunsOptions = z.input<typeof ListRunsOptionsSchema>;

export const FindArtifactsSchema = z.object({
  type: z.string().min(1),
  /** Only artifacts attributed to this pipeline. */
  pipeline: z.string().min(1).optional(),
  /** Only artifacts whose properties have these values. */
  properties: PropertiesSchema.default({}),
  limit: z.number().int().positive().max(1000).default(20),
});
export type FindArtifacts = z.input<typeof FindArtifactsSchema>;
