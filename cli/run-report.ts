import type { NodeStatus, PipelineStatus } from '../workflows/pipeline-types';
import { renderSummaryLines } from './progress-view';

/** What a person can do about each kind of node failure, and about a gate that blocked. */
const WHAT_TO_DO: Record<NonNullable<NodeStatus['failureKind']> | 'blocked' | 'not-approved' | 'other', (n: NodeStatus, workflowId: string) => string> = {
  blocked: (n) =>
    `a gate stopped the nodes after it; its outputs (${Object.values(n.outputs ?? {}).flat().join(', ') || 'none'}) say why: fix the data or the gate's thresholds and run again`,
  'not-approved': () => 'it did not run, and nothing after it did: run the pipeline again to ask for approval again (nodes that succeeded are reused from the cache)',
  'bad-input': () => 'its parameters or input data are wrong, so it was not retried: fix them and run again',
  'component-error': () =>
    "the component's own code is at fault, not your data: its executor's stack is in the failure's details (Temporal UI); tell its author",
  'gave-up': (n) =>
    `it failed all ${n.attempt} attempts; if the cause can pass (a store or network outage), run again: nodes that succeeded are reused from the cache`,
  'timed-out': () =>
    "an attempt ran past the node's timeout, or its worker stopped sending heartbeats (crashed or overloaded): check the worker, or raise the node's `timeouts`",
  other: (_n, workflowId) => `\`mlpipe runs show ${workflowId}\` shows the run`,
};

export interface RunReport {
  pipeline: string;
  workflowId: string;
  status: PipelineStatus;
  /** The run's own failure when no node failed (cancelled, terminated, an invalid spec). */
  error?: string;
  uiLines: string[];
  /** The run's HTML reports, `node.output: path` (reportFiles). */
  reports?: string[];
  /** The file the Temporal SDK logged to during this run, if it logged anything. */
  sdkLogFile: string | null;
}

/**
 * The report `mlpipe run` prints when a run ends: the outcome, each failed node once with its cause
 * and what to do, node summaries, the artifacts, and where to look further.
 */
export function renderRunReport(r: RunReport): string[] {
  const stopped = Object.entries(r.status.nodes).filter(([, n]) => n.state === 'failed' || n.state === 'blocked');
  const lines: string[] = [''];
  if (stopped.length > 0) {
    const how = stopped.every(([, n]) => n.state === 'blocked') ? 'blocked' : r.status.state;
    lines.push(`${r.pipeline}: ${how} at ${stopped.map(([id]) => `node '${id}'`).join(', ')}`);
    for (const [id, n] of stopped) {
      lines.push(`  ${id}: ${n.error ?? 'no reason recorded'}`);
      lines.push(`    what to do: ${WHAT_TO_DO[n.state === 'blocked' ? (n.approval && !n.approval.decision?.approved ? 'not-approved' : 'blocked') : (n.failureKind ?? 'other')](n, r.workflowId)}`);
    }
  } else {
    lines.push(`${r.pipeline}: ${r.status.state}${r.error ? `: ${r.error}` : ''}`);
  }
  lines.push(...renderSummaryLines(r.status));
  if (r.reports && r.reports.length > 0) lines.push('reports (open in a browser):', ...r.reports.map((line) => `  ${line}`));
  const artifacts = Object.entries(r.status.nodes).flatMap(([id, n]) =>
    Object.entries(n.outputs ?? {}).map(([key, uris]) => `  ${id}.${key}: ${uris.join(', ')}`),
  );
  if (artifacts.length > 0) lines.push('artifacts (cached nodes point at the run that produced them):', ...artifacts);
  lines.push(...r.uiLines);
  if (r.sdkLogFile) lines.push(`Temporal SDK log of this run: ${r.sdkLogFile}`);
  return lines;
}
