import { z } from 'zod';
import type { SqlDriver, SqlRow, SqlSession } from './sql-driver';

/**
 * The model registry's half in the metadata store: which version numbers of `<repository>/<model>`
 * are taken, and what each holds. A version is allocated before its files are published (state
 * `publishing`) and marked `published` once the repository's version manifest is written, so two
 * pushes at once never take the same number and a push that died half-way never reads as served.
 */
export const ModelVersionDetailsSchema = z
  .object({
    /** `push` by the Pusher, `rollback` by `mlpipe models rollback`. */
    kind: z.enum(['push', 'rollback']),
    pipeline: z.string().optional(),
    runId: z.string().optional(),
    /** The ServingModel artifact pushed, and its content hash. */
    sourceUri: z.string().optional(),
    sourceContentHash: z.string().optional(),
    /** A rollback: the version whose files it published again. */
    rollbackOf: z.number().int().positive().optional(),
  })
  .strict();
export type ModelVersionDetails = z.infer<typeof ModelVersionDetailsSchema>;

export const ModelVersionRecordSchema = z
  .object({
    repository: z.string(),
    model: z.string(),
    version: z.number().int().positive(),
    state: z.enum(['publishing', 'published']),
    /** The hash of what the server loads (the model file and its config): equal hashes, equal answers. */
    servedContentHash: z.string(),
    details: ModelVersionDetailsSchema,
    allocatedAt: z.string(),
    publishedAt: z.string().nullable(),
  })
  .strict();
export type ModelVersionRecord = z.infer<typeof ModelVersionRecordSchema>;

export interface AllocateModelVersion {
  repository: string;
  model: string;
  servedContentHash: string;
  details: ModelVersionDetails;
  /** The least number to take: one above what the repository already holds (versions put there by other means). */
  atLeast?: number;
}

/** How often an allocation that lost the race for a number (a unique-constraint conflict) tries the next one. */
const ALLOCATION_ATTEMPTS = 10;

const COLUMNS = 'repository, model, version, state, served_content_hash, details, allocated_at, published_at';

function toRecord(row: SqlRow): ModelVersionRecord {
  return ModelVersionRecordSchema.parse({
    repository: row.repository,
    model: row.model,
    version: Number(row.version),
    state: row.state,
    servedContentHash: row.served_content_hash,
    details: JSON.parse(String(row.details)),
    allocatedAt: row.allocated_at,
    publishedAt: row.published_at ?? null,
  });
}

function isUniqueViolation(err: unknown): boolean {
  const code = String((err as { code?: unknown }).code ?? '');
  // SQLite's SQLITE_CONSTRAINT_UNIQUE, PostgreSQL's unique_violation.
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505';
}

async function nextVersion(s: SqlSession, repository: string, model: string): Promise<number> {
  const row = await s.get('SELECT MAX(version) AS newest FROM model_versions WHERE repository = ? AND model = ?', [repository, model]);
  return Number(row?.newest ?? 0) + 1;
}

/**
 * Takes the next version number of `repository`/`model`: one more than any allocated, whether or not
 * its publication finished (a number once handed out is never handed out again), and not below
 * `atLeast`. The unique
 * (repository, model, version) constraint is what makes it safe against another writer; one that
 * took the number first sends this one on to the next.
 */
export async function allocateModelVersion(driver: SqlDriver, a: AllocateModelVersion): Promise<ModelVersionRecord> {
  const details = ModelVersionDetailsSchema.parse(a.details);
  for (let attempt = 1; ; attempt++) {
    try {
      return await driver.write(async (s) => {
        const version = Math.max(await nextVersion(s, a.repository, a.model), a.atLeast ?? 1);
        await s.run(`INSERT INTO model_versions (${COLUMNS}) VALUES (?, ?, ?, 'publishing', ?, ?, ?, NULL)`, [
          a.repository,
          a.model,
          version,
          a.servedContentHash,
          JSON.stringify(details),
          new Date().toISOString(),
        ]);
        return toRecord((await s.get(`SELECT ${COLUMNS} FROM model_versions WHERE repository = ? AND model = ? AND version = ?`, [a.repository, a.model, version]))!);
      });
    } catch (err) {
      if (!isUniqueViolation(err) || attempt >= ALLOCATION_ATTEMPTS) throw err;
    }
  }
}

export async function markModelVersionPublished(driver: SqlDriver, repository: string, model: string, version: number): Promise<void> {
  await driver.write(async (s) => {
    const { changes } = await s.run(
      "UPDATE model_versions SET state = 'published', published_at = ? WHERE repository = ? AND model = ? AND version = ?",
      [new Date().toISOString(), repository, model, version],
    );
    if (changes === 0) throw new Error(`no allocated version ${version} of model '${model}' in ${repository}`);
  });
}

export interface ListModelVersions {
  repository?: string;
  model?: string;
  /** Leave out versions whose publication never finished. */
  publishedOnly?: boolean;
}

/** By repository and model, newest version first. */
export async function listModelVersions(driver: SqlDriver, q: ListModelVersions = {}): Promise<ModelVersionRecord[]> {
  const where: string[] = [];
  const params: string[] = [];
  if (q.repository !== undefined) {
    where.push('repository = ?');
    params.push(q.repository);
  }
  if (q.model !== undefined) {
    where.push('model = ?');
    params.push(q.model);
  }
  if (q.publishedOnly) where.push("state = 'published'");
  const sql = `SELECT ${COLUMNS} FROM model_versions${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY repository, model, version DESC`;
  return driver.read(async (s) => (await s.all(sql, params)).map(toRecord));
}
