import type { z } from 'zod';

/** `path.to.field: message; other: message`, the form every metadata and fingerprint error uses. */
export function describeIssues(error: z.ZodError, rootLabel: string): string {
  return error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : rootLabel}: ${i.message}`).join('; ');
}
