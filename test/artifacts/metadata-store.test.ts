import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { ArtifactRef, ArtifactType } from '../../artifacts/artifact-types';
import { MIGRATIONS, SCHEMA_VERSION, migrate } from '../../artifacts/metadata/migrations';
import { openMetadataStore, RUN_STATUS_PROPERTY, type MetadataStore } from '../../artifacts/metadata/metadata-store';
import { openSqliteDriver } from '../../artifacts/metadata/sqlite-driver';
import { fingerprintBase, fingerprintWithVersion } from '../../artifacts/fingerprint';

function hashOf(text: string): string {
  return fingerprintWithVersion(fingerprintBase({ component: 'test-content', parameters: { text }, inputs: {} }), '1');
}

function ref(type: ArtifactType, uri: string, content = uri): ArtifactRef {
  return { type, uri, contentHash: hashOf(content), properties: {} };
}

/**
 * ExampleGen -> StatisticsGen -> SchemaGen, and ExampleValidator reading both statistics and schema
 * (a diamond), all in one run. Returns the artifact and execution ids.
 */
async function recordPipeline(store: MetadataStore, runId: string, root: string, fingerprints: Partial<Record<string, string>> = {}) {
  const fp = (node: string) => fingerprints[node] ?? hashOf(`${runId}/${node}`);
  const node = async (nodeId: string, component: string, inputs: Record<string, ArtifactRef[]>, outputs: Record<string, ArtifactRef[]>) => {
    const id = await store.startExecution({
      pipeline: 'penguins',
      runId,
      nodeId,
      component,
      componentVersion: '1.0.0',
      fingerprint: fp(nodeId),
      inputs,
    });
    const published = await store.finishExecution(id, { state: 'succeeded', outputs, worker: 'worker-a', attempt: 1 });
    return { id, published };
  };
  const gen = await node('example_gen', 'ExampleGen', {}, { examples: [ref('Examples', `${root}/examples`)] });
  const examples = gen.published.examples!;
  const stats = await node('statistics_gen', 'StatisticsGen', { examples }, {
    statistics: [ref('ExampleStatistics', `${root}/statistics`)],
  });
  const statistics = stats.published.statistics!;
  const schemaGen = await node('schema_gen', 'SchemaGen', { statistics }, { schema: [ref('Schema', `${root}/schema`)] });
  const schema = schemaGen.published.schema!;
  const validator = await node('example_validator', 'ExampleValidator', { statistics, schema }, {
    anomalies: [ref('ExampleAnomalies', `${root}/anomalies`)],
  });
  return {
    executions: { gen: gen.id, stats: stats.id, schemaGen: schemaGen.id, validator: validator.id },
    artifacts: {
      examples: examples[0]!.id,
      statistics: statistics[0]!.id,
      schema: schema[0]!.id,
      anomalies: validator.published.anomalies![0]!.id,
    },
  };
}

describe('metadata store (SQLite)', function () {
  let dir: string;
  let url: string;
  let store: MetadataStore;

  beforeEach(async function () {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mlpipe-metadata-'));
    url = `sqlite://${path.join(dir, 'sub', 'metadata.db')}`;
    store = await openMetadataStore(url);
  });

  afterEach(async function () {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('recording runs', function () {
    it('records a pipeline run: executions with inputs and outputs by key, worker and attempt', async function () {
      const { executions, artifacts } = await recordPipeline(store, 'run-1', 'file:///store/run-1');
      const detail = await store.getRun('run-1');
      assert.ok(detail);
      assert.equal(detail.run.pipeline, 'penguins');
      assert.equal(detail.run.state, 'succeeded');
      assert.deepEqual(detail.run.counts, { succeeded: 4 });
      assert.ok(detail.run.finishedAt);
      assert.deepEqual(
        detail.executions.map((e) => [e.nodeId, e.component, e.state, e.worker, e.attempt]),
        [
          ['example_gen', 'ExampleGen', 'succeeded', 'worker-a', 1],
          ['statistics_gen', 'StatisticsGen', 'succeeded', 'worker-a', 1],
          ['schema_gen', 'SchemaGen', 'succeeded', 'worker-a', 1],
          ['example_validator', 'ExampleValidator', 'succeeded', 'worker-a', 1],
        ],
      );
      const validator = detail.executions[3]!;
      assert.equal(validator.id, executions.validator);
      assert.deepEqual(Object.keys(validator.inputs).sort(), ['schema', 'statistics']);
      assert.equal(validator.inputs.statistics![0]!.id, artifacts.statistics);
      assert.equal(validator.inputs.schema![0]!.uri, 'file:///store/run-1/schema');
      assert.equal(validator.outputs.anomalies![0]!.type, 'ExampleAnomalies');
      assert.equal(validator.outputs.anomalies![0]!.state, 'live');

      const execution = await store.getExecution(executions.stats);
      assert.equal(execution?.pipeline, 'penguins');
      assert.equal(execution?.runId, 'run-1');
      assert.equal(execution?.inputs.examples![0]!.id, artifacts.examples);
      assert.equal(await store.getExecution(9999), null);
      assert.equal(await store.getRun('no-such-run'), null);
    });

    it('keeps a failed node with its error and reports the run failed', async function () {
      const id = await store.startExecution({
        pipeline: 'penguins',
        runId: 'run-f',
        nodeId: 'trainer',
        component: 'Trainer',
        componentVersion: '1',
        fingerprint: hashOf('trainer'),
        inputs: { examples: [ref('Examples', 'file:///external/examples')] },
      });
      assert.equal((await store.getRun('run-f'))?.run.state, 'running');
      await store.finishExecution(id, { state: 'failed', error: 'column "bill" not found', worker: 'w2', attempt: 3 });
      const detail = await store.getRun('run-f');
      assert.equal(detail?.run.state, 'failed');
      assert.equal(detail?.executions[0]!.error, 'column "bill" not found');
      assert.equal(detail?.executions[0]!.attempt, 3);
      // An input nobody produced (external data) is registered as live.
      assert.equal((await store.getArtifact('file:///external/examples'))?.state, 'live');
    });

    it('lists runs newest first, filtered by pipeline and limited', async function () {
      await recordPipeline(store, 'run-1', 'file:///s/1');
      await store.putContext('run', 'run-2', {}, { pipeline: 'flights' });
      await recordPipeline(store, 'run-3', 'file:///s/3');
      assert.deepEqual((await store.listRuns()).map((r) => r.runId), ['run-3', 'run-2', 'run-1']);
      assert.deepEqual((await store.listRuns({ pipeline: 'penguins' })).map((r) => r.runId), ['run-3', 'run-1']);
      assert.deepEqual((await store.listRuns({ limit: 1 })).map((r) => r.runId), ['run-3']);
      const flights = await store.listRuns({ pipeline: 'flights' });
      assert.deepEqual(
        flights.map((r) => [r.runId, r.pipeline, r.executions, r.state]),
        [['run-2', 'flights', 0, 'running']],
      );
    });

    it('upserts contexts idempotently, merging properties; a status property sets the run state', async function () {
      const a = await store.putContext('run', 'run-x', { trigger: 'schedule' }, { pipeline: 'penguins' });
      const b = await store.putContext('run', 'run-x', { [RUN_STATUS_PROPERTY]: 'cancelled' });
      assert.equal(a, b);
      const [run] = await store.listRuns();
      assert.deepEqual(run?.properties, { trigger: 'schedule', status: 'cancelled' });
      assert.equal(run?.state, 'cancelled');
      assert.equal(run?.pipeline, 'penguins');
      assert.notEqual(await store.putContext('pipeline', 'run-x'), a, 'a pipeline and a run may share a name');
    });

    it('finishing an execution twice (a retried publish) registers each output once', async function () {
      const id = await store.startExecution({
        pipeline: 'p', runId: 'r', nodeId: 'gen', component: 'ExampleGen', componentVersion: '1',
        fingerprint: hashOf('gen'), inputs: {},
      });
      const outputs = { examples: [ref('Examples', 'file:///s/ex')] };
      const first = await store.finishExecution(id, { state: 'succeeded', outputs });
      const second = await store.finishExecution(id, { state: 'succeeded', outputs });
      assert.deepEqual(second, first);
      const execution = await store.getExecution(id);
      assert.equal(execution?.outputs.examples?.length, 1);
      const graph = await store.lineage(first.examples![0]!.id);
      assert.equal(graph.events.filter((e) => e.kind === 'output').length, 1);
    });
  });

  describe('artifacts', function () {
    it('upserts by URI: same id, new state, content hash and properties', async function () {
      const id = await store.putArtifact(ref('Model', 'file:///m/1', 'v1'), 'pending');
      const again = await store.putArtifact({ ...ref('Model', 'file:///m/1', 'v2'), properties: { accuracy: 0.9 } }, 'live');
      assert.equal(again, id);
      const record = await store.getArtifact(id);
      assert.equal(record?.state, 'live');
      assert.equal(record?.contentHash, hashOf('v2'));
      assert.deepEqual(record?.properties, { accuracy: 0.9 });
      assert.deepEqual(await store.getArtifact('file:///m/1'), record);
      assert.equal(await store.getArtifact('file:///nothing'), null);
    });

    it('refuses a URI registered under another type, and a bad content hash', async function () {
      await store.putArtifact(ref('Model', 'file:///m/1'), 'live');
      await assert.rejects(store.putArtifact(ref('Schema', 'file:///m/1'), 'live'), /file:\/\/\/m\/1 is registered as type Model, not Schema/);
      await assert.rejects(
        store.putArtifact({ type: 'Model', uri: 'file:///m/2', contentHash: 'abc', properties: {} }, 'live'),
        /putArtifact ref: contentHash/,
      );
    });

    it('setArtifactState marks an artifact deleted and names an unknown id', async function () {
      const id = await store.putArtifact(ref('Model', 'file:///m/1'), 'live');
      await store.setArtifactState(id, 'deleted');
      assert.equal((await store.getArtifact(id))?.state, 'deleted');
      await assert.rejects(store.setArtifactState(4242, 'live'), /no artifact with id 4242/);
    });
  });

  describe('cache look-up by fingerprint', function () {
    const shared = hashOf('shared-fingerprint');

    it('returns succeeded executions newest first with their outputs; never failed, cancelled, running or cached ones', async function () {
      const first = await recordPipeline(store, 'run-1', 'file:///s/1', { example_gen: shared });
      const second = await recordPipeline(store, 'run-2', 'file:///s/2', { example_gen: shared });
      const start = (runId: string, extra: { state?: 'cached'; cachedFrom?: number } = {}) =>
        store.startExecution({
          pipeline: 'penguins', runId, nodeId: 'example_gen', component: 'ExampleGen', componentVersion: '1.0.0',
          fingerprint: shared, inputs: {}, ...extra,
        });
      await store.finishExecution(await start('run-3'), { state: 'failed', error: 'boom' });
      await store.finishExecution(await start('run-4'), { state: 'cancelled' });
      await start('run-5');
      const cached = await start('run-6', { state: 'cached', cachedFrom: second.executions.gen });
      await store.finishExecution(cached, { state: 'cached', outputs: { examples: [ref('Examples', 'file:///s/2/examples')] } });

      const hits = await store.findByFingerprint(shared);
      assert.deepEqual(hits.map((h) => h.executionId), [second.executions.gen, first.executions.gen]);
      assert.equal(hits[0]!.outputs.examples![0]!.uri, 'file:///s/2/examples');
      assert.equal(hits[0]!.outputs.examples![0]!.state, 'live');
      assert.deepEqual(await store.findByFingerprint(hashOf('never-seen')), []);

      const cachedRecord = await store.getExecution(cached);
      assert.equal(cachedRecord?.state, 'cached');
      assert.equal(cachedRecord?.cachedFrom, second.executions.gen);
      assert.deepEqual((await store.getRun('run-6'))?.run.counts, { cached: 1 });
    });

    it("reports an output deleted from the store with state 'deleted'", async function () {
      const run = await recordPipeline(store, 'run-1', 'file:///s/1', { example_gen: shared });
      await store.setArtifactState(run.artifacts.examples, 'deleted');
      const [hit] = await store.findByFingerprint(shared);
      assert.equal(hit?.outputs.examples![0]!.state, 'deleted');
    });

    it('rejects a cached execution without its source, and a source that does not exist', async function () {
      const base = { pipeline: 'p', runId: 'r', nodeId: 'n', component: 'C', componentVersion: '1', fingerprint: shared, inputs: {} };
      await assert.rejects(store.startExecution({ ...base, state: 'cached' }), /startExecution: cachedFrom: cachedFrom is required/);
      await assert.rejects(store.startExecution({ ...base, state: 'cached', cachedFrom: 77 }), /cachedFrom names execution 77, which does not exist/);
      await assert.rejects(store.startExecution({ ...base, fingerprint: 'nope' }), /startExecution: fingerprint: expected a sha256 hex digest/);
      await assert.rejects(store.finishExecution(555, { state: 'succeeded' }), /finishExecution: no execution with id 555/);
    });
  });

  describe('lineage', function () {
    it('walks upstream recursively from an artifact, following a diamond once', async function () {
      const { executions, artifacts } = await recordPipeline(store, 'run-1', 'file:///s/1');
      const graph = await store.lineage('file:///s/1/anomalies', { direction: 'up' });
      assert.equal(graph.focus, artifacts.anomalies);
      assert.deepEqual(graph.executions.map((e) => e.id), [executions.gen, executions.stats, executions.schemaGen, executions.validator]);
      assert.deepEqual(
        graph.artifacts.map((a) => a.id),
        [artifacts.examples, artifacts.statistics, artifacts.schema, artifacts.anomalies],
      );
      const validatorInputs = graph.events.filter((e) => e.executionId === executions.validator && e.kind === 'input');
      assert.deepEqual(validatorInputs.map((e) => e.key).sort(), ['schema', 'statistics']);
    });

    it('walks downstream to everything an artifact fed', async function () {
      const { executions, artifacts } = await recordPipeline(store, 'run-1', 'file:///s/1');
      const graph = await store.lineage(artifacts.statistics, { direction: 'down' });
      assert.deepEqual(graph.executions.map((e) => e.id).sort(), [executions.schemaGen, executions.validator].sort());
      assert.deepEqual(graph.artifacts.map((a) => a.id), [artifacts.statistics, artifacts.schema, artifacts.anomalies]);
      assert.ok(!graph.executions.some((e) => e.id === executions.stats), 'the producer is upstream, not downstream');
    });

    it('limits the walk to depth execution hops and combines both directions', async function () {
      const { executions, artifacts } = await recordPipeline(store, 'run-1', 'file:///s/1');
      const up1 = await store.lineage(artifacts.schema, { direction: 'up', depth: 1 });
      assert.deepEqual(up1.executions.map((e) => e.id), [executions.schemaGen]);
      assert.deepEqual(up1.artifacts.map((a) => a.id), [artifacts.statistics, artifacts.schema]);
      assert.equal(up1.depth, 1);

      const both = await store.lineage(artifacts.statistics, { depth: 1 });
      assert.equal(both.direction, 'both');
      assert.deepEqual(both.executions.map((e) => e.id), [executions.stats, executions.schemaGen, executions.validator]);
      assert.deepEqual(
        both.artifacts.map((a) => a.id),
        [artifacts.examples, artifacts.statistics, artifacts.schema, artifacts.anomalies],
      );
      const unlimited = await store.lineage(artifacts.examples, { direction: 'down' });
      assert.equal(unlimited.executions.length, 3);
      assert.equal(unlimited.depth, null);
    });

    it("shows deleted artifacts with state 'deleted' and names an unknown artifact", async function () {
      const { artifacts } = await recordPipeline(store, 'run-1', 'file:///s/1');
      await store.setArtifactState(artifacts.examples, 'deleted');
      const graph = await store.lineage(artifacts.anomalies);
      assert.equal(graph.artifacts.find((a) => a.id === artifacts.examples)?.state, 'deleted');
      await assert.rejects(store.lineage('file:///nowhere'), /no artifact at file:\/\/\/nowhere in the metadata store/);
      await assert.rejects(store.lineage(404), /no artifact with id 404/);
      await assert.rejects(store.lineage(artifacts.examples, { depth: 0 }), /lineage options: depth/);
    });
  });

  describe('the database file', function () {
    it('keeps everything across close and reopen', async function () {
      const { artifacts } = await recordPipeline(store, 'run-1', 'file:///s/1');
      await store.close();
      store = await openMetadataStore(url);
      assert.equal((await store.getRun('run-1'))?.executions.length, 4);
      assert.equal((await store.lineage(artifacts.anomalies, { direction: 'up' })).executions.length, 4);
    });

    it('uses WAL mode and records each migration once however often it is opened', async function () {
      await store.close();
      store = await openMetadataStore(url);
      const file = path.join(dir, 'sub', 'metadata.db');
      const driver = openSqliteDriver(file);
      try {
        assert.deepEqual(await migrate(driver), []);
        const rows = await driver.read((s) => s.all('SELECT version FROM schema_migrations ORDER BY version'));
        assert.deepEqual(rows.map((r) => r.version), MIGRATIONS.map((m) => m.version));
        const mode = await driver.read((s) => s.get('PRAGMA journal_mode'));
        assert.equal(mode?.journal_mode, 'wal');
      } finally {
        await driver.close();
      }
    });

    it('applies a new migration to an existing database, once', async function () {
      await recordPipeline(store, 'run-1', 'file:///s/1');
      await store.close();
      const driver = openSqliteDriver(path.join(dir, 'sub', 'metadata.db'));
      const next = [
        ...MIGRATIONS,
        { version: SCHEMA_VERSION + 1, name: 'test index', statements: () => ['CREATE INDEX test_by_node ON executions (node_id)'] },
      ];
      try {
        assert.deepEqual(await migrate(driver, next), [SCHEMA_VERSION + 1]);
        assert.deepEqual(await migrate(driver, next), []);
      } finally {
        await driver.close();
      }
      // This build does not know that version: it must refuse rather than write to a schema it does not understand.
      await assert.rejects(openMetadataStore(url), new RegExp(`has schema version ${SCHEMA_VERSION + 1}, newer than this mlpipe build knows`));
      store = await openMetadataStore(`sqlite://${path.join(dir, 'other.db')}`);
    });

    it('waits for another process holding the write lock without blocking the event loop', async function () {
      const file = path.join(dir, 'sub', 'metadata.db');
      const holder = new Database(file);
      holder.exec('BEGIN IMMEDIATE');
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 10);
      try {
        const write = store.putArtifact(ref('Model', 'file:///m/locked'), 'live');
        await new Promise((resolve) => setTimeout(resolve, 300));
        holder.exec('COMMIT');
        const id = await write;
        assert.ok(id > 0);
        assert.ok(ticks >= 5, `timers kept firing while waiting for the lock (${ticks} ticks)`);
      } finally {
        clearInterval(ticker);
        if (holder.inTransaction) holder.exec('ROLLBACK');
        holder.close();
      }
    });

    it('gives up on a lock held too long with a message saying so', async function () {
      const file = path.join(dir, 'sub', 'metadata.db');
      const impatient = await openMetadataStore(url, { lockTimeoutMs: 200 });
      const holder = new Database(file);
      holder.exec('BEGIN IMMEDIATE');
      try {
        await assert.rejects(
          impatient.putArtifact(ref('Model', 'file:///m/locked'), 'live'),
          /stayed locked by another process for 200 ms/,
        );
      } finally {
        holder.exec('ROLLBACK');
        holder.close();
        await impatient.close();
      }
    });
  });

  describe('opening by URL', function () {
    it('explains that PostgreSQL is not available in this build, without printing the password', async function () {
      await assert.rejects(openMetadataStore('postgres://mlpipe:s3cret@db:5432/mlpipe'), (err: Error) => {
        assert.match(err.message, /MLPIPE_METADATA_URL=postgres:\/\/mlpipe:\*+@db:5432\/mlpipe/);
        assert.match(err.message, /PostgreSQL metadata store is not available in this build; use a SQLite file/);
        assert.doesNotMatch(err.message, /s3cret/);
        return true;
      });
      await assert.rejects(openMetadataStore('postgresql://db/mlpipe'), /not available in this build/);
    });

    it('rejects other URLs naming the expected form', async function () {
      for (const bad of ['mysql://db/x', 'sqlite://', '/plain/path.db']) {
        await assert.rejects(openMetadataStore(bad), /expected sqlite:\/\/\/absolute\/path\.db/, bad);
      }
    });

    it('opens an in-memory store', async function () {
      const memory = await openMetadataStore('sqlite://:memory:');
      try {
        const id = await memory.putContext('pipeline', 'p');
        assert.equal(await memory.putContext('pipeline', 'p'), id);
      } finally {
        await memory.close();
      }
    });

    it('refuses calls after close', async function () {
      const other = await openMetadataStore(`sqlite://${path.join(dir, 'closed.db')}`);
      await other.close();
      await other.close();
      await assert.rejects(other.listRuns(), /is closed/);
    });
  });
});
