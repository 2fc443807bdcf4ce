import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { openMetadataStore } from '../../artifacts/metadata/metadata-store';

const run = promisify(execFile);

/** Both writers start together (file barrier), open a fresh database at once, and write to the same run. */
const WRITER = `
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { openMetadataStore } = require(process.env.STORE_MODULE);
const [url, name, count, barrier] = process.argv.slice(1);
const sha = (s) => crypto.createHash('sha256').update(s).digest('hex');
(async () => {
  fs.writeFileSync(path.join(barrier, name), '');
  while (fs.readdirSync(barrier).length < 2) await new Promise((r) => setTimeout(r, 2));
  const store = await openMetadataStore(url);
  const ids = [];
  for (let i = 0; i < Number(count); i++) {
    const id = await store.startExecution({
      pipeline: 'shared-pipeline', runId: 'shared-run', nodeId: name + '-' + i, component: 'ExampleGen',
      componentVersion: '1', fingerprint: sha(name + i), inputs: {},
    });
    await store.finishExecution(id, {
      state: 'succeeded', worker: name, attempt: 1,
      outputs: { examples: [{ type: 'Examples', uri: 'file:///c/' + name + '/' + i, contentHash: sha(name + i), properties: {} }] },
    });
    ids.push(id);
  }
  await store.close();
  process.stdout.write(JSON.stringify(ids));
})().catch((err) => { process.stderr.write(String(err && err.stack || err)); process.exit(1); });
`;

describe('metadata store shared by processes', function () {
  let dir: string;

  beforeEach(function () {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mlpipe-metadata-mp-'));
  });

  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it('two processes opening a new database and writing at once both succeed, interleaved', async function () {
    const url = `sqlite://${path.join(dir, 'metadata.db')}`;
    const barrier = path.join(dir, 'barrier');
    mkdirSync(barrier);
    const count = 150;
    // Under tsx the store is TypeScript; compiled tests load the compiled module.
    const loader = __filename.endsWith('.ts') ? ['-r', 'tsx/cjs'] : [];
    const env = { ...process.env, STORE_MODULE: require.resolve('../../artifacts/metadata/metadata-store') };
    const writer = (name: string) =>
      run(process.execPath, [...loader, '-e', WRITER, url, name, String(count), barrier], { env, timeout: 90_000 });
    const [a, b] = await Promise.all([writer('writer-a'), writer('writer-b')]);
    const idsA = JSON.parse(a.stdout) as number[];
    const idsB = JSON.parse(b.stdout) as number[];
    assert.equal(idsA.length, count);
    assert.equal(idsB.length, count);
    assert.equal(new Set([...idsA, ...idsB]).size, 2 * count, 'every execution got its own id');
    const interleaved = Math.min(...idsB) < Math.max(...idsA) && Math.min(...idsA) < Math.max(...idsB);
    assert.ok(interleaved, 'the writers really ran at the same time');

    const store = await openMetadataStore(url);
    try {
      const detail = await store.getRun('shared-run');
      assert.equal(detail?.executions.length, 2 * count);
      assert.deepEqual(detail?.run.counts, { succeeded: 2 * count });
      assert.equal(detail?.executions.filter((e) => e.worker === 'writer-b').length, count);
      assert.ok(detail?.executions.every((e) => e.outputs.examples?.length === 1));
      assert.deepEqual((await store.listRuns()).map((r) => r.pipeline), ['shared-pipeline']);
    } finally {
      await store.close();
    }
  });
});
