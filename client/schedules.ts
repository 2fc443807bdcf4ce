import { ScheduleOverlapPolicy, type Client, type ScheduleDescription, type ScheduleSummary } from '@temporalio/client';
import type { PipelineSpec } from '../dsl/ir';
import { PIPELINE_WORKFLOW_TYPE } from '../workflows/pipeline-types';
import { pipelineStartOptions } from './pipeline-client';
import { PipelineScheduleSchema, type PipelineSchedule } from './schedule-options';



/** A Temporal Schedule that starts the pipeline workflow: scheduled retraining. */
export async function createPipelineSchedule(client: Client, spec: PipelineSpec, raw: PipelineSchedule) {
  const s = PipelineScheduleSchema.parse(raw);
  return client.schedule.create({
    scheduleId: s.scheduleId,
    spec: {
      ...(s.cron.length ? { cronExpressions: s.cron } : {}),
      ...(s.every.length ? { intervals: s.every.map((every) => ({ every: every.replace(/\s+/g, '') as `${number}${'ms' | 's' | 'm' | 'h' | 'd'}` })) } : {}),
    },
    action: {
      type: 'startWorkflow',
      workflowType: PIPELINE_WORKFLOW_TYPE,
      // Per schedule: two schedules of one pipeline on one cron would otherwise collide on the id.
      workflowId: `${spec.name}-${s.scheduleId}`,
      ...pipelineStartOptions(spec, { noCache: s.noCache }),
    },
    policies: {
      overlap: ScheduleOverlapPolicy[s.overlap.toUpperCase() as keyof typeof ScheduleOverlapPolicy],
      catchupWindow: s.catchupWindow.replace(/\s+/g, '') as `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`,
      pauseOnFailure: s.pauseOnFailure,
    },
    state: { paused: s.paused, ...(s.note ? { note: s.note } : {}) },
    // Temporal turns cron strings into calendar specs; the memo keeps what the user wrote.
    memo: { pipeline: spec.name, cron: s.cron },
  });
}

export async function listPipelineSchedules(client: Client): Promise<ScheduleSummary[]> {
  const out: ScheduleSummary[] = [];
  for await (const s of client.schedule.list()) out.push(s);
  return out;
}

/** 3600000 -> '1h', 90000 -> '1m30s': how people write intervals. */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  const units: Array<[string, number]> = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]];
  let rest = ms;
  let out = '';
  for (const [name, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${name}`;
      rest -= n * size;
    }
  }
  return out;
}

/** A readable view of a schedule description (the raw one holds SDK classes). */
export function describeScheduleText(d: ScheduleDescription): string {
  const action = d.action.type === 'startWorkflow' ? d.action : null;
  const lines = [
    `schedule ${d.scheduleId}${d.state.paused ? ' (paused)' : ''}`,
    `  workflow:        ${action?.workflowType ?? d.action.type}${action ? ` on ${action.taskQueue}` : ''}`,
    `  pipeline:        ${String(d.memo?.pipeline ?? '-')}`,
    `  cron:            ${(d.memo?.cron as string[] | undefined)?.join('; ') || '-'}`,
    `  every:           ${d.spec.intervals?.map((i) => formatDuration(Number(i.every))).join(', ') || '-'}`,
    `  overlap:         ${d.policies.overlap}`,
    `  catch-up window: ${formatDuration(d.policies.catchupWindow)}`,
    `  pause on fail:   ${d.policies.pauseOnFailure}`,
    `  actions taken:   ${d.info.numActionsTaken}`,
    `  next runs:       ${d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()).join(', ') || '-'}`,
    `  recent:          ${d.info.recentActions.slice(-3).map((a) => `${a.takenAt.toISOString()} ${a.action.workflow.workflowId}`).join('; ') || '-'}`,
  ];
  if (d.state.note) lines.push(`  note:            ${d.state.note}`);
  return lines.join('\n');
}
