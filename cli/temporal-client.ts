import { CliError, cliConfig } from './cli-context';
import type { ConnectedClient } from '../client/pipeline-client';
import { withRunningDevStack } from './dev-stack-state';

/**
 * Runs `fn` with a client of the configured Temporal (or a running `mlpipe dev`'s); `what` says what
 * lives there when none is configured (`schedules live in Temporal`).
 */
export async function withTemporalClient<T>(what: string, fn: (c: ConnectedClient['client']) => Promise<T>): Promise<T> {
  const config = withRunningDevStack(cliConfig());
  if (!config.temporalAddress) throw new CliError(`${what} live in Temporal: set MLPIPE_TEMPORAL_ADDRESS or start \`mlpipe dev\``);
  // Loaded when a command runs: the Temporal client takes a fifth of a second to load, which every
  // other mlpipe command (and `mlpipe run`'s start-up) would pay.
  const { connectClient } = require('../client/pipeline-client') as typeof import('../client/pipeline-client');
  const connected = await connectClient(config);
  try {
    return await fn(connected.client);
  } finally {
    await connected.close();
  }
}
