import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { z } from 'zod';

/**
 * A run measured in a child process of its own, so that its peak RSS is its alone (the parent made the
 * inputs): the child reads its own `process.resourceUsage().maxRSS` at the end and reports it as JSON.
 */
const ChildReportSchema = z.object({ rows: z.number(), seconds: z.number(), maxRssBytes: z.number() });
export type ChildReport = z.infer<typeof ChildReportSchema>;

const CHILD_FLAG = '--child';

export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const started = process.hrtime.bigint();
  const value = await fn();
  return { value, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

/** Runs `script` again as a child with `args`; the child answers through `reportFromChild`. */
export async function measureInChild(script: string, args: readonly string[]): Promise<ChildReport> {
  const { stdout } = await promisify(execFile)(process.execPath, [script, CHILD_FLAG, ...args], { maxBuffer: 1 << 20 });
  return ChildReportSchema.parse(JSON.parse(stdout));
}

/** The arguments `measureInChild` gave this process, or undefined in the parent. */
export function childArgs(): string[] | undefined {
  const [flag, ...args] = process.argv.slice(2);
  return flag === CHILD_FLAG ? args : undefined;
}

/**
 * This process's own peak RSS. Linux's `getrusage` maxRSS (Node's `resourceUsage().maxRSS`) keeps the
 * peak of the process image an exec replaced: a child forked from a parent holding 1.2 GB reports at
 * least 1.2 GB whatever it uses itself. /proc's VmHWM is the peak of the current image alone.
 */
function ownPeakRssBytes(): number {
  const status = existsSync('/proc/self/status') ? readFileSync('/proc/self/status', 'utf8') : '';
  const kib = /^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1];
  return (kib === undefined ? process.resourceUsage().maxRSS : Number(kib)) * 1024;
}

/** In the child: times `run` (which returns the rows it handled) and writes the report for the parent. */
export async function reportFromChild(run: () => Promise<number>): Promise<void> {
  const { value: rows, seconds } = await timed(run);
  const report: ChildReport = { rows, seconds, maxRssBytes: ownPeakRssBytes() };
  process.stdout.write(JSON.stringify(report));
}

export const gib = (bytes: number): string => `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
