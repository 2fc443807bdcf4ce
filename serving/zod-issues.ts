import type { z } from 'zod';
import { issueLines, issuePath } from '../dsl/zod-issues';

/** The serving protocols' form: `field inputs[0].shape: message`, issues joined by `; `. */
export function describeZodError(error: z.ZodError): string {
  return issueLines(error, '', (i) => (i.path.length > 0 ? `field ${issuePath(i.path)}` : '')).join('; ');
}
