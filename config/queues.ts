import { z } from 'zod';

/*
 * The task queues, in one place for the workers that poll them, the clients that start runs on
 * them and the workflow that schedules activities on them. Pure (zod only): the workflow bundle
 * imports it.
 */
export const QUEUE_NAMES = ['control', 'cpu', 'gpu'] as const;
export const QueueNameSchema = z.enum(QUEUE_NAMES);
export type QueueName = z.infer<typeof QueueNameSchema>;

/** Temporal task queue for each mlpipe queue; workflows run on the control queue. */
export const TASK_QUEUES: Record<QueueName, string> = {
  control: 'mlpipe-control',
  cpu: 'mlpipe-cpu',
  gpu: 'mlpipe-gpu',
};
