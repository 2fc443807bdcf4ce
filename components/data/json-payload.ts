import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { UserInputError } from '../../dsl/executor';
import { issueLines } from '../../dsl/zod-issues';

/** A payload of another version fails on most of its fields: the first few say enough. */
const LISTED_ISSUES = 5;

/** A file of an input artifact: one that is not there is the artifact's fault, not a passing failure to retry. */
export async function readPayloadText(file: string, what: string): Promise<string> {
  return readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UserInputError(`${what}: cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  });
}

/**
 * A JSON file another component wrote (statistics.json, schema.json, ...) read through its zod schema:
 * a missing file, text that is not JSON or a payload of another shape is the user's to fix (a schema
 * edited by hand, an artifact from another version), so each is a UserInputError naming the file.
 */
export async function readJsonPayload<S extends z.ZodType>(file: string, schema: S, what: string): Promise<z.output<S>> {
  const text = await readPayloadText(file, what);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UserInputError(`${what}: ${file} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issues = issueLines(parsed.error, '(file)');
    const more = issues.length > LISTED_ISSUES ? `; and ${issues.length - LISTED_ISSUES} more` : '';
    throw new UserInputError(`${what}: ${file} does not match its format: ${issues.slice(0, LISTED_ISSUES).join('; ')}${more}`);
  }
  return parsed.data;
}
