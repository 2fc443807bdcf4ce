import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { z } from 'zod';
import { describeIssues } from '../dsl/zod-issues';

const Sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'expected a sha256 hex digest (64 lowercase hex characters)');

/** A resolved file in the key: where it lies relative to its set's root, and its content. */
const KeyedFileSchema = z.object({ path: z.string().min(1), contentHash: z.string().min(1) }).strict();

export const FingerprintInputSchema = z.object({
  component: z.string().min(1),
  componentVersion: z.string().min(1),
  /** As the component parses them (defaults filled in), so every way of writing a pipeline gives one key. */
  parameters: z.record(z.string(), z.unknown()),
  /** Content hashes of each input key's artifacts, in order; URIs deliberately have no place here. */
  inputs: z.record(z.string(), z.array(Sha256Schema)),
  /** What the resolve step found: files by set name (path and content, not where they lie), artifacts' content hashes. */
  resolved: z
    .object({
      files: z.record(z.string(), z.array(KeyedFileSchema)),
      artifacts: z.record(z.string(), z.array(Sha256Schema)),
    })
    .strict()
    .default({ files: {}, artifacts: {} }),
});
export type FingerprintInput = z.input<typeof FingerprintInputSchema>;

/** Bumped whenever the hashed payload's shape changes, so old cache entries stop matching. */
const FINGERPRINT_SCHEME = 'mlpipe-fingerprint/2';

/**
 * The part of a node's cache key that does not depend on the component version: sha256 over a
 * canonical JSON of the component type, its parameters, the content hashes of its inputs and of
 * what its resolve step found. Key order never changes it; an artifact's URI, name or mtime never
 * enters it, so equal content gives equal keys.
 */
export function fingerprintBase(input: Omit<FingerprintInput, 'componentVersion'>): string {
  const parsed = FingerprintInputSchema.omit({ componentVersion: true }).safeParse(input);
  if (!parsed.success) throw new TypeError(`computeFingerprint: ${describeIssues(parsed.error, '(input)')}`);
  const x = parsed.data;
  const payload = { scheme: FINGERPRINT_SCHEME, component: x.component, parameters: x.parameters, inputs: x.inputs, resolved: x.resolved };
  return createHash('sha256').update(canonicalJson(payload, '')).digest('hex');
}

/**
 * The cache key: the base and the component version that produced (or will produce) the outputs.
 * Kept in two parts so an execution can be re-keyed with the version its executor reports.
 */
export function fingerprintWithVersion(base: string, componentVersion: string): string {
  if (!/^[0-9a-f]{64}$/.test(base)) throw new TypeError(`fingerprintWithVersion: base must be a sha256 hex digest, got '${base}'`);
  if (componentVersion.length === 0) throw new TypeError('computeFingerprint: componentVersion: must not be empty');
  return createHash('sha256').update(`${FINGERPRINT_SCHEME}\0${base}\0${componentVersion}`).digest('hex');
}

/**
 * JSON with object keys sorted and numbers in ECMAScript's shortest round-trip form (with -0 as 0).
 * Values JSON cannot carry faithfully are refused rather than silently collapsed (NaN and Infinity
 * would both become null, and two different parameter sets would share a cache entry).
 */
export function canonicalJson(value: unknown, path = ''): string {
  const where = path || '(root)';
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`fingerprint: ${where} is ${value}; expected a finite number`);
      return Object.is(value, -0) ? '0' : JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value
          .map((item, i) => {
            if (item === undefined) throw new TypeError(`fingerprint: ${path}[${i}] is undefined; expected a JSON value`);
            return canonicalJson(item, `${path}[${i}]`);
          })
          .join(',')}]`;
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        const name = (value as object).constructor?.name ?? 'object';
        throw new TypeError(`fingerprint: ${where} is a ${name}; expected a plain JSON object`);
      }
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v, path ? `${path}.${k}` : k)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`fingerprint: ${where} is a ${typeof value}; expected a JSON value`);
  }
}

/** sha256 (hex) of a file's bytes, streamed. */
export async function hashFileContent(filePath: string): Promise<string> {
  const info = await stat(filePath).catch((err: NodeJS.ErrnoException) => {
    throw new Error(`hashFileContent: cannot read ${filePath}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  });
  if (!info.isFile()) throw new Error(`hashFileContent: ${filePath} is not a regular file`);
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(filePath)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
