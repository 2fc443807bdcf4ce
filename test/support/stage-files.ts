import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ArtifactStore, StagingArea } from '../../artifacts/store';

/** A staging area of `store` holding `files` (relative path with `/` -> content). */
export async function stageFiles(store: ArtifactStore, files: Record<string, string | Buffer>): Promise<StagingArea> {
  const staging = await store.createStaging();
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(staging.localDir, ...rel.split('/'));
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  }
  return staging;
}
