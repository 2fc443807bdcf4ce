import { z } from 'zod';
import type { ArtifactRef, PropertyValue } from '../artifacts/artifact-types';

/** Progress an executor reports; it becomes the activity's heartbeat details and the node's status. */
export const ProgressSchema = z.object({
  /** 0..1 when known. */
  fraction: z.number().min(0).max(1).optional(),
  message: z.string().optional(),
  /** Small counters shown in the UI, e.g. rows read. */
  counters: z.record(z.string(), z.number()).optional(),
});
export type Progress = z.infer<typeof ProgressSchema>;

export interface ExecutorInput {
  ref: ArtifactRef;
  /** Local directory holding the artifact's files (read-only). */
  localDir: string;
}

/** What a component executor receives. Executors do plain file I/O on local directories. */
export interface ExecutorContext<P> {
  nodeId: string;
  parameters: P;
  inputs: Record<string, ExecutorInput[]>;
  /** A fresh local staging directory per output key; everything written there is published on success. */
  outputDirs: Record<string, string>;
  /** Scratch space, removed after the run. */
  tmpDir: string;
  /**
   * Resumable state from the previous attempt's last `checkpoint` (undefined on a first attempt).
   * Long executors call `checkpoint` with small JSON state and resume from it.
   */
  resumeState: unknown;
  progress(progress: Progress): void;
  checkpoint(state: unknown): void;
  /** Aborted when the activity is cancelled; long loops check it. */
  signal: AbortSignal;
}

export interface ExecutorResult {
  /** Properties to attach to each output artifact (e.g. row counts, split names). */
  properties?: Record<string, Record<string, PropertyValue>>;
  /** A small JSON summary shown in run status (keep it under a few KB). */
  summary?: Record<string, unknown>;
}

export type Executor<P = unknown> = (ctx: ExecutorContext<P>) => Promise<ExecutorResult>;

/**
 * Error an executor throws for bad input or parameters: the activity fails without retries and the
 * message reaches the user as is, so it must name the file/row/field and what was expected.
 */
export class UserInputError extends Error {
  override name = 'UserInputError';
}
