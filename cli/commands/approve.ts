import type { Command } from 'commander';
import type { WorkflowHandle } from '@temporalio/client';
import { z } from 'zod';
import type { NodeStatus, PipelineStatus } from '../../workflows/pipeline-types';
import { CliError, EXIT_FAILED, parseFlags } from '../cli-context';
import { withTemporalClient } from '../temporal-client';

const ApproveFlagsSchema = z.object({
  node: z.string().min(1).optional(),
  reject: z.boolean().default(false),
  by: z.string({ error: 'required: who decides' }).trim().min(1, 'required: who decides'),
  reason: z.string({ error: 'required: why' }).trim().min(1, 'required: why'),
});

/** How long the command waits for the run to show the decision it took. */
const CONFIRM_MS = 15_000;

const client = () => require('../../client/pipeline-client') as typeof import('../../client/pipeline-client');

/** The run's status, or why there is nothing to approve in it. */
async function waitingRun(handle: WorkflowHandle, workflowId: string): Promise<PipelineStatus> {
  const { WorkflowNotFoundError } = require('@temporalio/client') as typeof import('@temporalio/client');
  let state: string;
  try {
    state = (await handle.describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new CliError(`no run '${workflowId}' in Temporal (\`mlpipe runs list\` shows the workflow ids)`);
    throw err;
  }
  if (state !== 'RUNNING') throw new CliError(`run '${workflowId}' is ${state.toLowerCase()}: nothing in it waits for approval`);
  return client().queryStatus(handle);
}

/** Which node the decision is for: the one named, or the only one waiting. */
function targetNode(status: PipelineStatus, workflowId: string, named: string | undefined): string {
  const waiting = client().nodesAwaitingApproval(status);
  if (waiting.length === 0) {
    const states = Object.entries(status.nodes).map(([id, n]) => `${id} ${n.state}`).join(', ');
    throw new CliError(`run '${workflowId}' is not waiting for approval (nodes: ${states})`);
  }
  if (named !== undefined && !waiting.includes(named)) {
    const what = status.nodes[named] ? `is ${status.nodes[named].state}` : 'is not in the pipeline';
    throw new CliError(`node '${named}' of run '${workflowId}' ${what}; waiting for approval: ${waiting.join(', ')}`);
  }
  if (named === undefined && waiting.length > 1) throw new CliError(`several nodes of run '${workflowId}' wait for approval (${waiting.join(', ')}): name one with --node`);
  return named ?? waiting[0]!;
}

/** The node's status once the run has taken a decision on it (or stopped waiting), or null at the deadline. */
async function decided(handle: WorkflowHandle, node: string): Promise<NodeStatus | null> {
  const deadline = Date.now() + CONFIRM_MS;
  while (Date.now() < deadline) {
    // The run may end as soon as it takes the decision, and its workers with it (a run's own embedded stack).
    const n = (await client().currentStatus(handle))?.nodes[node];
    if (n && n.state !== 'awaiting-approval') return n;
    await new Promise((r) => setTimeout(r, 200));
  }
  return null;
}

export function registerApproveCommand(program: Command): void {
  program
    .command('approve')
    .description('approve (or reject) a node of a running pipeline that waits for approval, e.g. the Pusher')
    .argument('<workflow-id>', 'the run, as `mlpipe run` printed it')
    .option('--node <id>', 'the node to decide on (needed only when several wait)')
    .option('--reject', 'reject: the node does not run and the run fails')
    .option('--by <name>', 'who decides (recorded with the run)')
    .option('--reason <text>', 'why (recorded with the run)')
    .action(async (workflowId: string, raw: unknown) => {
      const flags = parseFlags(ApproveFlagsSchema, raw);
      await withTemporalClient('runs', async (temporal) => {
        const handle = temporal.workflow.getHandle(workflowId);
        const node = targetNode(await waitingRun(handle, workflowId), workflowId, flags.node);
        const approved = !flags.reject;
        await client().sendApproval(handle, { node, approved, by: flags.by, reason: flags.reason });
        const after = await decided(handle, node);
        if (after === null) {
          process.stdout.write(`sent to node '${node}' of run '${workflowId}'; the run has not taken it within ${CONFIRM_MS / 1000} s (is a control worker running?)\n`);
          return;
        }
        const decision = after.approval?.decision;
        if (!decision || decision.by !== flags.by || decision.reason !== flags.reason || decision.approved !== approved) {
          throw new CliError(`node '${node}' of run '${workflowId}' did not take this decision: it is ${after.state}${after.error ? ` (${after.error})` : ''}`, EXIT_FAILED);
        }
        const outcome = approved ? 'it runs now' : 'it does not run, and the run fails';
        process.stdout.write(`node '${node}' of run '${workflowId}' ${approved ? 'approved' : 'rejected'} by ${decision.by}: ${decision.reason}; ${outcome}\n`);
      });
    });
}
