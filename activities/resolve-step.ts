import { InputLocationError } from '../artifacts/input-files';
import type { ComponentSpec } from '../dsl/component';
import { ComponentError, UserInputError } from '../dsl/executor';
import { NOTHING_RESOLVED, ResolvedInputsSchema, type ResolveContext, type ResolvedInputs } from '../dsl/resolve';
import { describeIssues } from '../dsl/zod-issues';

/**
 * Runs a component's resolve step and checks what it returns. A location naming nothing readable,
 * or a UserInputError of the step's own, is the user's to fix (UserInputError); a result that is not
 * what a resolve step must return is the component's fault (ComponentError).
 */
export async function runResolveStep(spec: ComponentSpec, input: ResolveContext<unknown>): Promise<ResolvedInputs> {
  if (!spec.resolve) return NOTHING_RESOLVED;
  let found: unknown;
  try {
    found = await spec.resolve(input);
  } catch (err) {
    if (err instanceof InputLocationError) throw new UserInputError(err.message);
    throw err;
  }
  const parsed = ResolvedInputsSchema.safeParse(found);
  if (!parsed.success) throw new ComponentError(`${spec.type}'s resolve step returned ${describeIssues(parsed.error, '(result)')}`);
  const clash = Object.keys(parsed.data.artifacts).find((name) => name in input.inputs);
  if (clash) throw new ComponentError(`${spec.type}'s resolve step names artifacts '${clash}', which is also an input`);
  return parsed.data;
}
