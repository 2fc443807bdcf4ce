import type { ResolvedFileSet } from '../dsl/resolve';
import type { S3Settings } from './s3-client';

/**
 * The S3 endpoints and credentials a worker may read input locations with: the artifact store's, and
 * named sources of its configuration (`s3Sources`), since data often lives in another account than
 * the artifacts. Pipelines name a source; its keys stay on the workers, out of the IR and cache keys.
 */
export interface S3Sources {
  store?: S3Settings;
  named: Record<string, S3Settings>;
}

export const NO_S3_SOURCES: S3Sources = { named: {} };

/** S3 error codes for keys the store refuses: the user's to fix, never worth a retry. */
export const S3_ACCESS_REFUSED_CODES: ReadonlySet<string> = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch']);

export function s3SourcesOf(config: { s3?: S3Settings; s3Sources?: Record<string, S3Settings> }): S3Sources {
  return { ...(config.s3 ? { store: config.s3 } : {}), named: config.s3Sources ?? {} };
}

/** The settings an s3:// location is read with, and how messages name them; `problem` says why there are none. */
export function s3SourceSettings(
  sources: S3Sources,
  name: string | undefined,
): { settings: S3Settings; described: string } | { problem: string } {
  if (name === undefined) {
    if (sources.store) return { settings: sources.store, described: `the artifact store's S3 keys at ${sources.store.endpoint}` };
    return { problem: 'no S3 endpoint is configured (MLPIPE_S3_ENDPOINT and its keys), and no s3Source is named' };
  }
  const settings = sources.named[name];
  if (settings) return { settings, described: `S3 source '${name}' at ${settings.endpoint}` };
  const known = Object.keys(sources.named);
  return {
    problem: `no S3 source '${name}' is configured on this worker (s3Sources in mlpipe.config.json, or MLPIPE_S3_SOURCE_<NAME>_ENDPOINT and its keys); ${known.length > 0 ? `it knows ${known.map((k) => `'${k}'`).join(', ')}` : 'it knows none'}`,
  };
}

/**
 * What one executor is given of the worker's sources: the keys of those its resolved s3:// file sets
 * were listed with (the store's for a set that names none), no others. An executor reads what its
 * resolve step listed, so one component cannot read with another's secrets.
 */
export function s3SourcesFor(sources: S3Sources, sets: Iterable<ResolvedFileSet>): S3Sources {
  const scoped: S3Sources = { named: {} };
  for (const set of sets) {
    if (!set.root.startsWith('s3://')) continue;
    if (set.s3Source === undefined) {
      if (sources.store) scoped.store = sources.store;
    } else {
      const settings = sources.named[set.s3Source];
      if (settings) scoped.named[set.s3Source] = settings;
    }
  }
  return scoped;
}
