import { existsSync } from 'node:fs';
import path from 'node:path';

/** The checkout's root, found from this file whether it runs from the sources (tsx) or from dist/. */
function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'tsconfig.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json with a tsconfig.json above ${start}`);
  }
}

export const REPO_ROOT = findRepoRoot(__dirname);
