import { createWriteStream } from 'node:fs';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DigestStream, mapWithConcurrency } from '../artifacts/manifest';
import type { ArtifactStore } from '../artifacts/store';

/** A checkpoint as the next attempt gets it back. */
export interface RestoredCheckpoint {
  number: number;
  state: unknown;
}

const STATE_FILE = 'state.json';
const FILES_DIR = 'files';
/** Heartbeat details mirror the state, and Temporal refuses payloads over 2 MB: the rest belongs in files. */
export const MAX_CHECKPOINT_STATE_BYTES = 64 * 1024;
const RESTORE_CONCURRENCY = 8;

/** `<n>-a<attempt>`: each attempt names its own checkpoints, so two attempts alive at once (a worker taken for dead that still runs) never claim the same one. */
const NAME = /^([1-9][0-9]*)-a([1-9][0-9]*)$/;

interface CheckpointName {
  name: string;
  number: number;
  attempt: number;
}

function byRecency(a: CheckpointName, b: CheckpointName): number {
  return b.number - a.number || b.attempt - a.attempt;
}

/**
 * The checkpoints of one node of one run, at `<run>/<node>/_checkpoints/<n>-a<attempt>/`: each is
 * committed as an artifact (files, then manifest), so it is complete or not visible, on `file://` and
 * `s3://` alike. Once one is committed, every other is removed.
 */
export class NodeCheckpoints {
  private last = 0;

  constructor(
    private readonly store: ArtifactStore,
    /** `pipelines/<pipeline>/runs/<run>/<node>/_checkpoints` */
    private readonly prefix: string,
    private readonly attempt: number,
  ) {}

  private uriOf(name: string): string {
    return this.store.uriFor(`${this.prefix}/${name}`);
  }

  /** The checkpoints present, committed or not, newest first. */
  private async present(): Promise<CheckpointName[]> {
    const found = new Map<string, CheckpointName>();
    for await (const object of this.store.list(this.prefix)) {
      const name = object.key.slice(this.prefix.length + 1).split('/')[0]!;
      const match = NAME.exec(name);
      if (match) found.set(name, { name, number: Number(match[1]), attempt: Number(match[2]) });
    }
    return [...found.values()].sort(byRecency);
  }

  /**
   * Copies the latest complete checkpoint's files into `dir` and returns its state; null when the
   * node has none (a first attempt, or one that crashed before its first checkpoint).
   */
  async restore(dir: string): Promise<RestoredCheckpoint | null> {
    const present = await this.present();
    if (present.length > 0) this.last = present[0]!.number;
    for (const checkpoint of present) {
      const manifest = await this.store.readManifest(this.uriOf(checkpoint.name));
      if (!manifest) continue;
      const key = this.store.keyFor(this.uriOf(checkpoint.name));
      // Straight into `dir`, verified against the manifest: a materialized copy would stay in the
      // worker's artifact cache for good, and training checkpoints are large.
      const files = manifest.files.filter((f) => f.path.startsWith(`${FILES_DIR}/`));
      await mapWithConcurrency(files, RESTORE_CONCURRENCY, async (file) => {
        const dest = path.join(dir, ...file.path.slice(FILES_DIR.length + 1).split('/'));
        await mkdir(path.dirname(dest), { recursive: true });
        const digest = new DigestStream();
        await pipeline(await this.store.getObject(`${key}/${file.path}`), digest, createWriteStream(dest));
        if (digest.size !== file.size || digest.sha256 !== file.sha256) {
          throw new Error(`checkpoint ${this.uriOf(checkpoint.name)}: ${file.path} is not what its manifest records`);
        }
      });
      const { state } = JSON.parse((await this.store.getObjectBuffer(`${key}/${STATE_FILE}`)).toString('utf8')) as { state: unknown };
      return { number: checkpoint.number, state };
    }
    return null;
  }

  /** Commits the files of `dir` with `state`; resolves once the checkpoint is durable in the store. */
  async save(dir: string, state: unknown): Promise<number> {
    const json = serializeState(state);
    const number = this.last + 1;
    const name = `${number}-a${this.attempt}`;
    const staging = await this.store.createStaging();
    try {
      await mkdir(path.join(staging.localDir, FILES_DIR));
      await cp(dir, path.join(staging.localDir, FILES_DIR), { recursive: true });
      await writeFile(path.join(staging.localDir, STATE_FILE), json);
      await this.store.commit(staging, this.uriOf(name));
    } catch (err) {
      await this.store.abort(staging).catch(() => undefined);
      throw err;
    }
    this.last = number;
    // Every other one goes, the restored one and debris of crashed commits included.
    for (const other of await this.present()) {
      if (other.name !== name) await this.store.deletePrefix(`${this.prefix}/${other.name}`).catch(() => undefined);
    }
    return number;
  }

  /** Removes every checkpoint once the node's outputs are committed: nothing will resume from them. */
  async clear(): Promise<void> {
    await this.store.deletePrefix(this.prefix);
  }
}

function serializeState(state: unknown): string {
  if (state === undefined) throw new Error('checkpoint state must be a JSON value, not undefined: a retry could not tell it from a first attempt');
  let json: string;
  try {
    json = JSON.stringify({ state });
  } catch (err) {
    throw new Error(`checkpoint state must be JSON: ${(err as Error).message}`);
  }
  const bytes = Buffer.byteLength(json);
  if (bytes > MAX_CHECKPOINT_STATE_BYTES) {
    throw new Error(`checkpoint state is ${bytes} bytes as JSON; keep it under ${MAX_CHECKPOINT_STATE_BYTES} and put the rest in files in ctx.checkpointDir`);
  }
  return json;
}
