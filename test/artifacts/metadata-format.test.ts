import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ArtifactRef, ArtifactType } from '../../artifacts/artifact-types';
import { formatLineage } from '../../artifacts/metadata/lineage-format';
import { openMetadataStore, type MetadataStore } from '../../artifacts/metadata/metadata-store';
import { formatRun, formatRunsTable } from '../../artifacts/metadata/runs-format';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const ref = (type: ArtifactType, uri: string): ArtifactRef => ({ type, uri, contentHash: sha(uri), properties: {} });

describe('metadata text for the CLI', function () {
  let dir: string;
  let store: MetadataStore;

  /** ExampleGen -> StatisticsGen -> SchemaGen; ExampleValidator(statistics, schema); a Trainer that failed. */
  beforeEach(async function () {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mlpipe-metadata-fmt-'));
    store = await openMetadataStore(`sqlite://${path.join(dir, 'metadata.db')}`);
    const node = async (
      nodeId: string,
      component: string,
      inputs: Record<string, ArtifactRef[]>,
      outputs: Record<string, ArtifactRef[]>,
      state: 'succeeded' | 'failed' = 'succeeded',
    ) => {
      const id = await store.startExecution({
        pipeline: 'penguins', runId: 'run-1', nodeId, component, componentVersion: '1', fingerprint: sha(nodeId), inputs,
      });
      return store.finishExecution(id, {
        state, outputs, worker: 'host-1@4242', attempt: state === 'failed' ? 3 : 1,
        ...(state === 'failed' ? { error: 'label column "species" not found\nin Split-train' } : {}),
      });
    };
    const gen = await node('example_gen', 'ExampleGen', {}, { examples: [ref('Examples', 'file:///s/examples')] });
    const stats = await node('statistics_gen', 'StatisticsGen', { examples: gen.examples! }, {
      statistics: [ref('ExampleStatistics', 'file:///s/statistics')],
    });
    const schema = await node('schema_gen', 'SchemaGen', { statistics: stats.statistics! }, { schema: [ref('Schema', 'file:///s/schema')] });
    await node('example_validator', 'ExampleValidator', { statistics: stats.statistics!, schema: schema.schema! }, {
      anomalies: [ref('ExampleAnomalies', 'file:///s/anomalies')],
    });
    await node('trainer', 'Trainer', { examples: gen.examples!, schema: schema.schema! }, {}, 'failed');
    await store.setArtifactState(gen.examples![0]!.id, 'deleted');
  });

  afterEach(async function () {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('formats upstream lineage as a tree with types, states and URIs, expanding a shared producer once', async function () {
    const text = formatLineage(await store.lineage('file:///s/anomalies', { direction: 'up' }), 4);
    assert.equal(
      text,
      [
        'ExampleAnomalies #4 · live · file:///s/anomalies',
        `  content sha256:${sha('file:///s/anomalies').slice(0, 12)}`,
        '',
        'Upstream: what produced it',
        '└─ execution #4 ExampleValidator · node example_validator · run run-1 · succeeded',
        '   ├─ schema: Schema #3 · live · file:///s/schema',
        '   │  └─ execution #3 SchemaGen · node schema_gen · run run-1 · succeeded',
        '   │     └─ statistics: ExampleStatistics #2 · live · file:///s/statistics',
        '   │        └─ execution #2 StatisticsGen · node statistics_gen · run run-1 · succeeded',
        '   │           └─ examples: Examples #1 · deleted · file:///s/examples',
        '   │              └─ execution #1 ExampleGen · node example_gen · run run-1 · succeeded',
        '   └─ statistics: ExampleStatistics #2 · live · file:///s/statistics',
        '      └─ execution #2 StatisticsGen · node statistics_gen · run run-1 · succeeded (shown above)',
      ].join('\n'),
    );
  });

  it('formats downstream lineage: what consumed the artifact, as which input, and what that produced', async function () {
    const text = formatLineage(await store.lineage('file:///s/schema'), 3);
    const downstream = text.slice(text.indexOf('Downstream'));
    assert.equal(
      downstream,
      [
        'Downstream: what it fed',
        '├─ as schema → execution #4 ExampleValidator · node example_validator · run run-1 · succeeded',
        '│  └─ anomalies: ExampleAnomalies #4 · live · file:///s/anomalies',
        '└─ as schema → execution #5 Trainer · node trainer · run run-1 · failed',
      ].join('\n'),
    );
    assert.match(text, /Upstream: what produced it\n└─ execution #3 SchemaGen/);
  });

  it('says when nothing produced or consumed an artifact, and how deep it looked', async function () {
    const source = formatLineage(await store.lineage('file:///s/examples', { depth: 1 }), 1);
    assert.match(source, /^Examples #1 · deleted · file:\/\/\/s\/examples/);
    assert.match(source, /Upstream: what produced it \(up to 1 execution away\)\n└─ execution #1 ExampleGen/);
    const leaf = formatLineage(await store.lineage('file:///s/anomalies', { direction: 'down' }), 4);
    assert.match(leaf, /Downstream: what it fed\n {3}\(no recorded execution has consumed it yet\)$/);
    assert.doesNotMatch(leaf, /Upstream/);
    const external = await store.putArtifact(ref('Examples', 'file:///imported'), 'live');
    assert.match(formatLineage(await store.lineage(external), external), /\(no recorded execution produced it: an external input\)/);
    assert.throws(() => formatLineage({ focus: 1, direction: 'both', depth: null, artifacts: [], executions: [], events: [] }, 1), /artifact #1 is not part of this lineage graph/);
  });

  it('lists runs as a table with state, duration and node counts', async function () {
    await store.putContext('run', 'run-2', { workflowId: 'flights-0c1d2e3f' }, { pipeline: 'flights' });
    const lines = formatRunsTable(await store.listRuns()).split('\n');
    assert.match(lines[0]!, /^WORKFLOW ID\s+RUN ID\s+PIPELINE\s+STATE\s+STARTED\s+DURATION\s+NODES$/);
    assert.match(lines[1]!, /^flights-0c1d2e3f\s+run-2\s+flights\s+running\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+-\s+none yet$/);
    // A run recorded without its workflow id shows a dash in that column.
    assert.match(lines[2]!, /^-\s+run-1\s+penguins\s+failed\s+\S+ \S+\s+\d+ms\s+4 succeeded, 1 failed$/);
    assert.equal(lines.length, 3);
    assert.equal(formatRunsTable([]), 'No runs recorded yet.');
  });

  it('shows one run: header, a row per node with worker and outputs, then errors', async function () {
    const text = formatRun((await store.getRun('run-1'))!);
    const lines = text.split('\n');
    assert.deepEqual(lines.slice(0, 3), ['Run run-1', '  pipeline  penguins', '  state     failed']);
    assert.match(text, /\n {2}nodes {5}4 succeeded, 1 failed\n/);
    const header = lines.find((l) => l.startsWith('NODE'));
    assert.match(header!, /^NODE\s+COMPONENT\s+STATE\s+ATTEMPT\s+WORKER\s+DURATION\s+EXECUTION\s+OUTPUTS$/);
    assert.match(text, /\nexample_gen\s+ExampleGen\s+succeeded\s+1\s+host-1@4242\s+\d+ms\s+#1\s+examples: file:\/\/\/s\/examples \(deleted\)\n/);
    assert.match(text, /\ntrainer\s+Trainer\s+failed\s+3\s+host-1@4242\s+\d+ms\s+#5\s+-\n/);
    assert.ok(
      text.endsWith('Errors:\n  trainer (execution #5): label column "species" not found\n    in Split-train'),
      text,
    );
  });

  it('marks a cached node with the execution it reused', async function () {
    const [hit] = await store.findByFingerprint(sha('statistics_gen'));
    const id = await store.startExecution({
      pipeline: 'penguins', runId: 'run-2', nodeId: 'statistics_gen', component: 'StatisticsGen', componentVersion: '1',
      fingerprint: sha('statistics_gen'), inputs: {}, state: 'cached', cachedFrom: hit!.executionId,
    });
    await store.finishExecution(id, { state: 'cached', outputs: { statistics: hit!.outputs.statistics! } });
    const text = formatRun((await store.getRun('run-2'))!);
    assert.match(text, /\nstatistics_gen\s+StatisticsGen\s+cached\s+-\s+-\s+\d+ms\s+#6 \(from #2\)\s+statistics: file:\/\/\/s\/statistics\n?/);
    assert.match(text, /state {5}succeeded/);
    assert.match(formatLineage(await store.lineage('file:///s/statistics', { direction: 'up' }), 2), /execution #6 StatisticsGen · node statistics_gen · run run-2 · cached \(cached from execution #2\)/);
  });
});
