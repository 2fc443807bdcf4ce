import type { ArtifactsByKey, ExecutionRecord, ExecutionState, RunDetail, RunSummary } from './records';
import { EXECUTION_STATES } from './records';
import { elapsedMs, formatDuration, formatTime, spanSuffix, textTable } from './text-format';

/** `2 succeeded, 1 cached`, states in lifecycle order. */
function formatCounts(counts: RunSummary['counts']): string {
  const parts = EXECUTION_STATES.filter((s) => counts[s]).map((s) => `${counts[s]} ${s}`);
  return parts.length > 0 ? parts.join(', ') : 'none yet';
}

function runDuration(run: RunSummary): string {
  const ms = elapsedMs(run.startedAt, run.finishedAt);
  return ms === null ? '-' : formatDuration(ms);
}

/** The table `mlpipe runs list` prints. */
export function formatRunsTable(runs: readonly RunSummary[]): string {
  if (runs.length === 0) return 'No runs recorded yet.';
  return textTable(
    ['WORKFLOW ID', 'RUN ID', 'PIPELINE', 'STATE', 'STARTED', 'DURATION', 'NODES'],
    runs.map((r) => [
      // The id `mlpipe run` prints and `mlpipe runs show` takes; older records may lack it.
      typeof r.properties.workflowId === 'string' ? r.properties.workflowId : '-',
      r.runId,
      r.pipeline ?? '-',
      r.state,
      formatTime(r.startedAt),
      runDuration(r),
      formatCounts(r.counts),
    ]),
  );
}

function outputLines(outputs: ArtifactsByKey): string[] {
  const lines: string[] = [];
  for (const [key, artifacts] of Object.entries(outputs).sort(([a], [b]) => a.localeCompare(b))) {
    artifacts.forEach((a, i) => {
      const label = artifacts.length > 1 ? `${key}[${i}]` : key;
      lines.push(`${label}: ${a.uri}${a.state === 'live' ? '' : ` (${a.state})`}${spanSuffix(a.properties)}`);
    });
  }
  return lines.length > 0 ? lines : ['-'];
}

function executionRows(e: ExecutionRecord): string[][] {
  const ms = elapsedMs(e.startedAt, e.finishedAt);
  const [first, ...rest] = outputLines(e.outputs);
  const execution = e.cachedFrom !== null ? `#${e.id} (from #${e.cachedFrom})` : `#${e.id}`;
  return [
    [
      e.nodeId,
      e.component,
      // A gate's execution succeeded (its outputs stand) and stopped what follows.
      e.blocked !== null ? 'blocked' : e.state,
      e.attempt === null ? '-' : String(e.attempt),
      e.worker ?? '-',
      ms === null ? '-' : formatDuration(ms),
      execution,
      first!,
    ],
    ...rest.map((line) => ['', '', '', '', '', '', '', line]),
  ];
}

const FAILED: readonly ExecutionState[] = ['failed', 'cancelled'];

/** The report `mlpipe runs show <id>` prints: the run, then one row per node execution. */
export function formatRun(detail: RunDetail): string {
  const { run, executions } = detail;
  const finished =
    run.finishedAt === null ? 'not yet' : `${formatTime(run.finishedAt)} (${runDuration(run)})`;
  const props = Object.entries(run.properties).map(([k, v]) => `${k}=${String(v)}`);
  const header = [
    `Run ${run.runId}`,
    `  pipeline  ${run.pipeline ?? '-'}`,
    `  state     ${run.state}`,
    `  started   ${formatTime(run.startedAt)}`,
    `  finished  ${finished}`,
    `  nodes     ${formatCounts(run.counts)}`,
    ...(props.length > 0 ? [`  props     ${props.join(', ')}`] : []),
  ];
  if (executions.length === 0) return [...header, '', 'No node has started yet.'].join('\n');
  const table = textTable(
    ['NODE', 'COMPONENT', 'STATE', 'ATTEMPT', 'WORKER', 'DURATION', 'EXECUTION', 'OUTPUTS'],
    executions.flatMap(executionRows),
  );
  const errors = executions
    .filter((e) => FAILED.includes(e.state) && e.error !== null)
    .map((e) => `  ${e.nodeId} (execution #${e.id}): ${e.error!.replace(/\n/g, '\n    ')}`);
  const blocked = executions.filter((e) => e.blocked !== null).map((e) => `  ${e.nodeId} (execution #${e.id}): ${e.blocked}`);
  return [
    ...header,
    '',
    table,
    ...(blocked.length > 0 ? ['', 'Blocked by a gate:', ...blocked] : []),
    ...(errors.length > 0 ? ['', 'Errors:', ...errors] : []),
  ].join('\n');
}
