import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { chromium, type Browser } from 'playwright-core';
import { builtinRegistry } from '../../activities/builtin-components';
import { connectClient, startPipeline, waitForRun, type ConnectedClient } from '../../client/pipeline-client';
import { loadConfig, resolveConfig } from '../../config/config';
import { compilePipeline } from '../../dsl/compile';
import createPenguinsPipeline from '../../examples/penguins/pipeline';
import { startTemporalDevServer, type TemporalDevServer } from '../../stack/temporal-dev-server';
import { startWorkers, type RunningWorkers } from '../../workers/worker';
import { chromiumExecutable } from '../support/test-tools';
import { tempDir } from '../support/tmp';

const PAGE_DEADLINE_MS = 45_000;
const RUN_DEADLINE_MS = 90_000;

// Worker lifecycle logs at INFO would bury the test output; the first module to install the runtime wins.
try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // Installed already.
}

describe('Temporal Web UI of the dev server shows a finished penguins run', function () {
  this.timeout(240_000);
  let temporal: TemporalDevServer | undefined;
  let workers: RunningWorkers | undefined;
  let connected: ConnectedClient | undefined;
  let browser: Browser | undefined;

  after(async () => {
    await browser?.close();
    await connected?.close();
    await workers?.shutdown();
    await temporal?.stop();
  });

  it('the workflow page names the run, its type runPipeline, Completed and each of its nine nodes', async function () {
    const executablePath = chromiumExecutable(this);
    const dir = await tempDir('ui');
    temporal = await startTemporalDevServer({ dbFile: path.join(dir, 'temporal.db'), port: 0, uiPort: 0, logFile: path.join(dir, 'temporal.log') });
    assert.ok(temporal.uiUrl, 'the dev server was started with its UI');
    const config = resolveConfig({ ...loadConfig({ env: {}, cwd: dir }), temporalAddress: temporal.address });
    const registry = builtinRegistry();
    workers = await startWorkers({ config, queues: ['control', 'cpu'], registry });
    connected = await connectClient(config);

    const spec = compilePipeline(createPenguinsPipeline({ repository: pathToFileURL(path.join(dir, 'models')).href }), registry);
    assert.equal(spec.nodes.length, 9, 'the penguins example runs nine nodes, ExampleGen to Pusher');
    const handle = await startPipeline(connected.client, spec);
    const outcome = await Promise.race([
      waitForRun(handle),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`penguins run ${handle.workflowId} did not finish within ${RUN_DEADLINE_MS} ms`)), RUN_DEADLINE_MS).unref()),
    ]);
    assert.equal(outcome.status.state, 'succeeded', outcome.error);

    browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const url = `${temporal.uiUrl}/namespaces/default/workflows/${handle.workflowId}`;
    const response = await page.goto(url, { timeout: PAGE_DEADLINE_MS });
    assert.equal(response?.status(), 200, `GET ${url}`);
    const shows = async (text: string | RegExp, what: string) => {
      try {
        await page.getByText(text).first().waitFor({ state: 'visible', timeout: PAGE_DEADLINE_MS });
      } catch (err) {
        const body = (await page.locator('body').innerText().catch(() => '')).slice(0, 3000);
        throw new Error(`${url} did not show ${what} within ${PAGE_DEADLINE_MS} ms (${(err as Error).message.split('\n')[0]})\npage text:\n${body}`);
      }
    };
    await shows(handle.workflowId, `the workflow id ${handle.workflowId}`);
    await shows('runPipeline', 'the workflow type runPipeline');
    await shows(/^\s*Completed\s*$/, 'the status Completed');
    await shows(outcome.runId, `the run id ${outcome.runId}`);
    // Each node's activities carry its id as their summary: the timeline and event history name them.
    for (const node of spec.nodes) await shows(`${node.id} (${node.component})`, `node ${node.id}`);

    const screenshot = path.join(dir, 'penguins-run.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    assert.ok(existsSync(screenshot));
  });
});
