import { ServingError } from '../errors';
import type { VersionSelector } from '../model-repository';
import { parseVersion } from '../version-policy';

export function decodeSegment(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ServingError('invalid_argument', `path segment '${segment}' is not valid percent-encoding`);
  }
}

export function versionSelector(version: string | undefined, label?: string): VersionSelector {
  if (label !== undefined) return { label: decodeSegment(label) };
  if (version !== undefined) return { version: parseVersion(decodeSegment(version)) };
  return {};
}
