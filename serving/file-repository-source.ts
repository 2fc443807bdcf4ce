import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { RepositoryFile, RepositorySource } from './repository-source';

async function entries(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    // A directory removed between listing and reading is simply gone from this scan.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

async function fileStamp(file: string): Promise<{ size: number; stamp: string } | undefined> {
  try {
    const s = await stat(file);
    return s.isFile() ? { size: s.size, stamp: `${s.size}:${s.mtimeMs}` } : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

const visible = (e: Dirent) => !e.name.startsWith('.');

/** A repository directory on the local filesystem (a plain path or a file:// URI). */
export class FileRepositorySource implements RepositorySource {
  constructor(
    readonly root: string,
    readonly uri: string,
  ) {}

  async listFiles(): Promise<RepositoryFile[]> {
    const top = await readdir(this.root, { withFileTypes: true });
    const files: RepositoryFile[] = [];
    for (const model of top.filter((e) => e.isDirectory() && visible(e))) {
      const modelDir = path.join(this.root, model.name);
      for (const child of (await entries(modelDir)).filter(visible)) {
        const childPath = path.join(modelDir, child.name);
        if (child.isFile()) {
          const stamp = await fileStamp(childPath);
          if (stamp) files.push({ key: `${model.name}/${child.name}`, ...stamp });
        } else if (child.isDirectory()) {
          for (const f of (await entries(childPath)).filter((e) => e.isFile() && visible(e))) {
            const stamp = await fileStamp(path.join(childPath, f.name));
            if (stamp) files.push({ key: `${model.name}/${child.name}/${f.name}`, ...stamp });
          }
        }
      }
    }
    return files;
  }

  readFile(key: string): Promise<Buffer> {
    return readFile(this.localPath(key));
  }

  localPath(key: string): string {
    return path.join(this.root, ...key.split('/'));
  }

  async close(): Promise<void> {}
}
