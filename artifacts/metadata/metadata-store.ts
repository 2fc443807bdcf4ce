import path from 'node:path';
import type { ArtifactRef } from '../artifact-types';
import { ENV_VARS } from '../../config/config';
import { migrate } from './migrations';
import type { AllocateModelVersion, ListModelVersions, ModelVersionRecord } from './model-versions';
import { SqlMetadataStore } from './sql-metadata-store';
import { openSqliteDriver } from './sqlite-driver';
import type {
  ArtifactRecord,
  ArtifactState,
  CacheCandidate,
  ContextType,
  ExecutionKey,
  ExecutionRecord,
  FindArtifacts,
  FinishExecution,
  LineageGraph,
  LineageOptions,
  ListRunsOptions,
  Properties,
  PublishedRefsByKey,
  RunDetail,
  RunSummary,
  StartExecution,
} from './records';

export * from './records';

/**
 * mlpipe's ML Metadata store: what ran (executions), on what and producing what (artifacts joined by
 * input/output events), grouped by pipeline and run (contexts). The pipeline's control activities record
 * every node here; the cache and `mlpipe lineage` / `mlpipe runs` read it.
 *
 * Async throughout so a networked backend (PostgreSQL) fits the same interface as the embedded SQLite one.
 */
export interface MetadataStore {
  /**
   * Idempotent upsert by (type, name); properties are merged into those already stored.
   * A run context may name its pipeline so it is listed before any node has started.
   */
  putContext(type: ContextType, name: string, properties?: Properties, opts?: { pipeline?: string }): Promise<number>;

  /** Upsert by URI; returns the artifact id. Updates state, properties and content hash of a known URI. */
  putArtifact(ref: ArtifactRef, state: ArtifactState): Promise<number>;
  getArtifact(idOrUri: number | string): Promise<ArtifactRecord | null>;
  setArtifactState(id: number, state: ArtifactState): Promise<void>;

  /**
   * Records an execution with its input events and attributes it to its pipeline and run contexts.
   * Input artifacts not yet known (external data) are registered as `live`.
   */
  startExecution(e: StartExecution): Promise<number>;

  /**
   * Sets the final state, end time, worker identity, attempt, error and summary, and registers the
   * outputs as `live` artifacts with output events. Safe to repeat (a retried publish activity).
   * Returns the outputs with their metadata-store ids.
   */
  finishExecution(id: number, r: FinishExecution): Promise<PublishedRefsByKey>;

  /**
   * Succeeded executions with this fingerprint, newest first, with their outputs and each output's
   * current state. Failed, cancelled, running and cached executions are never returned.
   */
  findByFingerprint(fingerprint: string): Promise<CacheCandidate[]>;

  /**
   * Files the execution under another cache key: an executor that ran a different component version
   * than the one its key was computed with is keyed by, and recorded with, the version that produced its outputs.
   */
  rekeyExecution(id: number, key: ExecutionKey): Promise<void>;

  /** Live artifacts of a type, newest first, optionally of one pipeline and with given property values. */
  findArtifacts(query: FindArtifacts): Promise<ArtifactRecord[]>;

  getExecution(id: number): Promise<ExecutionRecord | null>;

  /** Newest first. */
  listRuns(opts?: ListRunsOptions): Promise<RunSummary[]>;
  getRun(runId: string): Promise<RunDetail | null>;

  /**
   * The graph around an artifact: what produced it (upstream, recursively) and everything it fed
   * (downstream, recursively). Throws if the artifact is unknown.
   */
  lineage(idOrUri: number | string, opts?: LineageOptions): Promise<LineageGraph>;

  /** Takes the next version number of a model in a model repository (never the same one twice). */
  allocateModelVersion(a: AllocateModelVersion): Promise<ModelVersionRecord>;
  /** Marks an allocated version as published: its version manifest is written. */
  markModelVersionPublished(repository: string, model: string, version: number): Promise<void>;
  /** Versions in model repositories, by repository and model, newest first. */
  listModelVersions(q?: ListModelVersions): Promise<ModelVersionRecord[]>;

  close(): Promise<void>;
}

/** What a component's resolve step may read from the metadata store. */
export type ArtifactQueries = Pick<MetadataStore, 'getArtifact' | 'findArtifacts'>;

export interface OpenMetadataStoreOptions {
  /** How long a write waits for another process holding the database's write lock. */
  lockTimeoutMs?: number;
}

/** Credentials never reach an error message. */
function redactUrl(url: string): string {
  return url.replace(/:\/\/([^:@/]+):[^@/]*@/, '://$1:********@');
}

/**
 * Opens the metadata store at `url` and brings its schema up to date. `sqlite:///absolute/path.db`
 * (parent directories are created; a relative path is taken from the working directory) or
 * `sqlite://:memory:` for a throw-away store.
 */
export async function openMetadataStore(url: string, options: OpenMetadataStoreOptions = {}): Promise<MetadataStore> {
  if (/^postgres(ql)?:\/\//.test(url)) {
    throw new Error(
      `${ENV_VARS.metadataUrl}=${redactUrl(url)}: the PostgreSQL metadata store is not available in this build; ` +
        'use a SQLite file instead, e.g. sqlite:///var/lib/mlpipe/metadata.db',
    );
  }
  const sqlite = /^sqlite:\/\/(.+)$/.exec(url);
  if (!sqlite) {
    throw new Error(
      `${ENV_VARS.metadataUrl}=${redactUrl(url)}: expected sqlite:///absolute/path.db`,
    );
  }
  const location = sqlite[1]!;
  const driver = openSqliteDriver(location === ':memory:' ? location : path.resolve(location), options);
  try {
    await migrate(driver);
  } catch (err) {
    await driver.close();
    throw err;
  }
  return new SqlMetadataStore(driver);
}
