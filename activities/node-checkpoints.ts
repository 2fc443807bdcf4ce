import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ArtifactStore } from '../artifacts/store';

/** A checkpoint as the next attempt gets it back. */
export interface RestoredCheckpoint {
  number: number;
  state: unknown;
}

const STATE_FILE = 'state.json';
const FILES_DIR = 'files';

/**
 * The checkpoints of one node of one run, at `<run>/<node>/_checkpoints/<n>/`: each is committed as an
 * artifact (files, then manifest), so it is complete or not visible, on `file://` and `s3://` alike.
 * Only the latest is kept: an older one is removed once a newer one is committed.
 */
export class NodeCheckpoints {
  private last = 0;

  constructor(
    private readonly store: ArtifactStore,
    /** `pipelines/<pipeline>/runs/<run>/<node>/_checkpoints` */
    private readonly prefix: string,
  ) {}

  private uriOf(n: number): string {
    return this.store.uriFor(`${this.prefix}/${n}`);
  }

  /** Numbers of the checkpoints present, committed or not, newest first. */
  private async numbers(): Promise<number[]> {
    const found = new Set<number>();
    for await (const object of this.store.list(this.prefix)) {
      const segment = object.key.slice(this.prefix.length + 1).split('/')[0]!;
      if (/^[1-9][0-9]*$/.test(segment)) found.add(Number(segment));
    }
    return [...found].sort((a, b) => b - a);
  }

  /**
   * Copies the latest complete checkpoint's files into `dir` and returns its state; null when the
   * node has none (a first attempt, or one that crashed before its first checkpoint).
   */
  async restore(dir: string): Promise<RestoredCheckpoint | null> {
    const numbers = await this.numbers();
    if (numbers.length > 0) this.last = numbers[0]!;
    for (const n of numbers) {
      if (!(await this.store.readManifest(this.uriOf(n)))) continue;
      const local = await this.store.materialize(this.uriOf(n));
      const state = JSON.parse(await readFile(path.join(local, STATE_FILE), 'utf8')) as { state: unknown };
      // A checkpoint of state alone has no files, and s3:// has no empty directories.
      if (existsSync(path.join(local, FILES_DIR))) await cp(path.join(local, FILES_DIR), dir, { recursive: true });
      return { number: n, state: state.state };
    }
    return null;
  }

  /** Commits the files of `dir` with `state`; resolves once the checkpoint is durable in the store. */
  async save(dir: string, state: unknown): Promise<number> {
    let json: string;
    try {
      json = JSON.stringify({ state });
    } catch (err) {
      throw new Error(`checkpoint state must be JSON: ${(err as Error).message}`);
    }
    const n = this.last + 1;
    const staging = await this.store.createStaging();
    try {
      await mkdir(path.join(staging.localDir, FILES_DIR));
      await cp(dir, path.join(staging.localDir, FILES_DIR), { recursive: true });
      await writeFile(path.join(staging.localDir, STATE_FILE), json);
      await this.store.commit(staging, this.uriOf(n));
    } catch (err) {
      await this.store.abort(staging).catch(() => undefined);
      throw err;
    }
    const previous = this.last;
    this.last = n;
    if (previous > 0) await this.store.deleteArtifact(this.uriOf(previous)).catch(() => undefined);
    return n;
  }

  /** Removes every checkpoint once the node's outputs are committed: nothing will resume from them. */
  async clear(): Promise<void> {
    await this.store.deletePrefix(this.prefix);
  }
}
