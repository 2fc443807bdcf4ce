import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { MlpipeConfig } from '../config/config';
import { processAlive } from '../stack/process-alive';

/** Written by `mlpipe dev` so that `mlpipe run` in another terminal uses the running stack. */
export const DevStateSchema = z.object({
  pid: z.number().int(),
  temporalAddress: z.string(),
  uiUrl: z.string().nullable(),
  artifactRoot: z.string(),
  s3: z.object({ endpoint: z.string(), accessKey: z.string(), secretKey: z.string(), region: z.string() }).optional(),
});
export type DevState = z.infer<typeof DevStateSchema>;

export const DEFAULT_TEMPORAL_PORT = 7233;
export const DEFAULT_UI_PORT = 8233;
export const DEFAULT_MINIO_PORT = 9000;

export const devStatePath = (home: string) => path.join(home, 'dev-stack.json');


/** The stack a running `mlpipe dev` announced in this MLPIPE_HOME, if its process is alive. */
export function runningDevStack(home: string): DevState | null {
  const file = devStatePath(home);
  if (!existsSync(file)) return null;
  try {
    const state = DevStateSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    return processAlive(state.pid) ? state : null;
  } catch {
    return null;
  }
}

/** Fills in the Temporal address (and store) of a running `mlpipe dev` when none is configured. */
export function withRunningDevStack(config: MlpipeConfig): MlpipeConfig {
  if (config.temporalAddress) return config;
  const dev = runningDevStack(config.home);
  if (!dev) return config;
  return {
    ...config,
    temporalAddress: dev.temporalAddress,
    artifactRoot: config.artifactRoot ?? dev.artifactRoot,
    ...(dev.s3 && !config.s3 ? { s3: dev.s3 } : {}),
  };
}
