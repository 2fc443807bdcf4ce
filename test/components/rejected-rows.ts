import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ExecutorTestRun } from '../support/executor-harness';

/** The sample of bad rows an ExampleGen run wrote to its Examples' `rejected_rows.jsonl`, one object a line. */
export async function rejectedRows(run: ExecutorTestRun): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(path.join(run.outputDirs.examples!, 'rejected_rows.jsonl'), 'utf8');
  return text
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
