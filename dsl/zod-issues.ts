import type { z } from 'zod';

/** `inputs[0].shape` from a zod issue path. */
export function issuePath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '');
}

/**
 * One `<where>: <message>` per zod issue (the message alone where `where` is empty): mlpipe's single
 * form of a validation error, so every boundary names the offending field the same way. `where`
 * defaults to the field's path, or `rootLabel` for the value itself.
 */
export function issueLines(
  error: z.ZodError,
  rootLabel = '(value)',
  where: (issue: z.ZodError['issues'][number]) => string = (i) => issuePath(i.path) || rootLabel,
): string[] {
  return error.issues.map((issue) => {
    const place = where(issue);
    return place ? `${place}: ${issue.message}` : issue.message;
  });
}

/** The issues on one line, joined by `; `. */
export function describeIssues(error: z.ZodError, rootLabel = '(value)'): string {
  return issueLines(error, rootLabel).join('; ');
}
