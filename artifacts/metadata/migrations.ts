import type { SqlDialect, SqlDriver } from './sql-driver';

export interface Migration {
  version: number;
  name: string;
  statements(d: SqlDialect): string[];
}

/** Append only: a released migration never changes, a schema change is a new entry. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'artifacts, executions, events, contexts, attributions, associations',
    statements: (d) => [
      `CREATE TABLE artifacts (
        id ${d.autoIdColumn},
        type TEXT NOT NULL,
        uri TEXT NOT NULL UNIQUE,
        properties TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'live', 'deleted')),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      )`,
      `CREATE TABLE executions (
        id ${d.autoIdColumn},
        component TEXT NOT NULL,
        component_version TEXT NOT NULL,
        node_id TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('running', 'succeeded', 'failed', 'cancelled', 'cached')),
        worker TEXT,
        attempt INTEGER,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        error TEXT,
        summary TEXT,
        cached_from ${d.idRefType} REFERENCES executions (id)
      )`,
      'CREATE INDEX executions_by_fingerprint ON executions (fingerprint, state)',
      `CREATE TABLE events (
        execution_id ${d.idRefType} NOT NULL REFERENCES executions (id),
        artifact_id ${d.idRefType} NOT NULL REFERENCES artifacts (id),
        kind TEXT NOT NULL CHECK (kind IN ('input', 'output')),
        event_key TEXT NOT NULL,
        event_index INTEGER NOT NULL,
        PRIMARY KEY (execution_id, kind, event_key, event_index)
      )`,
      'CREATE INDEX events_by_artifact ON events (artifact_id, kind)',
      `CREATE TABLE contexts (
        id ${d.autoIdColumn},
        type TEXT NOT NULL CHECK (type IN ('pipeline', 'run')),
        name TEXT NOT NULL,
        parent_id ${d.idRefType} REFERENCES contexts (id),
        properties TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (type, name)
      )`,
      'CREATE INDEX contexts_by_parent ON contexts (parent_id)',
      `CREATE TABLE attributions (
        context_id ${d.idRefType} NOT NULL REFERENCES contexts (id),
        artifact_id ${d.idRefType} NOT NULL REFERENCES artifacts (id),
        PRIMARY KEY (context_id, artifact_id)
      )`,
      'CREATE INDEX attributions_by_artifact ON attributions (artifact_id)',
      `CREATE TABLE associations (
        context_id ${d.idRefType} NOT NULL REFERENCES contexts (id),
        execution_id ${d.idRefType} NOT NULL REFERENCES executions (id),
        PRIMARY KEY (context_id, execution_id)
      )`,
      'CREATE INDEX associations_by_execution ON associations (execution_id)',
    ],
  },
  {
    version: 2,
    name: 'executions: what the resolve step found, a gate\'s block, why the cache missed',
    statements: () => [
      'ALTER TABLE executions ADD COLUMN resolved TEXT',
      'ALTER TABLE executions ADD COLUMN blocked TEXT',
      'ALTER TABLE executions ADD COLUMN cache_miss TEXT',
    ],
  },
  {
    version: 3,
    name: 'model_versions: the versions the Pusher and rollback allocate in a model repository',
    statements: (d) => [
      `CREATE TABLE model_versions (
        id ${d.autoIdColumn},
        repository TEXT NOT NULL,
        model TEXT NOT NULL,
        version INTEGER NOT NULL,
        state TEXT NOT NULL,
        served_content_hash TEXT NOT NULL,
        details TEXT NOT NULL,
        allocated_at TEXT NOT NULL,
        published_at TEXT,
        UNIQUE (repository, model, version)
      )`,
    ],
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/**
 * Brings the schema up to `SCHEMA_VERSION`, applying each missing migration once. Runs in one write
 * transaction, so processes opening the same database at once apply each migration exactly once.
 * Returns the versions it applied (empty when the schema was current).
 */
export async function migrate(driver: SqlDriver, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  return driver.write(async (s) => {
    await s.run(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at TEXT NOT NULL
    )`);
    const rows = await s.all('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((r) => Number(r.version)));
    const known = new Set(migrations.map((m) => m.version));
    const unknown = [...applied].filter((v) => !known.has(v)).sort((a, b) => a - b);
    if (unknown.length > 0) {
      throw new Error(
        `metadata database ${driver.location} has schema version ${unknown[unknown.length - 1]}, ` +
          `newer than this mlpipe build knows (${Math.max(...known)}); upgrade mlpipe to open it`,
      );
    }
    const done: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue;
      for (const sql of m.statements(driver.dialect)) await s.run(sql);
      await s.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
        m.version,
        m.name,
        new Date().toISOString(),
      ]);
      done.push(m.version);
    }
    return done;
  });
}
