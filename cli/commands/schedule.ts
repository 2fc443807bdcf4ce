import type { Command } from 'commander';
import { z } from 'zod';
import type { ConnectedClient } from '../../client/pipeline-client';
import { OVERLAP_POLICIES, PipelineScheduleSchema } from '../../client/schedule-options';
import { CliError, collect, parseFlags } from '../cli-context';
import { withTemporalClient } from '../temporal-client';
import { compilePipelineModule, parseParams } from '../pipeline-module';

// Loaded when a command runs: the Temporal client takes a fifth of a second to load, which every
// other mlpipe command (and `mlpipe run`'s start-up) would pay.
const schedules = () => require('../../client/schedules') as typeof import('../../client/schedules');

const withClient = <T>(fn: (c: ConnectedClient['client']) => Promise<T>) => withTemporalClient('schedules', fn);

const CreateFlagsSchema = z.object({
  cron: z.array(z.string()).default([]),
  every: z.array(z.string()).default([]),
  overlap: z.enum(OVERLAP_POLICIES).default('skip'),
  catchupWindow: z.string().default('1m'),
  pauseOnFailure: z.boolean().default(false),
  cache: z.boolean().default(true),
  paused: z.boolean().default(false),
  note: z.string().optional(),
  param: z.array(z.string()).default([]),
  components: z.array(z.string()).default([]),
});

export function registerScheduleCommand(program: Command): void {
  const schedule = program.command('schedule').description('run pipelines on Temporal Schedules (e.g. scheduled retraining)');
  schedule
    .command('create')
    .description('create a schedule that runs a pipeline on cron expressions and/or intervals')
    .argument('<schedule-id>')
    .argument('<pipeline-module>')
    .option('--cron <expr>', "cron expression, e.g. '0 3 * * *' (repeatable)", collect, [])
    .option('--every <duration>', "interval, e.g. '6h' (repeatable)", collect, [])
    .option('--overlap <policy>', `when a run is still going: ${OVERLAP_POLICIES.join(', ')}`, 'skip')
    .option('--catchup-window <duration>', 'how late a missed run may still start after an outage', '1m')
    .option('--pause-on-failure', 'pause the schedule when a run fails')
    .option('--paused', 'create it paused')
    .option('--note <text>', 'a note shown with the schedule')
    .option('--no-cache', 'scheduled runs ignore the cache')
    .option('--param <key=value>', 'pipeline parameter (repeatable)', collect, [])
    .option('--components <module>', 'module exporting custom components (repeatable)', collect, [])
    .action(async (scheduleId: string, modulePath: string, raw: unknown) => {
      const flags = parseFlags(CreateFlagsSchema, raw);
      const { spec } = compilePipelineModule(modulePath, parseParams(flags.param), flags.components);
      const parsed = parseFlags(
        PipelineScheduleSchema,
        { scheduleId, cron: flags.cron, every: flags.every, overlap: flags.overlap, catchupWindow: flags.catchupWindow, pauseOnFailure: flags.pauseOnFailure, noCache: !flags.cache, paused: flags.paused, note: flags.note },
        { scheduleId: '<schedule-id>' },
      );
      await withClient(async (client) => {
        const handle = await schedules().createPipelineSchedule(client, spec, parsed).catch((err: Error) => {
          throw new CliError(`schedule ${scheduleId}: ${err.message}`);
        });
        process.stdout.write(`${schedules().describeScheduleText(await handle.describe())}\n`);
      });
    });
  schedule
    .command('list')
    .description('list schedules')
    .option('--json', 'print JSON')
    .action(async (raw: unknown) => {
      const flags = parseFlags(z.object({ json: z.boolean().default(false) }), raw);
      await withClient(async (client) => {
        const list = await schedules().listPipelineSchedules(client);
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(list.map((s) => ({ scheduleId: s.scheduleId, paused: s.state.paused, workflowType: s.action?.type === 'startWorkflow' ? s.action.workflowType : null, nextActionTimes: s.info?.nextActionTimes ?? [] })), null, 2)}\n`);
          return;
        }
        if (list.length === 0) process.stdout.write('no schedules\n');
        for (const s of list) {
          const next = s.info?.nextActionTimes?.[0]?.toISOString() ?? '-';
          process.stdout.write(`${s.scheduleId.padEnd(30)} ${s.state.paused ? 'paused ' : 'active '} next ${next}\n`);
        }
      });
    });
  const simple = (name: string, description: string, act: (h: ReturnType<ConnectedClient['client']['schedule']['getHandle']>, note?: string) => Promise<string>) =>
    schedule
      .command(name)
      .description(description)
      .argument('<schedule-id>')
      .option('--note <text>', 'a note recorded with the change')
      .action(async (id: string, raw: unknown) => {
        const flags = parseFlags(z.object({ note: z.string().optional() }), raw);
        await withClient(async (client) => {
          const handle = client.schedule.getHandle(id);
          try {
            process.stdout.write(`${await act(handle, flags.note)}\n`);
          } catch (err) {
            throw new CliError(`schedule ${id}: ${(err as Error).message}`);
          }
        });
      });
  simple('describe', 'show a schedule: spec, policies, next and recent runs', async (h) => schedules().describeScheduleText(await h.describe()));
  simple('pause', 'pause a schedule', async (h, note) => (await h.pause(note), `paused ${h.scheduleId}`));
  simple('unpause', 'resume a paused schedule', async (h, note) => (await h.unpause(note), `unpaused ${h.scheduleId}`));
  simple('trigger', 'start a run now (respects the overlap policy)', async (h) => (await h.trigger(), `triggered ${h.scheduleId}`));
  simple('delete', 'delete a schedule (runs already started go on)', async (h) => (await h.delete(), `deleted ${h.scheduleId}`));
}
