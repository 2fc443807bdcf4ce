import { proxyActivities } from '@temporalio/workflow';

/**
 * Baseline for the overhead figure: the bare cost of a node's three activity round trips with the
 * same queue layout (two on the workflow's own queue, the middle one on another queue).
 */
const control = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '1 minute', taskQueue: 'mlpipe-baseline' });
const executor = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '1 minute', taskQueue: 'mlpipe-baseline-exec' });

export async function threeActivities(times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    await control.noop();
    await executor.noop();
    await control.noop();
  }
}
