import { z } from 'zod';
import { ArtifactTypeSchema } from '../artifact-types';
import {
  ArtifactStateSchema,
  ContextTypeSchema,
  EventKindSchema,
  ExecutionStateSchema,
  PropertiesSchema,
  type ArtifactRecord,
  type ExecutionInfo,
} from './records';
import type { SqlRow } from './sql-driver';
import { describeIssues } from '../../dsl/zod-issues';

/**
 * Database rows to records. Ids are coerced because PostgreSQL drivers return BIGINT as strings;
 * JSON columns are TEXT on every database and are parsed against their schema.
 */

const dbId = z.coerce.number().int().positive();
const nullableInt = z.union([z.null(), z.coerce.number().int()]);

function jsonText<T extends z.ZodType>(schema: T) {
  return z
    .string()
    .transform((s, ctx) => {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'stored JSON is not valid' });
        return z.NEVER;
      }
    })
    .pipe(schema);
}

const ArtifactRowSchema = z.object({
  id: dbId,
  type: ArtifactTypeSchema,
  uri: z.string(),
  properties: jsonText(PropertiesSchema),
  content_hash: z.string(),
  state: ArtifactStateSchema,
  created_at: z.string(),
  updated_at: z.string(),
});

/** Columns to select for `toArtifact`, with `a` as the artifacts alias. */
export const ARTIFACT_COLUMNS =
  'a.id, a.type, a.uri, a.properties, a.content_hash, a.state, a.created_at, a.updated_at';

export function toArtifact(row: SqlRow): ArtifactRecord {
  const r = parseRow(ArtifactRowSchema, row, 'artifacts');
  return {
    id: r.id,
    type: r.type,
    uri: r.uri,
    contentHash: r.content_hash,
    properties: r.properties,
    state: r.state,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

const ExecutionRowSchema = z.object({
  id: dbId,
  pipeline: z.string(),
  run_id: z.string(),
  node_id: z.string(),
  component: z.string(),
  component_version: z.string(),
  fingerprint: z.string(),
  state: ExecutionStateSchema,
  worker: z.string().nullable(),
  attempt: nullableInt,
  started_at: z.string(),
  finished_at: z.string().nullable(),
  error: z.string().nullable(),
  summary: z.union([z.null(), jsonText(z.record(z.string(), z.unknown()))]),
  cached_from: z.union([z.null(), dbId]),
  resolved: z.union([z.null(), jsonText(z.record(z.string(), z.unknown()))]),
  blocked: z.string().nullable(),
  cache_miss: z.string().nullable(),
});

/**
 * Selects executions (alias `e`) with their pipeline and run names, which live in the contexts they
 * are associated with.
 */
export const EXECUTION_SELECT = `SELECT e.id, p.name AS pipeline, r.name AS run_id, e.node_id, e.component,
    e.component_version, e.fingerprint, e.state, e.worker, e.attempt, e.started_at, e.finished_at, e.error,
    e.summary, e.cached_from, e.resolved, e.blocked, e.cache_miss
  FROM executions e
  JOIN associations ap ON ap.execution_id = e.id
  JOIN contexts p ON p.id = ap.context_id AND p.type = 'pipeline'
  JOIN associations ar ON ar.execution_id = e.id
  JOIN contexts r ON r.id = ar.context_id AND r.type = 'run'`;

export function toExecution(row: SqlRow): ExecutionInfo {
  const r = parseRow(ExecutionRowSchema, row, 'executions');
  return {
    id: r.id,
    pipeline: r.pipeline,
    runId: r.run_id,
    nodeId: r.node_id,
    component: r.component,
    componentVersion: r.component_version,
    fingerprint: r.fingerprint,
    state: r.state,
    worker: r.worker,
    attempt: r.attempt,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    error: r.error,
    summary: r.summary,
    cachedFrom: r.cached_from,
    resolved: r.resolved,
    blocked: r.blocked,
    cacheMiss: r.cache_miss,
  };
}

export const EventRowSchema = z.object({
  execution_id: dbId,
  artifact_id: dbId,
  kind: EventKindSchema,
  event_key: z.string(),
  event_index: z.coerce.number().int().nonnegative(),
});
export type EventRow = z.infer<typeof EventRowSchema>;

export function toEvent(row: SqlRow): EventRow {
  return parseRow(EventRowSchema, row, 'events');
}

export const ContextRowSchema = z.object({
  id: dbId,
  type: ContextTypeSchema,
  name: z.string(),
  parent_id: z.union([z.null(), dbId]),
  properties: jsonText(PropertiesSchema),
  created_at: z.string(),
});
export type ContextRow = z.infer<typeof ContextRowSchema>;

export function toContext(row: SqlRow): ContextRow {
  return parseRow(ContextRowSchema, row, 'contexts');
}

const RunContextRowSchema = ContextRowSchema.extend({ pipeline: z.string().nullable() });
export type RunContextRow = z.infer<typeof RunContextRowSchema>;

export function toRunContext(row: SqlRow): RunContextRow {
  return parseRow(RunContextRowSchema, row, 'contexts');
}

/** Executions per (run context, state), for run summaries. */
const RunStatsRowSchema = z.object({
  context_id: dbId,
  state: ExecutionStateSchema,
  n: z.coerce.number().int().positive(),
  last_finished: z.string().nullable(),
});
export type RunStatsRow = z.infer<typeof RunStatsRowSchema>;

export function toRunStats(row: SqlRow): RunStatsRow {
  return parseRow(RunStatsRowSchema, row, 'executions');
}

const CacheHitRowSchema = z.object({ id: dbId, finished_at: z.string(), blocked: z.string().nullable() });

export function toCacheHit(row: SqlRow): z.infer<typeof CacheHitRowSchema> {
  return parseRow(CacheHitRowSchema, row, 'executions');
}

export function parseRow<T extends z.ZodType>(schema: T, row: SqlRow, table: string): z.infer<T> {
  const parsed = schema.safeParse(row);
  if (!parsed.success) {
    const where = describeIssues(parsed.error, '(row)');
    throw new Error(`metadata database: unexpected row in ${table} (id ${String(row.id)}): ${where}`);
  }
  return parsed.data;
}
