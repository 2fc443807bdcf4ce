import type { QueueName } from '../../config/config';
import { startTestStack, type TestStack } from '../../test/pipeline/harness';
import { stopTestServers } from '../../test/support/servers';
import { removeTempDirs } from '../../test/support/tmp';

/**
 * Runs a benchmark against a fresh engine stack (real dev server, in-process workers for `queues`), then
 * tears it all down.
 */
export function runBench(fn: (stack: TestStack) => Promise<void>, queues: QueueName[] = ['control', 'cpu']): void {
  (async () => {
    const stack = await startTestStack({ queues });
    try {
      await fn(stack);
    } finally {
      await stack.stop();
      await stopTestServers();
      await removeTempDirs();
    }
  })().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

export function numberArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
