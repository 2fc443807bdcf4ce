import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { workflowCodeOption } from '../../workers/workflow-bundle';
import { HISTORY_DIR } from './record-history';

describe('workflow replay against recorded histories', () => {
  it('every recorded history replays cleanly against the current workflow code', async () => {
    const files = (await readdir(HISTORY_DIR)).filter((f) => f.endsWith('.json')).sort();
    assert.ok(files.includes('penguins-run.json'), 'the penguins run history fixture is present');
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
});
