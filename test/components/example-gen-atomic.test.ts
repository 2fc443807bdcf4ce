import assert from 'node:assert/strict';
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { ExampleGen } from '../../components/example-gen/spec';
import { withDuckDb } from '../../components/data/duckdb-session';
import { sqlString } from '../../components/data/sql';
import { pipeline } from '../../dsl/compile';
import { startTestStack, type TestStack } from '../pipeline/harness';
import { tempDir } from '../support/tmp';
import { vegaFile } from './vega-data';

const ROWS = 300_000;

describe('ExampleGen: a failure in the middle of a large input', function () {
  let stack: TestStack;
  let csv: string;
  before(async () => {
    stack = await startTestStack({ queues: ['control', 'cpu'] });
    const dir = await tempDir('atomic');
    csv = path.join(dir, 'flights.csv');
    // 300,000 rows of flights-3m as CSV, then one row whose delay is not a number: the scan has read
    // and hashed everything before it when it meets the bad line.
    await withDuckDb({ tmpDir: dir, signal: new AbortController().signal }, (db) =>
      db.query(`COPY (SELECT * FROM read_parquet(${sqlString(vegaFile('flights-3m.parquet'))}) LIMIT ${ROWS}) TO ${sqlString(csv)} (FORMAT csv, HEADER)`),
    );
    await appendFile(csv, '2001-01-01 00:00:00,not-a-delay,100,SEA,SFO\n');
  });
  after(() => stack?.stop());

  it('fails naming the file and line, and publishes nothing', async () => {
    const node = ExampleGen('gen', { parameters: { input: csv, columns: { delay: 'int64' } }, retry: { maximumAttempts: 1 } });
    const run = await stack.run(pipeline({ name: 'atomic-gen', nodes: [node] }));
    assert.equal(run.status.nodes.gen!.state, 'failed');
    assert.match(run.status.nodes.gen!.error ?? '', new RegExp(`${csv.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*line ${ROWS + 2}`));
    const { runId } = await run.handle.describe();
    const left: string[] = [];
    for await (const o of stack.store.list(`pipelines/atomic-gen/runs/${runId}`)) left.push(o.key);
    assert.deepEqual(left, [], 'nothing of the failed node is in the store');
    const metadataRun = await stack.metadata.getRun(runId);
    assert.deepEqual(
      metadataRun!.executions.flatMap((e) => Object.values(e.outputs).flat()),
      [],
      'no output artifact is recorded',
    );
  });
});
