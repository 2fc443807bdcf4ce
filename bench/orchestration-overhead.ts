/**
 * Figure: orchestration overhead per node on the Temporal dev server — a node's wall time as the
 * workflow sees it (cache look-up + executor activity + publish) minus the time inside the executor
 * function. Target: median ≤ 50 ms. Baseline in the same run: a bare workflow doing the same three
 * sequential no-op activity round trips per step, i.e. the floor Temporal itself sets.
 *   npm run build && node dist/bench/orchestration-overhead.js [--nodes 10] [--runs 5]
 */
import { randomUUID } from 'node:crypto';
import { NativeConnection, Worker } from '@temporalio/worker';
import { pipeline } from '../dsl/compile';
import type { NodeHandle } from '../dsl/component';
import { TestStep } from '../test/fixtures/test-components';
import { numberArg, runBench } from './support/bench-stack';
import { fmtMs, median, percentile } from './stats';

runBench(async (stack) => {
  const nodes = numberArg('nodes', 10);
  const runs = numberArg('runs', 5);
  const chain = (tag: string) => {
    const steps: NodeHandle[] = [];
    for (let i = 0; i < nodes; i++) {
      const upstream = steps[i - 1]?.outputs.out;
      steps.push(TestStep(`n${i}`, { parameters: { label: `${tag}-${i}` }, ...(upstream ? { inputs: { upstream } } : {}) }));
    }
    return pipeline({ name: 'overhead-bench', nodes: steps });
  };
  await stack.run(chain('warmup'), { noCache: true });

  const perNode: number[] = [];
  const perNodeFromWall: number[] = [];
  for (let r = 0; r < runs; r++) {
    const { status, wallMs } = await stack.run(chain(`run${r}`), { noCache: true });
    if (status.state !== 'succeeded') throw new Error(`bench run failed: ${JSON.stringify(status)}`);
    let executorTotal = 0;
    for (const n of Object.values(status.nodes)) {
      perNode.push(n.durationMs! - n.executorMs!);
      executorTotal += n.executorMs!;
    }
    perNodeFromWall.push((wallMs - executorTotal) / nodes);
  }

  const connection = await NativeConnection.connect({ address: stack.config.temporalAddress! });
  const baselineWorker = await Worker.create({
    connection,
    taskQueue: 'mlpipe-baseline',
    workflowsPath: require.resolve('./support/baseline-workflow'),
    activities: { noop: async () => undefined },
  });
  const baselineExecWorker = await Worker.create({
    connection,
    taskQueue: 'mlpipe-baseline-exec',
    activities: { noop: async () => undefined },
  });
  const baseline: number[] = [];
  const execRunning = baselineExecWorker.run();
  await baselineWorker.runUntil(async () => {
    for (let r = 0; r < runs + 1; r++) {
      const started = Date.now();
      await stack.client.workflow.execute('threeActivities', { taskQueue: 'mlpipe-baseline', workflowId: `baseline-${randomUUID()}`, args: [nodes] });
      if (r > 0) baseline.push((Date.now() - started) / nodes);
    }
  });
  baselineExecWorker.shutdown();
  await execRunning;
  await connection.close();

  const ours = median(perNode);
  const floor = median(baseline);
  console.log(`orchestration overhead per node (${runs} runs x ${nodes}-node chain, no-op executor, cache off):`);
  console.log(`  node wall − executor time:            median ${fmtMs(ours)}, p90 ${fmtMs(percentile(perNode, 90))}  (target ≤ 50 ms median)`);
  console.log(`  (run wall − Σ executor) / nodes:       median ${fmtMs(median(perNodeFromWall))}`);
  console.log(`  baseline, bare control→executor→control activities: median ${fmtMs(floor)}`);
  console.log(`  ratio mlpipe / bare Temporal floor:    ${(ours / floor).toFixed(2)}x`);
});
