import { ServingError } from './errors';
import type { VersionPolicy } from './model-config';

/** Triton's default: serve only the highest version. */
export const DEFAULT_VERSION_POLICY: VersionPolicy = { latest: { num_versions: 1 } };

/** The versions a policy wants served, out of those present in the repository, highest first. */
export function selectVersions(policy: VersionPolicy, available: readonly number[]): number[] {
  const sorted = [...new Set(available)].sort((a, b) => b - a);
  if ('latest' in policy) return sorted.slice(0, policy.latest.num_versions);
  if ('all' in policy) return sorted;
  const wanted = new Set(policy.specific.versions);
  return sorted.filter((v) => wanted.has(v));
}

/** A version as a request names it (URL segment, gRPC model_version). */
export function parseVersion(text: string): number {
  if (!/^[1-9][0-9]{0,15}$/.test(text)) throw new ServingError('invalid_argument', `version '${text}' is not a positive integer`);
  return Number(text);
}
