import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import { queryStatus } from '../../client/pipeline-client';
import type { PipelineStatus } from '../../workflows/pipeline-types';

/** The run's status once `node` waits for approval; fails naming the states after `timeoutMs`. */
export async function untilAwaitingApproval(handle: WorkflowHandle, node: string, timeoutMs = 20_000): Promise<PipelineStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // The first workflow task may not have run yet.
    const status = await queryStatus(handle).catch(() => undefined);
    if (status?.nodes[node]?.state === 'awaiting-approval') return status;
    const states = status && Object.fromEntries(Object.entries(status.nodes).map(([id, n]) => [id, n.state]));
    assert.ok(Date.now() < deadline, `node '${node}' waits for approval within ${timeoutMs} ms (states: ${JSON.stringify(states)})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
