import type { z } from 'zod';

/** `inputs[0].shape` from a zod issue path. */
export function issuePath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '');
}

/** One line naming each offending field and what was expected. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const field = issuePath(i.path);
      return field ? `field ${field}: ${i.message}` : i.message;
    })
    .join('; ');
}
