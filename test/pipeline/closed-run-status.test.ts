import assert from 'node:assert/strict';
import path from 'node:path';
import { builtinRegistry } from '../../activities/builtin-components';
import { connectClient, currentStatus, startPipeline, waitForRun, type ConnectedClient } from '../../client/pipeline-client';
import { loadConfig, resolveConfig } from '../../config/config';
import { compilePipeline, pipeline } from '../../dsl/compile';
import { startTemporalDevServer, type TemporalDevServer } from '../../stack/temporal-dev-server';
import { startWorkers, type RunningWorkers } from '../../workers/worker';
import createFailing from '../fixtures/failing-pipeline';
import { WriteText } from '../fixtures/engine-components';
import { TestStep } from '../fixtures/test-components';
import { tempDir } from '../support/tmp';

/**
 * A client asking about a run that has just ended may find no worker to answer the status query: a
 * run's own embedded stack stops its workers as soon as the run ends (`mlpipe approve` confirming a
 * decision runs into it). The status then comes from the run's history.
 */
describe("a closed run's status, once no worker answers queries", function () {
  // Short: a status read by a query that no worker answers would wait out a minute and fail it.
  this.timeout(30_000);
  let temporal: TemporalDevServer | undefined;
  let workers: RunningWorkers | undefined;
  let connected: ConnectedClient | undefined;

  after(async () => {
    await connected?.close();
    await workers?.shutdown();
    await temporal?.stop();
  });

  // A query now would wait out its RPC deadline (about a minute here) for a worker that is gone.
  it('is the result of a succeeded run, and the status a failed run carries in its failure, the same as while the workers ran', async () => {
    const dir = await tempDir('closed-run-status');
    temporal = await startTemporalDevServer({ dbFile: path.join(dir, 'temporal.db'), port: 0, uiPort: 0, logFile: path.join(dir, 'temporal.log') });
    const config = resolveConfig({ ...loadConfig({ env: {}, cwd: dir }), temporalAddress: temporal.address });
    const registry = builtinRegistry();
    for (const component of [WriteText, TestStep]) registry.register(component.spec);
    workers = await startWorkers({ config, queues: ['control', 'cpu'], registry });
    connected = await connectClient(config);

    const succeeded = await startPipeline(connected.client, compilePipeline(pipeline({ name: 'closed-ok', nodes: [WriteText('only', { parameters: { text: 'done' } })] }), registry));
    const failed = await startPipeline(connected.client, compilePipeline(createFailing({ label: 'closed-run-status' }), registry));
    const whileRunning = [(await waitForRun(succeeded)).status, (await waitForRun(failed)).status];
    assert.deepEqual(whileRunning.map((s) => s.state), ['succeeded', 'failed']);

    await workers.shutdown();
    workers = undefined;
    const fromHistory = [await currentStatus(succeeded), await currentStatus(failed)];
    assert.deepEqual(fromHistory, whileRunning);
    assert.equal(fromHistory[1]!.nodes.train!.error, 'training data has no rows with a label');
    assert.equal(fromHistory[1]!.nodes.push!.state, 'skipped');
  });
});
