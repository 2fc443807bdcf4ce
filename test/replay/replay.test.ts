import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { workflowCodeOption } from '../../workers/workflow-bundle';
import { HISTORY_DIR } from './record-history';

interface HistoryEvent {
  eventId: string;
  eventTime: string;
  eventType: string;
  activityTaskScheduledEventAttributes?: { activityId?: string; activityType?: { name?: string } };
  markerRecordedEventAttributes?: { markerName?: string; details?: Record<string, { payloads?: Array<{ data: string }> }> };
  workflowExecutionFailedEventAttributes?: { failure?: { applicationFailureInfo?: { details?: { payloads?: Array<{ data: string }> } } } };
  [attributes: string]: unknown;
}

async function loadHistory(name: string): Promise<HistoryEvent[]> {
  return (JSON.parse(await readFile(path.join(HISTORY_DIR, name), 'utf8')) as { events: HistoryEvent[] }).events;
}

const decode = (payload: { data: string }): unknown => JSON.parse(Buffer.from(payload.data, 'base64').toString('utf8'));

/** What happened to a node's executor activity: 'SCHEDULED', 'COMPLETED', 'CANCEL_REQUESTED'..., where in the history and when. */
interface ExecutorEvent {
  what: string;
  index: number;
  time: number;
}

/** The executor events of each node, in history order, keyed by node id (the executor's activity id). */
function executorTimelines(events: HistoryEvent[]): Map<string, ExecutorEvent[]> {
  const nodeOfScheduledEvent = new Map<string, string>();
  const timelines = new Map<string, ExecutorEvent[]>();
  events.forEach((e, index) => {
    const at = { what: e.eventType.replace('EVENT_TYPE_ACTIVITY_TASK_', ''), index, time: Date.parse(e.eventTime) };
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name === 'executeComponent') {
      nodeOfScheduledEvent.set(e.eventId, scheduled.activityId!);
      timelines.set(scheduled.activityId!, [at]);
      return;
    }
    // Every later event of an activity names the event that scheduled it.
    const attributes = Object.entries(e).find(([key]) => key.startsWith('activityTask') && key.endsWith('EventAttributes'))?.[1] as { scheduledEventId?: string } | undefined;
    const node = attributes?.scheduledEventId && nodeOfScheduledEvent.get(attributes.scheduledEventId);
    if (node) timelines.get(node)!.push(at);
  });
  return timelines;
}

function eventOf(timelines: Map<string, ExecutorEvent[]>, node: string, what: string): ExecutorEvent {
  const found = timelines.get(node)?.find((e) => e.what === what);
  assert.ok(found, `node '${node}' has an executor ${what} event (it has: ${timelines.get(node)?.map((e) => e.what).join(', ') ?? 'none'})`);
  return found;
}

/** The local activities the history records, by type, with their positions. */
function localActivities(events: HistoryEvent[]): Array<{ type: string; index: number }> {
  return events.flatMap((e, index) => {
    const marker = e.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_local_activity') return [];
    return [{ type: (decode(marker.details!.data!.payloads![0]!) as { activity_type: string }).activity_type, index }];
  });
}

describe('workflow replay against recorded histories', () => {
  it('every recorded history replays cleanly against the current workflow code', async () => {
    const files = (await readdir(HISTORY_DIR)).filter((f) => f.endsWith('.json')).sort();
    for (const fixture of ['penguins-run', 'fan-out-run', 'cancelled-run', 'failing-branch-run', 'approval-run', 'rejected-approval-run']) {
      assert.ok(files.includes(`${fixture}.json`), `the ${fixture} history fixture is present`);
    }
    const histories = await Promise.all(
      files.map(async (f) => ({ workflowId: f, history: historyFromJSON(JSON.parse(await readFile(path.join(HISTORY_DIR, f), 'utf8'))) })),
    );
    const failures: string[] = [];
    for await (const result of Worker.runReplayHistories(workflowCodeOption(), histories)) {
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    assert.deepEqual(failures, []);
  });

  it('the newest recording is of the current code: each executor activity carries its node id', async () => {
    const json = JSON.parse(await readFile(path.join(HISTORY_DIR, 'penguins-run.json'), 'utf8')) as {
      events: Array<{ activityTaskScheduledEventAttributes?: { activityId?: string; activityType?: { name?: string } } }>;
    };
    const executorIds = json.events
      .map((e) => e.activityTaskScheduledEventAttributes)
      .filter((a) => a?.activityType?.name === 'executeComponent')
      .map((a) => a!.activityId);
    assert.deepEqual(executorIds, ['example_gen', 'statistics_gen']);
  });

  it('the gated run recorded the gate path: its marker, and no executor scheduled after the gate', async () => {
    const history = JSON.parse(await readFile(path.join(HISTORY_DIR, 'gated-run.json'), 'utf8')) as {
      events: Array<{
        activityTaskScheduledEventAttributes?: { activityId?: string; activityType?: { name?: string } };
        markerRecordedEventAttributes?: { markerName?: string; details?: Record<string, { payloads?: Array<{ data: string }> }> };
      }>;
    };
    const patches = history.events
      .map((e) => e.markerRecordedEventAttributes)
      .filter((m) => m?.markerName === 'core_patch')
      .map((m) => (JSON.parse(Buffer.from(m!.details!['patch-data']!.payloads![0]!.data, 'base64').toString('utf8')) as { id: string }).id);
    assert.ok(patches.includes('node-gate'), `the patch marker of the gate is recorded (markers: ${patches.join(', ')})`);
    const executors = history.events.map((e) => e.activityTaskScheduledEventAttributes).filter((a) => a?.activityType?.name === 'executeComponent');
    assert.deepEqual(executors.map((a) => a!.activityId), ['data', 'validate']);
  });

  it('detects a workflow change that alters the command sequence (so the check above can fail)', async () => {
    const json = JSON.parse(await readFile(path.join(HISTORY_DIR, 'penguins-run.json'), 'utf8')) as {
      events: Array<{ activityTaskScheduledEventAttributes?: { activityType?: { name?: string } } }>;
    };
    const scheduled = json.events.find((e) => e.activityTaskScheduledEventAttributes);
    assert.ok(scheduled, 'the history schedules activities');
    scheduled.activityTaskScheduledEventAttributes!.activityType!.name = 'someOtherActivity';
    await assert.rejects(
      Worker.runReplayHistory(workflowCodeOption(), historyFromJSON(json)),
      /[Nn]ondeterminism|DeterminismViolation|doesn't match|does not match/,
    );
  });

  it('the fan-out run recorded three branches running at once, and the join after all of them', async () => {
    const events = await loadHistory('fan-out-run.json');
    const executors = executorTimelines(events);
    const branches = ['branch_a', 'branch_b', 'branch_c'];
    assert.deepEqual([...executors.keys()].sort(), ['join', 'root', ...branches].sort());
    const completed = branches.map((b) => eventOf(executors, b, 'COMPLETED'));
    const firstCompletion = Math.min(...completed.map((c) => c.index));
    for (const b of branches) {
      assert.ok(eventOf(executors, b, 'SCHEDULED').index > eventOf(executors, 'root', 'COMPLETED').index, `${b} is scheduled after root completes`);
      assert.ok(eventOf(executors, b, 'SCHEDULED').index < firstCompletion, `${b} is scheduled before any branch completes`);
    }
    // A started event is written when the attempt ends, but carries the time the worker picked it up.
    const firstCompletionTime = Math.min(...completed.map((c) => c.time));
    for (const b of branches) {
      const started = eventOf(executors, b, 'STARTED').time;
      assert.ok(started < firstCompletionTime, `${b} started ${started - firstCompletionTime} ms before the first branch completed: the worker ran the branches at once`);
    }
    assert.ok(eventOf(executors, 'join', 'SCHEDULED').index > Math.max(...completed.map((c) => c.index)), 'the join is scheduled after every branch completes');
    assert.equal(events.at(-1)!.eventType, 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
  });

  it('the cancelled run recorded the client cancel reaching the running executor, the outcome recorded and the run ended cancelled', async () => {
    const events = await loadHistory('cancelled-run.json');
    const executors = executorTimelines(events);
    assert.deepEqual([...executors.keys()], ['root', 'long'], "the node after 'long' never ran");
    const cancelRequested = events.findIndex((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED');
    assert.ok(cancelRequested > eventOf(executors, 'long', 'SCHEDULED').index, "the client cancelled while 'long' was running");
    const activityCancelRequested = eventOf(executors, 'long', 'CANCEL_REQUESTED');
    assert.ok(activityCancelRequested.index > cancelRequested, "the run passed the cancellation on to 'long'");
    // The run waits for the executor to acknowledge, so nothing is left running after it ends.
    const acknowledged = eventOf(executors, 'long', 'CANCELED');
    const after = localActivities(events).filter((la) => la.index > acknowledged.index).map((la) => la.type);
    assert.deepEqual(after, ['abandonNode', 'finishRun'], "after the executor stopped, the node's and the run's outcomes were recorded");
    assert.equal(events.at(-1)!.eventType, 'EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED');
  });

  it('the failing-branch run recorded the sibling branch running on after the failure, and what followed the failure skipped', async () => {
    const events = await loadHistory('failing-branch-run.json');
    const executors = executorTimelines(events);
    const failed = eventOf(executors, 'bad', 'FAILED');
    assert.ok(eventOf(executors, 'good', 'SCHEDULED').index < failed.index, 'the branches ran side by side');
    assert.ok(eventOf(executors, 'good', 'COMPLETED').index > failed.index, "the sibling branch's executor completed after the failure");
    assert.ok(eventOf(executors, 'after_good', 'COMPLETED').index > failed.index, 'what follows the sibling branch ran too');
    assert.deepEqual([...executors.keys()].sort(), ['after_good', 'bad', 'good', 'root'], 'nothing after the failed branch ran');
    const end = events.at(-1)!;
    assert.equal(end.eventType, 'EVENT_TYPE_WORKFLOW_EXECUTION_FAILED');
    const status = decode(end.workflowExecutionFailedEventAttributes!.failure!.applicationFailureInfo!.details!.payloads![0]!) as {
      nodes: Record<string, { state: string; failureKind?: string }>;
    };
    assert.deepEqual(Object.fromEntries(Object.entries(status.nodes).map(([id, n]) => [id, n.state])), {
      root: 'succeeded',
      bad: 'failed',
      good: 'succeeded',
      after_bad: 'skipped',
      after_good: 'succeeded',
      join: 'skipped',
    });
    assert.equal(status.nodes.bad!.failureKind, 'bad-input', 'the failure was not retried');
  });

  it('the approval run recorded the wait: its patch marker, the approve signal ending the timer, and the gated executor scheduled only after it', async () => {
    const events = await loadHistory('approval-run.json');
    const patches = events
      .map((e) => e.markerRecordedEventAttributes)
      .filter((m) => m?.markerName === 'core_patch')
      .map((m) => (decode(m!.details!['patch-data']!.payloads![0]!) as { id: string }).id);
    assert.ok(patches.includes('approval-gate'), `the patch marker of the approval gate is recorded (markers: ${patches.join(', ')})`);
    const at = (type: string) => events.findIndex((e) => e.eventType === `EVENT_TYPE_${type}`);
    const signalled = at('WORKFLOW_EXECUTION_SIGNALED');
    assert.ok(at('TIMER_STARTED') < signalled && signalled < at('TIMER_CANCELED'), 'the node waited on its timeout timer until the signal came');
    const executors = executorTimelines(events);
    assert.ok(eventOf(executors, 'push', 'SCHEDULED').index > signalled, "the gated node's executor was scheduled after the approval");
    assert.ok(eventOf(executors, 'data', 'COMPLETED').index < signalled, 'the node before it ran before the wait');
    const records = localActivities(events).filter((la) => la.type === 'recordApproval').map((la) => la.index);
    assert.equal(records.length, 2);
    assert.ok(records[0]! < signalled && records[1]! > signalled, 'the wait and the decision were both recorded in the metadata store');
    assert.equal(events.at(-1)!.eventType, 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
  });

  it('the rejected approval run never scheduled the gated executor: the execution abandoned, the node blocked, what follows skipped', async () => {
    const events = await loadHistory('rejected-approval-run.json');
    assert.deepEqual([...executorTimelines(events).keys()], ['data']);
    const signalled = events.findIndex((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED');
    assert.deepEqual(localActivities(events).filter((la) => la.index > signalled).map((la) => la.type), ['abandonNode', 'recordApproval', 'finishRun']);
    const end = events.at(-1)!;
    assert.equal(end.eventType, 'EVENT_TYPE_WORKFLOW_EXECUTION_FAILED');
    const status = decode(end.workflowExecutionFailedEventAttributes!.failure!.applicationFailureInfo!.details!.payloads![0]!) as {
      nodes: Record<string, { state: string; error?: string }>;
    };
    assert.deepEqual(
      Object.fromEntries(Object.entries(status.nodes).map(([id, n]) => [id, [n.state, n.error]])),
      { data: ['succeeded', undefined], push: ['blocked', 'rejected by bob: eval set is stale'], serve: ['skipped', "blocked by 'push'"] },
    );
  });

  it('detects a decision that differs from the recorded one (so the approval replay pins what the signal decided)', async () => {
    const json = JSON.parse(await readFile(path.join(HISTORY_DIR, 'approval-run.json'), 'utf8')) as {
      events: Array<{ workflowExecutionSignaledEventAttributes?: { input: { payloads: Array<{ data: string }> } } }>;
    };
    const payload = json.events.find((e) => e.workflowExecutionSignaledEventAttributes)!.workflowExecutionSignaledEventAttributes!.input.payloads[0]!;
    payload.data = Buffer.from(JSON.stringify({ ...(decode(payload) as object), approved: false })).toString('base64');
    await assert.rejects(Worker.runReplayHistory(workflowCodeOption(), historyFromJSON(json)), /[Nn]ondeterminism|does not match|doesn't match/);
  });

  it('detects parallel branches whose activities trade places (so the fan-out replay pins each branch)', async () => {
    const json = JSON.parse(await readFile(path.join(HISTORY_DIR, 'fan-out-run.json'), 'utf8')) as { events: HistoryEvent[] };
    const branches = json.events
      .map((e) => e.activityTaskScheduledEventAttributes)
      .filter((a) => a?.activityType?.name === 'executeComponent' && a.activityId?.startsWith('branch_'));
    assert.equal(branches.length, 3);
    [branches[0]!.activityId, branches[1]!.activityId] = [branches[1]!.activityId, branches[0]!.activityId];
    await assert.rejects(Worker.runReplayHistory(workflowCodeOption(), historyFromJSON(json)), /[Nn]ondeterminism|does not match/);
  });
});
