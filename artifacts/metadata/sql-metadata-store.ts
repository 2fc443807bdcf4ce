import type { z } from 'zod';
import { ArtifactRefSchema, type ArtifactRef } from '../artifact-types';
import type { MetadataStore } from './metadata-store';
import { allocateModelVersion, listModelVersions, markModelVersionPublished, type AllocateModelVersion, type ListModelVersions, type ModelVersionRecord } from './model-versions';
import {
  ArtifactStateSchema,
  ContextTypeSchema,
  ExecutionKeySchema,
  FindArtifactsSchema,
  FinishExecutionSchema,
  LineageOptionsSchema,
  ListRunsOptionsSchema,
  PropertiesSchema,
  RUN_STATUS_PROPERTY,
  RunStateSchema,
  StartExecutionSchema,
  type ArtifactRecord,
  type ArtifactState,
  type ArtifactsByKey,
  type CacheCandidate,
  type ContextType,
  type ExecutionInfo,
  type ExecutionRecord,
  type ExecutionKey,
  type ExecutionState,
  type FindArtifacts,
  type LineageEvent,
  type LineageGraph,
  type Properties,
  type PublishedRefsByKey,
  type RunDetail,
  type RunState,
  type RunSummary,
} from './records';
import {
  ARTIFACT_COLUMNS,
  EXECUTION_SELECT,
  toArtifact,
  toContext,
  toEvent,
  toExecution,
  toCacheHit,
  toRunContext,
  toRunStats,
  type ContextRow,
  type EventRow,
  type RunContextRow,
} from './rows';
import { describeIssues } from '../../dsl/zod-issues';
import { chunks, placeholders, type SqlDriver, type SqlSession, type SqlValue } from './sql-driver';

function now(): string {
  return new Date().toISOString();
}

/** Validates a caller's argument, naming the method and field in the error. */
function validate<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new TypeError(`${what}: ${describeIssues(parsed.error, '(value)')}`);
  }
  return parsed.data;
}

/** Runs a query whose IN list may exceed one statement's placeholders, concatenating the results. */
async function allIn(
  s: SqlSession,
  sql: (inList: string) => string,
  ids: readonly number[],
  extra: readonly SqlValue[] = [],
) {
  const rows = [];
  for (const part of chunks(ids)) rows.push(...(await s.all(sql(placeholders(part.length)), [...part, ...extra])));
  return rows;
}

async function loadArtifacts(s: SqlSession, ids: readonly number[]): Promise<Map<number, ArtifactRecord>> {
  const rows = await allIn(s, (list) => `SELECT ${ARTIFACT_COLUMNS} FROM artifacts a WHERE a.id IN ${list}`, ids);
  return new Map(rows.map((r) => toArtifact(r)).map((a) => [a.id, a]));
}

async function loadExecutions(s: SqlSession, ids: readonly number[]): Promise<ExecutionInfo[]> {
  const rows = await allIn(s, (list) => `${EXECUTION_SELECT} WHERE e.id IN ${list} ORDER BY e.id`, ids);
  return rows.map(toExecution);
}

const EVENT_COLUMNS = 'ev.execution_id, ev.artifact_id, ev.kind, ev.event_key, ev.event_index';

/** Events of the given executions (optionally of one kind), in key and index order. */
async function eventsOfExecutions(s: SqlSession, ids: readonly number[], kind?: 'input' | 'output'): Promise<EventRow[]> {
  const rows = await allIn(
    s,
    (list) =>
      `SELECT ${EVENT_COLUMNS} FROM events ev WHERE ev.execution_id IN ${list}` +
      (kind ? ' AND ev.kind = ?' : '') +
      ' ORDER BY ev.execution_id, ev.kind, ev.event_key, ev.event_index',
    ids,
    kind ? [kind] : [],
  );
  return rows.map(toEvent);
}

async function eventsOfArtifacts(s: SqlSession, ids: readonly number[], kind: 'input' | 'output'): Promise<EventRow[]> {
  const rows = await allIn(
    s,
    (list) =>
      `SELECT ${EVENT_COLUMNS} FROM events ev WHERE ev.artifact_id IN ${list} AND ev.kind = ? ORDER BY ev.execution_id`,
    ids,
    [kind],
  );
  return rows.map(toEvent);
}

/** Groups events' artifacts by key, each list in index order. */
function byKey(events: readonly EventRow[], artifacts: Map<number, ArtifactRecord>): ArtifactsByKey {
  const out: ArtifactsByKey = {};
  for (const ev of [...events].sort((a, b) => a.event_index - b.event_index)) {
    const artifact = artifacts.get(ev.artifact_id);
    if (artifact) (out[ev.event_key] ??= []).push(artifact);
  }
  return out;
}

function byExecution(events: readonly EventRow[]): Map<number, EventRow[]> {
  const out = new Map<number, EventRow[]>();
  for (const ev of events) {
    const list = out.get(ev.execution_id);
    if (list) list.push(ev);
    else out.set(ev.execution_id, [ev]);
  }
  return out;
}

/** Executions with their input and output artifacts, in the order of `infos`. */
async function withEvents(s: SqlSession, infos: readonly ExecutionInfo[]): Promise<ExecutionRecord[]> {
  const events = await eventsOfExecutions(s, infos.map((e) => e.id));
  const artifacts = await loadArtifacts(s, [...new Set(events.map((e) => e.artifact_id))]);
  const grouped = byExecution(events);
  return infos.map((info) => {
    const own = grouped.get(info.id) ?? [];
    return {
      ...info,
      inputs: byKey(own.filter((e) => e.kind === 'input'), artifacts),
      outputs: byKey(own.filter((e) => e.kind === 'output'), artifacts),
    };
  });
}

async function findContext(s: SqlSession, type: ContextType, name: string): Promise<ContextRow | null> {
  const row = await s.get(
    'SELECT id, type, name, parent_id, properties, created_at FROM contexts WHERE type = ? AND name = ?',
    [type, name],
  );
  return row ? toContext(row) : null;
}

async function upsertContext(
  s: SqlSession,
  type: ContextType,
  name: string,
  properties: Properties,
  parentId: number | null,
): Promise<number> {
  const at = now();
  await s.run(
    `INSERT INTO contexts (type, name, parent_id, properties, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (type, name) DO NOTHING`,
    [type, name, parentId, JSON.stringify(properties), at, at],
  );
  const existing = await findContext(s, type, name);
  if (!existing) throw new Error(`metadata database: context ${type} '${name}' vanished while being written`);
  const merged = { ...existing.properties, ...properties };
  const parent = parentId ?? existing.parent_id;
  if (JSON.stringify(merged) !== JSON.stringify(existing.properties) || parent !== existing.parent_id) {
    await s.run('UPDATE contexts SET properties = ?, parent_id = ?, updated_at = ? WHERE id = ?', [
      JSON.stringify(merged),
      parent,
      at,
      existing.id,
    ]);
  }
  return existing.id;
}

async function artifactByUri(s: SqlSession, uri: string): Promise<ArtifactRecord | null> {
  const row = await s.get(`SELECT ${ARTIFACT_COLUMNS} FROM artifacts a WHERE a.uri = ?`, [uri]);
  return row ? toArtifact(row) : null;
}

async function artifactById(s: SqlSession, id: number): Promise<ArtifactRecord | null> {
  const row = await s.get(`SELECT ${ARTIFACT_COLUMNS} FROM artifacts a WHERE a.id = ?`, [id]);
  return row ? toArtifact(row) : null;
}

/** Checks that a ref agrees with what is stored under its URI: the same type, and the same id if it names one. */
function assertSameArtifact(ref: ArtifactRef, stored: ArtifactRecord): void {
  if (stored.type !== ref.type) {
    throw new Error(`artifact ${ref.uri} is registered as type ${stored.type}, not ${ref.type}`);
  }
  if (ref.id !== undefined && ref.id !== stored.id) {
    throw new Error(`artifact ${ref.uri} has id ${stored.id} in the metadata store, but the reference says id ${ref.id}`);
  }
}

async function upsertArtifact(s: SqlSession, ref: ArtifactRef, state: ArtifactState): Promise<number> {
  const existing = await artifactByUri(s, ref.uri);
  const at = now();
  if (existing) {
    assertSameArtifact(ref, existing);
    await s.run('UPDATE artifacts SET properties = ?, content_hash = ?, state = ?, updated_at = ? WHERE id = ?', [
      JSON.stringify(ref.properties),
      ref.contentHash,
      state,
      at,
      existing.id,
    ]);
    return existing.id;
  }
  if (ref.id !== undefined) {
    throw new Error(`artifact ${ref.uri} carries id ${ref.id}, but the metadata store has no artifact at that URI`);
  }
  const row = await s.get(
    `INSERT INTO artifacts (type, uri, properties, content_hash, state, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    [ref.type, ref.uri, JSON.stringify(ref.properties), ref.contentHash, state, at, at],
  );
  return Number(row!.id);
}

/** An input is usually an artifact already published upstream; data from outside is registered as live. */
async function resolveInput(s: SqlSession, ref: ArtifactRef): Promise<number> {
  const existing = await artifactByUri(s, ref.uri);
  if (existing) {
    assertSameArtifact(ref, existing);
    return existing.id;
  }
  return upsertArtifact(s, ref, 'live');
}

async function addEvent(
  s: SqlSession,
  executionId: number,
  artifactId: number,
  kind: 'input' | 'output',
  key: string,
  index: number,
): Promise<void> {
  await s.run(
    `INSERT INTO events (execution_id, artifact_id, kind, event_key, event_index) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (execution_id, kind, event_key, event_index) DO UPDATE SET artifact_id = excluded.artifact_id`,
    [executionId, artifactId, kind, key, index],
  );
}

async function attribute(s: SqlSession, contextIds: readonly number[], artifactId: number): Promise<void> {
  for (const contextId of contextIds) {
    await s.run(
      'INSERT INTO attributions (context_id, artifact_id) VALUES (?, ?) ON CONFLICT (context_id, artifact_id) DO NOTHING',
      [contextId, artifactId],
    );
  }
}

function runState(counts: Partial<Record<ExecutionState, number>>, properties: Properties): RunState {
  const explicit = RunStateSchema.safeParse(properties[RUN_STATUS_PROPERTY]);
  if (explicit.success) return explicit.data;
  if (counts.running) return 'running';
  if (counts.failed) return 'failed';
  if (counts.cancelled) return 'cancelled';
  return (counts.succeeded ?? 0) + (counts.cached ?? 0) > 0 ? 'succeeded' : 'running';
}

async function summarizeRuns(s: SqlSession, contexts: readonly RunContextRow[]): Promise<RunSummary[]> {
  const stats = (
    await allIn(
      s,
      (list) => `SELECT a.context_id, e.state, COUNT(*) AS n, MAX(e.finished_at) AS last_finished
        FROM associations a JOIN executions e ON e.id = a.execution_id
        WHERE a.context_id IN ${list} GROUP BY a.context_id, e.state`,
      contexts.map((c) => c.id),
    )
  ).map(toRunStats);
  return contexts.map((c) => {
    const counts: Partial<Record<ExecutionState, number>> = {};
    let executions = 0;
    let lastFinished: string | null = null;
    for (const row of stats.filter((r) => r.context_id === c.id)) {
      counts[row.state] = row.n;
      executions += row.n;
      if (row.last_finished !== null && (lastFinished === null || row.last_finished > lastFinished)) lastFinished = row.last_finished;
    }
    const state = runState(counts, c.properties);
    return {
      runId: c.name,
      pipeline: c.pipeline,
      state,
      startedAt: c.created_at,
      finishedAt: state === 'running' ? null : lastFinished,
      executions,
      counts,
      properties: c.properties,
    };
  });
}

const RUN_CONTEXT_SELECT = `SELECT r.id, r.type, r.name, r.parent_id, r.properties, r.created_at, p.name AS pipeline
  FROM contexts r LEFT JOIN contexts p ON p.id = r.parent_id
  WHERE r.type = 'run'`;

/** Follows events away from the focus artifact, one execution hop per round, up to `depth` hops. */
async function walk(
  s: SqlSession,
  focus: number,
  direction: 'up' | 'down',
  depth: number,
  seen: { artifacts: Set<number>; executions: Set<number>; events: Map<string, EventRow> },
): Promise<void> {
  // Upstream: artifacts <-output- executions <-input- artifacts; downstream the other way round.
  const [kindIntoExecution, kindOutOfExecution] = direction === 'up' ? (['output', 'input'] as const) : (['input', 'output'] as const);
  const record = (evs: EventRow[]) => {
    for (const ev of evs) seen.events.set(`${ev.execution_id}/${ev.kind}/${ev.event_key}/${ev.event_index}`, ev);
  };
  let frontier = [focus];
  const visitedHere = new Set<number>([focus]);
  for (let hop = 0; hop < depth && frontier.length > 0; hop++) {
    const linking = await eventsOfArtifacts(s, frontier, kindIntoExecution);
    record(linking);
    const executions = [...new Set(linking.map((e) => e.execution_id))].filter((id) => !seen.executions.has(id));
    executions.forEach((id) => seen.executions.add(id));
    const beyond = await eventsOfExecutions(s, executions, kindOutOfExecution);
    record(beyond);
    frontier = [...new Set(beyond.map((e) => e.artifact_id))].filter((id) => !visitedHere.has(id));
    frontier.forEach((id) => {
      visitedHere.add(id);
      seen.artifacts.add(id);
    });
  }
}

const FIND_PAGE = 200;

export class SqlMetadataStore implements MetadataStore {
  constructor(private readonly driver: SqlDriver) {}

  async putContext(type: ContextType, name: string, properties: Properties = {}, opts: { pipeline?: string } = {}): Promise<number> {
    validate(ContextTypeSchema, type, 'putContext type');
    if (name.length === 0) throw new TypeError('putContext name: expected a non-empty string');
    const props = validate(PropertiesSchema, properties, `putContext ${type} '${name}' properties`);
    if (opts.pipeline !== undefined && type !== 'run') {
      throw new TypeError(`putContext ${type} '${name}': only a run context belongs to a pipeline`);
    }
    return this.driver.write(async (s) => {
      const parent = opts.pipeline !== undefined ? await upsertContext(s, 'pipeline', opts.pipeline, {}, null) : null;
      return upsertContext(s, type, name, props, parent);
    });
  }

  async putArtifact(ref: ArtifactRef, state: ArtifactState): Promise<number> {
    const parsed = validate(ArtifactRefSchema, ref, 'putArtifact ref');
    validate(ArtifactStateSchema, state, 'putArtifact state');
    return this.driver.write((s) => upsertArtifact(s, parsed, state));
  }

  async getArtifact(idOrUri: number | string): Promise<ArtifactRecord | null> {
    return this.driver.read((s) => (typeof idOrUri === 'number' ? artifactById(s, idOrUri) : artifactByUri(s, idOrUri)));
  }

  async setArtifactState(id: number, state: ArtifactState): Promise<void> {
    validate(ArtifactStateSchema, state, 'setArtifactState state');
    await this.driver.write(async (s) => {
      const { changes } = await s.run('UPDATE artifacts SET state = ?, updated_at = ? WHERE id = ?', [state, now(), id]);
      if (changes === 0) throw new Error(`setArtifactState: no artifact with id ${id}`);
    });
  }

  async startExecution(e: Parameters<MetadataStore['startExecution']>[0]): Promise<number> {
    const x = validate(StartExecutionSchema, e, 'startExecution');
    return this.driver.write(async (s) => {
      const pipelineId = await upsertContext(s, 'pipeline', x.pipeline, {}, null);
      const runId = await upsertContext(s, 'run', x.runId, {}, pipelineId);
      if (x.cachedFrom !== undefined) {
        const source = await s.get('SELECT state FROM executions WHERE id = ?', [x.cachedFrom]);
        if (!source) throw new Error(`startExecution ${x.nodeId}: cachedFrom names execution ${x.cachedFrom}, which does not exist`);
      }
      const row = await s.get(
        `INSERT INTO executions (component, component_version, node_id, fingerprint, state, started_at, cached_from, resolved, cache_miss)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
        [
          x.component,
          x.componentVersion,
          x.nodeId,
          x.fingerprint,
          x.state,
          now(),
          x.cachedFrom ?? null,
          x.resolved !== undefined ? JSON.stringify(x.resolved) : null,
          x.cacheMiss ?? null,
        ],
      );
      const id = Number(row!.id);
      for (const contextId of [pipelineId, runId]) {
        await s.run('INSERT INTO associations (context_id, execution_id) VALUES (?, ?)', [contextId, id]);
      }
      for (const [key, refs] of Object.entries(x.inputs)) {
        for (const [index, ref] of refs.entries()) {
          const artifactId = await resolveInput(s, ref);
          await addEvent(s, id, artifactId, 'input', key, index);
          await attribute(s, [pipelineId, runId], artifactId);
        }
      }
      return id;
    });
  }

  async finishExecution(id: number, r: Parameters<MetadataStore['finishExecution']>[1]): Promise<PublishedRefsByKey> {
    const x = validate(FinishExecutionSchema, r, `finishExecution ${id}`);
    return this.driver.write(async (s) => {
      const { changes } = await s.run(
        `UPDATE executions SET state = ?, finished_at = ?, worker = COALESCE(?, worker), attempt = COALESCE(?, attempt),
           error = COALESCE(?, error), summary = COALESCE(?, summary), blocked = COALESCE(?, blocked)
         WHERE id = ?`,
        [
          x.state,
          now(),
          x.worker ?? null,
          x.attempt ?? null,
          x.error ?? null,
          x.summary !== undefined ? JSON.stringify(x.summary) : null,
          x.blocked ?? null,
          id,
        ],
      );
      if (changes === 0) throw new Error(`finishExecution: no execution with id ${id}`);
      const contextIds = (await s.all('SELECT context_id FROM associations WHERE execution_id = ?', [id])).map((row) =>
        Number(row.context_id),
      );
      const published: PublishedRefsByKey = {};
      for (const [key, refs] of Object.entries(x.outputs)) {
        published[key] = [];
        for (const [index, ref] of refs.entries()) {
          const artifactId = await upsertArtifact(s, ref, 'live');
          await addEvent(s, id, artifactId, 'output', key, index);
          await attribute(s, contextIds, artifactId);
          published[key].push({ ...ref, id: artifactId });
        }
      }
      return published;
    });
  }

  async findByFingerprint(fingerprint: string): Promise<CacheCandidate[]> {
    return this.driver.read(async (s) => {
      const hits = (
        await s.all(
          `SELECT id, finished_at, blocked FROM executions WHERE fingerprint = ? AND state = 'succeeded'
           ORDER BY finished_at DESC, id DESC`,
          [fingerprint],
        )
      ).map(toCacheHit);
      const events = await eventsOfExecutions(s, hits.map((h) => h.id), 'output');
      const artifacts = await loadArtifacts(s, [...new Set(events.map((e) => e.artifact_id))]);
      const grouped = byExecution(events);
      return hits.map((hit) => ({
        executionId: hit.id,
        finishedAt: hit.finished_at,
        outputs: byKey(grouped.get(hit.id) ?? [], artifacts),
        blocked: hit.blocked,
      }));
    });
  }

  async rekeyExecution(id: number, key: ExecutionKey): Promise<void> {
    const k = validate(ExecutionKeySchema, key, 'rekeyExecution');
    await this.driver.write(async (s) => {
      const { changes } = await s.run('UPDATE executions SET fingerprint = ?, component_version = ? WHERE id = ?', [k.fingerprint, k.componentVersion, id]);
      if (changes === 0) throw new Error(`rekeyExecution: no execution with id ${id}`);
    });
  }

  async findArtifacts(query: FindArtifacts): Promise<ArtifactRecord[]> {
    const q = validate(FindArtifactsSchema, query, 'findArtifacts');
    const wanted = Object.entries(q.properties);
    const sql =
      `SELECT ${ARTIFACT_COLUMNS} FROM artifacts a WHERE a.type = ? AND a.state = 'live'` +
      (q.pipeline !== undefined
        ? ` AND a.id IN (SELECT t.artifact_id FROM attributions t JOIN contexts c ON c.id = t.context_id WHERE c.type = 'pipeline' AND c.name = ?)`
        : '') +
      ' ORDER BY a.created_at DESC, a.id DESC LIMIT ? OFFSET ?';
    return this.driver.read(async (s) => {
      const found: ArtifactRecord[] = [];
      // Property values live in a JSON column, matched here to keep the SQL portable; newest first,
      // a page at a time, so the usual question (the latest match) reads a page, not the table.
      for (let offset = 0; found.length < q.limit; offset += FIND_PAGE) {
        const rows = await s.all(sql, [q.type, ...(q.pipeline !== undefined ? [q.pipeline] : []), FIND_PAGE, offset]);
        for (const artifact of rows.map((r) => toArtifact(r))) {
          if (wanted.every(([k, v]) => artifact.properties[k] === v)) found.push(artifact);
        }
        if (rows.length < FIND_PAGE) break;
      }
      return found.slice(0, q.limit);
    });
  }

  async getExecution(id: number): Promise<ExecutionRecord | null> {
    return this.driver.read(async (s) => {
      const [info] = await loadExecutions(s, [id]);
      if (!info) return null;
      const [record] = await withEvents(s, [info]);
      return record ?? null;
    });
  }

  async listRuns(opts: Parameters<MetadataStore['listRuns']>[0] = {}): Promise<RunSummary[]> {
    const o = validate(ListRunsOptionsSchema, opts, 'listRuns');
    return this.driver.read(async (s) => {
      const rows = await s.all(
        `${RUN_CONTEXT_SELECT}${o.pipeline !== undefined ? ' AND p.name = ?' : ''} ORDER BY r.created_at DESC, r.id DESC LIMIT ?`,
        o.pipeline !== undefined ? [o.pipeline, o.limit] : [o.limit],
      );
      return summarizeRuns(s, rows.map(toRunContext));
    });
  }

  async getRun(runId: string): Promise<RunDetail | null> {
    return this.driver.read(async (s) => {
      const row = await s.get(`${RUN_CONTEXT_SELECT} AND r.name = ?`, [runId]);
      if (!row) return null;
      const context = toRunContext(row);
      const [run] = await summarizeRuns(s, [context]);
      const ids = (
        await s.all('SELECT execution_id FROM associations WHERE context_id = ? ORDER BY execution_id', [context.id])
      ).map((r) => Number(r.execution_id));
      return { run: run!, executions: await withEvents(s, await loadExecutions(s, ids)) };
    });
  }

  async lineage(idOrUri: number | string, opts: Parameters<MetadataStore['lineage']>[1] = {}): Promise<LineageGraph> {
    const o = validate(LineageOptionsSchema, opts, 'lineage options');
    return this.driver.read(async (s) => {
      const focus = typeof idOrUri === 'number' ? await artifactById(s, idOrUri) : await artifactByUri(s, idOrUri);
      if (!focus) throw new Error(`no artifact ${typeof idOrUri === 'number' ? `with id ${idOrUri}` : `at ${idOrUri}`} in the metadata store`);
      const seen = { artifacts: new Set([focus.id]), executions: new Set<number>(), events: new Map<string, EventRow>() };
      const depth = o.depth ?? Number.POSITIVE_INFINITY;
      if (o.direction !== 'down') await walk(s, focus.id, 'up', depth, seen);
      if (o.direction !== 'up') await walk(s, focus.id, 'down', depth, seen);
      const artifacts = await loadArtifacts(s, [...seen.artifacts]);
      const events: LineageEvent[] = [...seen.events.values()].map((ev) => ({
        executionId: ev.execution_id,
        artifactId: ev.artifact_id,
        kind: ev.kind,
        key: ev.event_key,
        index: ev.event_index,
      }));
      return {
        focus: focus.id,
        direction: o.direction,
        depth: o.depth ?? null,
        artifacts: [...artifacts.values()].sort((a, b) => a.id - b.id),
        executions: await loadExecutions(s, [...seen.executions]),
        events,
      };
    });
  }

  allocateModelVersion(a: AllocateModelVersion): Promise<ModelVersionRecord> {
    return allocateModelVersion(this.driver, a);
  }

  markModelVersionPublished(repository: string, model: string, version: number): Promise<void> {
    return markModelVersionPublished(this.driver, repository, model, version);
  }

  listModelVersions(q?: ListModelVersions): Promise<ModelVersionRecord[]> {
    return listModelVersions(this.driver, q);
  }

  async close(): Promise<void> {
    await this.driver.close();
  }
}
