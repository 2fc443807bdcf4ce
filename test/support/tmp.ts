import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const created = new Set<string>();

/** A fresh directory under the OS temp dir, removed when the test run ends. */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `mlpipe-${prefix.replace(/[^A-Za-z0-9_.-]/g, '_')}-`));
  created.add(dir);
  return dir;
}

/** Removes every directory tempDir() made; called by the mocha root hook after the servers stop. */
export async function removeTempDirs(): Promise<void> {
  const dirs = [...created];
  created.clear();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
}

// A run started without the root hook (a single file under tsx) still cleans up.
process.on('exit', () => {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});
