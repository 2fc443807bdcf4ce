import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { issueLines } from '../dsl/zod-issues';
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

/** Ends the command with an exit code once it has said everything itself. */
export class CliExit extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

/** Where the Temporal SDK's log lines went: a file made on the first line, or the terminal. */
export interface SdkLog {
  /** The file, once something was written to it; null while nothing was, or when logging to stderr. */
  readonly file: string | null;
}

/**
 * Temporal's runtime logs at INFO and handles SIGINT itself; the CLI wants its own shutdown order,
 * and a person reading `mlpipe run` wants mlpipe's words, not the SDK's JSON lines. With `logDir`
 * the SDK's warnings go to a file there (made only when there is something to write); without it,
 * or with `verbose` (INFO and above), to stderr.
 */
export function installCliRuntime(opts: { verbose?: boolean; logDir?: string; command?: string } = {}): SdkLog {
  // Loaded here, not at the top: the worker runtime takes ~250 ms to load and most commands never need it.
  const { DefaultLogger, Runtime } = require('@temporalio/worker') as typeof import('@temporalio/worker');
  const toFile = opts.logDir !== undefined && !opts.verbose;
  const log: { file: string | null } = { file: null };
  const fileName = () => {
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
    return path.join(opts.logDir!, `${opts.command ?? 'mlpipe'}-${stamp}-${process.pid}.log`);
  };
  const logger = new DefaultLogger(opts.verbose ? 'INFO' : 'WARN', (entry) => {
    // Executor-only workers (cpu, gpu) poll no workflows by design; the SDK warns about it anyway.
    if (entry.message.startsWith('No workflows registered')) return;
    const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
    const line = `${time} [${entry.level}] ${entry.message}${entry.meta ? ` ${JSON.stringify(entry.meta)}` : ''}\n`;
    if (!toFile) {
      process.stderr.write(line);
      return;
    }
    if (log.file === null) {
      mkdirSync(opts.logDir!, { recursive: true });
      log.file = fileName();
    }
    appendFileSync(log.file, line);
  });
  Runtime.install({ logger, shutdownSignals: [] });
  return log;
}

export function cliConfig(overrides: Record<string, unknown> = {}): MlpipeConfig {
  return loadConfig({ overrides });
}

/** Turns known user errors into a one-line message and an exit code; anything else keeps its stack. */
export function reportError(err: unknown): number {
  if (err instanceof CliExit) return err.exitCode;
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
  const lines = issueLines(parsed.error, 'flags', (issue) => {
    const key = String(issue.path[0] ?? '');
    return argumentNames[key] ?? (key ? `--${kebab(key)}` : 'flags');
  });
  throw new CliError(lines.join('\n'));
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
