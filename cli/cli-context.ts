import type { z } from 'zod';
import { ComponentRegistryError } from '../activities/component-registry';
import { TemporalUnreachableError } from '../client/temporal-connection';
import { ConfigError, loadConfig, type MlpipeConfig } from '../config/config';
import { PipelineCompileError } from '../dsl/compile';
import { PipelineModuleError } from './pipeline-module';

/** Exit codes: 1 the run or operation did not succeed, 2 the user's input was wrong. */
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = EXIT_USAGE,
  ) {
    super(message);
  }
}

/** Temporal's runtime logs at INFO and handles SIGINT itself; the CLI wants quiet logs and its own shutdown order. */
export function installQuietRuntime(): void {
  // Loaded here, not at the top: the worker runtime takes ~250 ms to load and most commands never need it.
  const { DefaultLogger, Runtime } = require('@temporalio/worker') as typeof import('@temporalio/worker');
  const logger = new DefaultLogger('WARN', (entry) => {
    // Executor-only workers (cpu, gpu) poll no workflows by design; the SDK warns about it anyway.
    if (entry.message.startsWith('No workflows registered')) return;
    const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
    process.stderr.write(`${time} [${entry.level}] ${entry.message}${entry.meta ? ` ${JSON.stringify(entry.meta)}` : ''}\n`);
  });
  Runtime.install({ logger, shutdownSignals: [] });
}

export function cliConfig(overrides: Record<string, unknown> = {}): MlpipeConfig {
  return loadConfig({ overrides });
}

/** Turns known user errors into a one-line message and an exit code; anything else keeps its stack. */
export function reportError(err: unknown): number {
  if (err instanceof CliError) {
    process.stderr.write(`mlpipe: ${err.message}\n`);
    return err.exitCode;
  }
  if (
    err instanceof ConfigError ||
    err instanceof PipelineCompileError ||
    err instanceof PipelineModuleError ||
    err instanceof ComponentRegistryError
  ) {
    process.stderr.write(`mlpipe: ${err.message}\n`);
    return EXIT_USAGE;
  }
  if (err instanceof TemporalUnreachableError) {
    process.stderr.write(`mlpipe: ${err.message}\n`);
    return EXIT_FAILED;
  }
  process.stderr.write(`mlpipe: ${(err as Error)?.stack ?? String(err)}\n`);
  return EXIT_FAILED;
}

/** Resolves on the first SIGINT/SIGTERM. */
export function untilInterrupted(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handler = (signal: NodeJS.Signals) => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      resolve(signal);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * Validates parsed flags; a problem becomes a usage error naming the flag (`--catchup-window: ...`),
 * or the argument in angle brackets when `argumentNames` maps the key to one.
 */
export function parseFlags<S extends z.ZodType>(schema: S, raw: unknown, argumentNames: Record<string, string> = {}): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? '');
    const name = argumentNames[key] ?? (key ? `--${kebab(key)}` : 'flags');
    return `${name}: ${issue.message}`;
  });
  throw new CliError(lines.join('\n'));
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
