import { formatDuration } from '../artifacts/metadata/text-format';
import type { NodeRetry, RunProgress } from '../client/pipeline-client';
import type { NodeStatus, PipelineStatus } from '../workflows/pipeline-types';

const BAR_WIDTH = 20;
const STATE_MARK: Record<NodeStatus['state'], string> = {
  pending: '·',
  'awaiting-approval': '?',
  running: '▶',
  cached: '↺',
  succeeded: '✔',
  blocked: '⊘',
  failed: '✘',
  skipped: '–',
  cancelled: '■',
};

function bar(fraction: number | undefined): string {
  if (fraction === undefined) return ' '.repeat(BAR_WIDTH + 7);
  const filled = Math.round(fraction * BAR_WIDTH);
  return `[${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}%`;
}

function formatMs(ms: number | undefined): string {
  if (ms === undefined) return '';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** `attempt 2 of 3, retrying in 4 s; attempt 1 failed: <why>` */
export function describeRetry(retry: NodeRetry, now = Date.now()): string {
  const of = retry.maximumAttempts > 0 ? ` of ${retry.maximumAttempts}` : '';
  const wait = retry.nextAttemptAt && retry.nextAttemptAt.getTime() > now ? `, starts in ${formatMs(retry.nextAttemptAt.getTime() - now)}` : '';
  return `attempt ${retry.attempt}${of}${wait}; attempt ${retry.attempt - 1} failed: ${retry.lastError}`;
}

/** A failed node's line says what kind of failure it was; the cause itself is printed once, below the table. */
const FAILURE_NOTE: Record<NonNullable<NodeStatus['failureKind']>, (n: NodeStatus) => string> = {
  'bad-input': () => 'bad input or parameters (not retried)',
  'component-error': () => 'the component broke its contract (not retried)',
  'gave-up': (n) => `gave up after ${n.attempt} attempts`,
  'timed-out': () => 'timed out',
};

function note(n: NodeStatus, retry: NodeRetry | undefined, now: number): string {
  if (n.state === 'failed') return n.failureKind ? FAILURE_NOTE[n.failureKind](n) : '';
  // The reason is printed once, below the table.
  if (n.state === 'blocked') return 'outputs published; the nodes after it did not run';
  if (n.state === 'running' && retry) return describeRetry(retry, now);
  if (n.state === 'awaiting-approval' && n.approval) {
    const left = n.approval.requestedAt + n.approval.timeoutMs - now;
    return `waits for \`mlpipe approve\` (rejected in ${formatDuration(Math.max(left, 0))} without a decision)`;
  }
  const counters = n.progress?.counters ? Object.entries(n.progress.counters).map(([k, v]) => `${k}=${v}`).join(' ') : '';
  return [n.error ?? n.progress?.message ?? '', counters].filter(Boolean).join('  ');
}

export function renderStatusLines(status: PipelineStatus, retries: ReadonlyMap<string, NodeRetry> = new Map(), now = Date.now()): string[] {
  const width = Math.max(...Object.keys(status.nodes).map((k) => k.length), 4);
  const stateWidth = Math.max(...Object.values(status.nodes).map((n) => n.state.length), 9);
  return Object.entries(status.nodes).map(([id, n]) => {
    const running = n.state === 'running';
    const elapsed = running && n.startedAt ? now - n.startedAt : n.durationMs;
    return `${STATE_MARK[n.state]} ${id.padEnd(width)}  ${n.state.padEnd(stateWidth)} ${running ? bar(n.progress?.fraction) : ' '.repeat(BAR_WIDTH + 7)} ${formatMs(elapsed).padStart(8)}  ${note(n, retries.get(id), now)}`.trimEnd();
  });
}

/** One line per node with a summary: scalars as k=v, one level of nesting as k={a:1,b:2}. */
export function renderSummaryLines(status: PipelineStatus): string[] {
  const compact = (v: unknown): string => {
    if (v === null || typeof v !== 'object') return String(v);
    if (Array.isArray(v)) return `[${v.map(compact).join(',')}]`;
    return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}:${compact(x)}`).join(',')}}`;
  };
  return Object.entries(status.nodes)
    .filter(([, n]) => n.summary && Object.keys(n.summary).length > 0)
    .map(([id, n]) => `  ${id}: ${Object.entries(n.summary!).map(([k, v]) => `${k}=${compact(v)}`).join(' ')}`);
}

/** Redraws the node table in place on a TTY. */
export class LiveProgress {
  private drawn = 0;
  constructor(private readonly out: NodeJS.WriteStream) {}

  update({ status, retries }: RunProgress): void {
    const lines = renderStatusLines(status, retries);
    let text = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    for (const line of lines) text += `\x1b[2K${line.slice(0, (this.out.columns ?? 120) - 1)}\n`;
    this.out.write(text);
    this.drawn = lines.length;
  }
}

/** The command that decides a node's approval; with the address when nothing configured would lead `mlpipe approve` to the run's Temporal. */
export function approveCommand(workflowId: string, nodeId: string, temporalAddress?: string): string {
  return `${temporalAddress ? `MLPIPE_TEMPORAL_ADDRESS=${temporalAddress} ` : ''}mlpipe approve ${workflowId} --node ${nodeId} --by <name> --reason <text>   (reject: add --reject)`;
}

/** Without a terminal to redraw on, a line when a node starts to wait for approval, with the command that decides. */
export class ApprovalLines {
  private readonly announced = new Set<string>();
  constructor(
    private readonly workflowId: string,
    private readonly write: (line: string) => void,
    /** Where `mlpipe approve` finds the run's Temporal when nothing configured would tell it (a run's own embedded stack). */
    private readonly temporalAddress?: string,
  ) {}

  update({ status }: RunProgress): void {
    for (const [id, n] of Object.entries(status.nodes)) {
      if (n.state !== 'awaiting-approval' || !n.approval || this.announced.has(id)) continue;
      this.announced.add(id);
      this.write(
        `${id}: waits for approval (rejected in ${formatDuration(n.approval.timeoutMs)} without a decision): ` +
          approveCommand(this.workflowId, id, this.temporalAddress),
      );
    }
  }
}

/** Without a terminal to redraw on, a line each time a node starts another attempt. */
export class RetryLines {
  private readonly announced = new Map<string, number>();
  constructor(private readonly write: (line: string) => void) {}

  update({ retries }: RunProgress): void {
    for (const [id, retry] of retries) {
      if ((this.announced.get(id) ?? 1) >= retry.attempt) continue;
      this.announced.set(id, retry.attempt);
      this.write(`${id}: ${describeRetry(retry)}`);
    }
  }
}
