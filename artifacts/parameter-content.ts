import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashFileContent } from './fingerprint';

/** A content parameter names a file that cannot be read: the node cannot be fingerprinted. */
export class ContentParameterError extends Error {
  override name = 'ContentParameterError';
}

const GLOB_CHARS = /[*?[]/;

/**
 * File hashes by identity (path, size, mtime, inode). The fingerprint is always the content hash;
 * this only spares re-reading a large file that has not been touched since it was last hashed.
 */
const hashByIdentity = new Map<string, string>();

async function hashFile(file: string): Promise<string> {
  const info = await stat(file);
  const identity = `${file}\0${info.size}\0${info.mtimeMs}\0${info.ino}`;
  const known = hashByIdentity.get(identity);
  if (known) return known;
  const hash = await hashFileContent(file);
  hashByIdentity.set(identity, hash);
  return hash;
}

function globToRegExp(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      out += '.*';
      i++;
      if (pattern[i + 1] === '/') i++;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i);
      out += end > i ? pattern.slice(i, end + 1) : '\\[';
      i = end > i ? end : i;
    } else out += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full)));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

/**
 * The content hash of what a parameter names: one local file, or every file a glob matches (hashed
 * with its path relative to the glob's fixed directory, so moving the whole folder keeps the hash).
 * Returns null for locations that are not local files (s3:// and the like): no content to hash here.
 */
export async function hashParameterContent(value: string, where: string): Promise<string | null> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) && !value.startsWith('file://')) return null;
  const local = value.startsWith('file://') ? fileURLToPath(value) : value;
  if (!path.isAbsolute(local)) {
    throw new ContentParameterError(`${where}: '${value}' is a relative path; give an absolute path (workers may run in another directory)`);
  }
  if (!GLOB_CHARS.test(local)) {
    try {
      return await hashFile(local);
    } catch (err) {
      throw new ContentParameterError(`${where}: cannot read ${local} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  const parts = local.split('/');
  const fixed = parts.slice(0, parts.findIndex((p) => GLOB_CHARS.test(p))).join('/') || '/';
  const matcher = globToRegExp(local);
  const files = (await walk(fixed).catch(() => [])).filter((f) => matcher.test(f)).sort();
  if (files.length === 0) throw new ContentParameterError(`${where}: no file matches ${local}`);
  const hash = createHash('sha256');
  for (const file of files) hash.update(`${path.relative(fixed, file)}\0${await hashFile(file)}\n`);
  return hash.digest('hex');
}
