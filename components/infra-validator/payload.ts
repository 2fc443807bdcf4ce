import { z } from 'zod';

/**
 * The files of InfraBlessing: `infra_blessing.json` (verdict, reason, latencies, answers compared),
 * TFX's `INFRA_BLESSED` / `INFRA_NOT_BLESSED` marker, and `config.json`: the candidate's config with
 * `model_warmup` added, the one the Pusher publishes beside the versions, with the `warmup/` files it
 * names (`warmup-files.ts`).
 */
export const INFRA_BLESSING_FILE = 'infra_blessing.json';
export const INFRA_CONFIG_FILE = 'config.json';
export const INFRA_BLESSED_MARKER = 'INFRA_BLESSED';
export const INFRA_NOT_BLESSED_MARKER = 'INFRA_NOT_BLESSED';

export const ProtocolCheckSchema = z
  .object({
    protocol: z.enum(['http', 'grpc']),
    rows: z.number().int(),
    /** Output elements compared with in-process onnxruntime. */
    elements: z.number().int(),
    mismatch: z.string().nullable(),
  })
  .strict();
export type ProtocolCheck = z.infer<typeof ProtocolCheckSchema>;

export const InfraBlessingSchema = z
  .object({
    version: z.literal(1),
    infraBlessed: z.boolean(),
    /** Why not, or what was checked. */
    reason: z.string(),
    model: z.string(),
    tolerance: z.string(),
    checks: z.array(ProtocolCheckSchema),
    /** Single-row HTTP requests, milliseconds; null when the model never answered. */
    latencyMs: z.object({ requests: z.number().int(), p50: z.number(), p99: z.number(), max: z.number() }).strict().nullable(),
    warmupRows: z.number().int(),
  })
  .strict();
export type InfraBlessing = z.infer<typeof InfraBlessingSchema>;
