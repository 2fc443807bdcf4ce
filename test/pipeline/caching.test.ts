import assert from 'node:assert/strict';
import { readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { pipeline } from '../../dsl/compile';
import createPenguins, { vegaDataDir } from '../../examples/penguins/pipeline';
import { tempDir } from '../support/tmp';
import { TestStep } from '../fixtures/test-components';
import { startTestStack, type TestStack } from './harness';

/**
 * a -> b -> c and a -> side. Node times are long enough that the 10% bound on a cached re-run
 * measures caching, not scheduling noise on a loaded machine.
 */
function chain(bMs: number, bLabel = 'b') {
  const a = TestStep('a', { parameters: { label: 'a', ms: 1500 } });
  const b = TestStep('b', { parameters: { label: bLabel, ms: bMs }, inputs: { upstream: a.outputs.out } });
  const c = TestStep('c', { parameters: { label: 'c', ms: 1500 }, inputs: { upstream: b.outputs.out } });
  const side = TestStep('side', { parameters: { label: 'side', ms: 1500 }, inputs: { upstream: a.outputs.out } });
  return pipeline({ name: 'cache-test', nodes: [a, b, c, side] });
}

const states = (s: { nodes: Record<string, { state: string }> }) =>
  Object.fromEntries(Object.entries(s.nodes).map(([k, v]) => [k, v.state]));

describe('caching', function () {
  let stack: TestStack;
  before(async () => {
    stack = await startTestStack({ queues: ['control', 'cpu'] });
  });
  after(async () => stack?.stop());

  it('an identical second run is all cached and takes under 10% of the first', async () => {
    const first = await stack.run(chain(1500));
    assert.equal(first.status.state, 'succeeded');
    const second = await stack.run(chain(1500));
    assert.deepEqual(states(second.status), { a: 'cached', b: 'cached', c: 'cached', side: 'cached' });
    assert.deepEqual(second.status.nodes.c!.outputs, first.status.nodes.c!.outputs, 'the cached run reuses the same artifacts');
    assert.ok(second.wallMs < first.wallMs * 0.1, `cached run ${second.wallMs} ms vs first ${first.wallMs} ms`);
  });

  it("changing one node's parameter re-runs that node and its downstream only", async () => {
    const { status } = await stack.run(chain(10, 'b-changed'));
    assert.deepEqual(states(status), { a: 'cached', b: 'succeeded', c: 'succeeded', side: 'cached' });
  });

  it('--no-cache runs everything', async () => {
    const { status } = await stack.run(chain(10, 'b-nocache'), { noCache: true });
    assert.deepEqual(states(status), { a: 'succeeded', b: 'succeeded', c: 'succeeded', side: 'succeeded' });
  });

  it('deleting a cached output from the store forces the node to run again', async () => {
    const base = await stack.run(chain(10, 'b-delete'));
    assert.equal(base.status.state, 'succeeded');
    const bUri = base.status.nodes.b!.outputs!.out![0]!;
    await stack.store.deleteArtifact(bUri);
    const { status } = await stack.run(chain(10, 'b-delete'));
    assert.equal(status.nodes.a!.state, 'cached');
    assert.equal(status.nodes.b!.state, 'succeeded', 'b ran again because its cached output is gone');
    assert.notEqual(status.nodes.b!.outputs!.out![0], bUri);
    const gone = await stack.metadata.getArtifact(bUri);
    assert.equal(gone?.state, 'deleted', 'the metadata store now knows the artifact is gone');
  });

  it("ExampleGen's input file is keyed by content: a refreshed file at the same path runs again, a touched one does not", async () => {
    const dir = await tempDir('cache-input');
    const input = path.join(dir, 'penguins.json');
    const rows = JSON.parse(await readFile(path.join(vegaDataDir(), 'penguins.json'), 'utf8')) as unknown[];
    await writeFile(input, JSON.stringify(rows));
    const repository = pathToFileURL(path.join(dir, 'models')).href;
    const first = await stack.run(createPenguins({ input, repository }));
    assert.equal(first.status.state, 'succeeded');

    const later = new Date(Date.now() + 60_000);
    await utimes(input, later, later);
    const touched = await stack.run(createPenguins({ input, repository }));
    assert.deepEqual(states(touched.status), { example_gen: 'cached', statistics_gen: 'cached', schema_gen: 'cached', example_validator: 'cached', transform: 'cached', trainer: 'cached', evaluator: 'cached', infra_validator: 'cached', pusher: 'cached' }, 'a new mtime alone is not new data');

    await writeFile(input, JSON.stringify(rows.slice(0, 300)));
    const refreshed = await stack.run(createPenguins({ input, repository }));
    assert.deepEqual(
      states(refreshed.status),
      { example_gen: 'succeeded', statistics_gen: 'succeeded', schema_gen: 'succeeded', example_validator: 'succeeded', transform: 'succeeded', trainer: 'succeeded', evaluator: 'succeeded', infra_validator: 'succeeded', pusher: 'succeeded' },
      'new content at the same path runs again',
    );
    assert.equal(refreshed.status.nodes.example_gen!.summary?.rows, 300);
  });

  it('a node with cache off always runs', async () => {
    const a = TestStep('a', { parameters: { label: 'nocache-node' }, cache: false });
    const p = pipeline({ name: 'cache-off-test', nodes: [a] });
    await stack.run(p);
    const { status } = await stack.run(p);
    assert.equal(status.nodes.a!.state, 'succeeded');
  });
});
