/**
 * Records the Temporal history of a penguins run (plus a failing, a cached and a gated run) as replay fixtures.
 * Re-record only when a workflow change is deliberate and guarded by `patched()`:
 *   node dist/test/replay/record-history.js
 * (starts its own servers; writes test/fixtures/histories/*.json in the source tree).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import createPenguins from '../../examples/penguins/pipeline';
import { pipeline } from '../../dsl/compile';
import { Gate, WriteText } from '../fixtures/engine-components';
import { TestStep } from '../fixtures/test-components';
import { startTestStack } from '../pipeline/harness';
import { stopTestServers } from '../support/servers';
import { removeTempDirs } from '../support/tmp';
import { locateServerBinary } from '../../stack/binaries';

export const HISTORY_DIR = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'histories');

async function main(): Promise<void> {
  const stack = await startTestStack({ queues: ['control', 'cpu'] });
  try {
    const record = async (name: string, handle: Awaited<ReturnType<typeof stack.start>>) => {
      await handle.result().catch(() => undefined);
      // The CLI writes the canonical proto3 JSON that historyFromJSON reads back.
      const json = execFileSync(locateServerBinary('temporal'), ['workflow', 'show', '--address', stack.config.temporalAddress!, '--workflow-id', handle.workflowId, '--output', 'json'], { maxBuffer: 64 << 20 });
      await writeFile(path.join(HISTORY_DIR, `${name}.json`), json);
      process.stdout.write(`recorded ${name}\n`);
    };
    await record('penguins-run', await stack.start(createPenguins()));
    await record('penguins-cached-run', await stack.start(createPenguins()));
    const root = TestStep('root', { parameters: { label: 'root' } });
    const bad = TestStep('bad', { parameters: { label: 'bad', fail: 'boom' }, inputs: { upstream: root.outputs.out }, retry: { maximumAttempts: 1 } });
    const skipped = TestStep('skipped', { inputs: { upstream: bad.outputs.out } });
    await record('failing-run', await stack.start(pipeline({ name: 'failing', nodes: [root, bad, skipped] })));
    const data = WriteText('data', { parameters: { text: 'rows' } });
    const gate = Gate('validate', { parameters: { block: 'anomalies found' }, inputs: { upstream: data.outputs.text } });
    const after = WriteText('train', { parameters: { text: 'model' }, inputs: { upstream: gate.outputs.verdict } });
    await record('gated-run', await stack.start(pipeline({ name: 'gated', nodes: [data, gate, after] })));
  } finally {
    await stack.stop();
    await stopTestServers();
    await removeTempDirs();
  }
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
