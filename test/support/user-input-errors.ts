import assert from 'node:assert/strict';
import { UserInputError } from '../../dsl/executor';

/** The promise fails as a user's mistake (a UserInputError, not retried) whose message matches `pattern`. */
export async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, isUserInputError(pattern));
}

/** The call throws a user's mistake (a UserInputError) whose message matches `pattern`. */
export function throwsUserInputError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, isUserInputError(pattern));
}

function isUserInputError(pattern: RegExp): (err: Error) => boolean {
  return (err) => {
    assert.ok(err instanceof UserInputError, `expected a UserInputError, got ${err.name}: ${err.message}`);
    assert.match(err.message, pattern);
    return true;
  };
}
