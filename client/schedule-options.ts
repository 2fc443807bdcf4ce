import { z } from 'zod';

/*
 * What a pipeline schedule is made of, apart from the Temporal client that creates it: the CLI
 * declares its flags from these without loading the client (a fifth of a second) for every command.
 */
export const OVERLAP_POLICIES = ['skip', 'buffer_one', 'buffer_all', 'cancel_other', 'terminate_other', 'allow_all'] as const;

const durationPattern = /^\d+(\.\d+)?\s*(ms|s|m|h|d)$/;
export const PipelineScheduleSchema = z
  .object({
    scheduleId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$/, 'letters, digits, _ . - (start with a letter or digit)'),
    cron: z.array(z.string().min(1)).default([]),
    every: z.array(z.string().regex(durationPattern, "expected a duration such as '30s', '15m', '1h', '1d'")).default([]),
    overlap: z.enum(OVERLAP_POLICIES).default('skip'),
    catchupWindow: z.string().regex(durationPattern, "expected a duration such as '10m', '1h'").default('1m'),
    pauseOnFailure: z.boolean().default(false),
    noCache: z.boolean().default(false),
    paused: z.boolean().default(false),
    note: z.string().optional(),
  })
  .refine((s) => s.cron.length + s.every.length > 0, { message: 'give at least one --cron expression or --every interval', path: ['cron'] });
export type PipelineSchedule = z.input<typeof PipelineScheduleSchema>;
