import type { RunDetail } from '../artifacts/metadata/metadata-store';
import { formatDuration, formatTime } from '../artifacts/metadata/text-format';
import { APPROVAL_PROPERTY_PATTERN, NodeApprovalSchema, type NodeApproval } from '../workflows/pipeline-types';

/** A node's approval as the run recorded it, or why it cannot be read. */
export type RecordedApproval = NodeApproval | { unreadable: string };

/** The approvals a run recorded in the metadata store, by node id. */
export function runApprovals(detail: RunDetail): Record<string, RecordedApproval> {
  const approvals: Record<string, RecordedApproval> = {};
  for (const [key, value] of Object.entries(detail.run.properties)) {
    const node = APPROVAL_PROPERTY_PATTERN.exec(key)?.[1];
    if (node === undefined) continue;
    let json: unknown;
    try {
      json = JSON.parse(String(value));
    } catch {
      json = undefined;
    }
    const parsed = NodeApprovalSchema.safeParse(json);
    approvals[node] = parsed.success ? parsed.data : { unreadable: `run property '${key}' is not an approval record: ${String(value).slice(0, 200)}` };
  }
  return approvals;
}

/** The run without its approval properties, which `formatApprovalLines` tells in words. */
export function withoutApprovalProperties(detail: RunDetail): RunDetail {
  const properties = Object.fromEntries(Object.entries(detail.run.properties).filter(([key]) => !APPROVAL_PROPERTY_PATTERN.test(key)));
  return { ...detail, run: { ...detail.run, properties } };
}

const isoMs = (ms: number) => formatTime(new Date(ms).toISOString());

function describeApproval(node: string, a: RecordedApproval, detail: RunDetail): string {
  if ('unreadable' in a) return a.unreadable;
  const d = a.decision;
  if (d) return `${d.approved ? 'approved' : 'rejected'} by ${d.by} at ${isoMs(d.at)}: ${d.reason}`;
  if (a.timedOutAt !== undefined) return `no decision within ${formatDuration(a.timeoutMs)}: rejected at ${isoMs(a.timedOutAt)}`;
  const since = `waits for approval since ${isoMs(a.requestedAt)} (rejected at ${isoMs(a.requestedAt + a.timeoutMs)} without a decision)`;
  if (detail.run.state !== 'running') return `${since}; the run ended ${detail.run.state} before a decision`;
  const workflowId = typeof detail.run.properties.workflowId === 'string' ? detail.run.properties.workflowId : detail.run.runId;
  return `${since}\n    approve: mlpipe approve ${workflowId} --node ${node} --by <name> --reason <text>   (reject: add --reject)`;
}

/** The `Approvals:` section of `mlpipe runs show`; nothing when no node of the run asked for one. */
export function formatApprovalLines(detail: RunDetail): string[] {
  const approvals = Object.entries(runApprovals(detail));
  if (approvals.length === 0) return [];
  return ['', 'Approvals:', ...approvals.map(([node, a]) => `  ${node}: ${describeApproval(node, a, detail)}`)];
}
