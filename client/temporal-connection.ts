import { ENV_VARS } from '../config/config';

/** Temporal did not answer at the configured address: an environment problem, not a crash. */
export class TemporalUnreachableError extends Error {
  override name = 'TemporalUnreachableError';
}

/** Runs a connect call, turning a transport failure into a message that names the address and the setting. */
export async function reachTemporal<T>(address: string, connect: () => Promise<T>): Promise<T> {
  try {
    return await connect();
  } catch (err) {
    const cause = (err as Error).message?.split('\n')[0] ?? String(err);
    throw new TemporalUnreachableError(
      `cannot reach Temporal at ${address} (${ENV_VARS.temporalAddress}): ${cause}; start it, or unset ${ENV_VARS.temporalAddress} to use the embedded stack`,
    );
  }
}
