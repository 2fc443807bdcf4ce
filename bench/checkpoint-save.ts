/**
 * Figure: what a durable checkpoint costs. Saving (commit to `_checkpoints/<n>-a<attempt>/`, resolving
 * only once it is durable) and restoring a checkpoint directory of `--mb` MB in `--files` files, on
 * file:// and on s3:// (a MinIO the bench starts), each against a baseline measured in the same run
 * on the same data: on file://, copying the directory and fsyncing each file; on s3://, plain PUTs
 * and GETs of the same files through the same store, without staging, manifest or verification.
 *   npm run build && node dist/bench/checkpoint-save.js [--mb 64] [--files 8] [--runs 3]
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createWriteStream, createReadStream } from 'node:fs';
import { NodeCheckpoints } from '../activities/node-checkpoints';
import { mapWithConcurrency } from '../artifacts/manifest';
import { openArtifactStore } from '../artifacts/open-store';
import type { ArtifactStore } from '../artifacts/store';
import { startMinio } from '../stack/minio-server';
import { numberArg } from './support/bench-stack';
import { median } from './stats';

const CONCURRENCY = 8;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

async function copyWithFsync(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  await mapWithConcurrency(await readdir(from), CONCURRENCY, async (name) => {
    await pipeline(createReadStream(path.join(from, name)), createWriteStream(path.join(to, name)));
    const handle = await open(path.join(to, name), 'r');
    await handle.sync();
    await handle.close();
  });
}

async function plainPuts(store: ArtifactStore, from: string, prefix: string): Promise<void> {
  await mapWithConcurrency(await readdir(from), CONCURRENCY, (name) => store.putObject(`${prefix}/${name}`, createReadStream(path.join(from, name))));
}

async function plainGets(store: ArtifactStore, prefix: string, names: string[], to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  await mapWithConcurrency(names, CONCURRENCY, async (name) => pipeline(await store.getObject(`${prefix}/${name}`), createWriteStream(path.join(to, name))));
}

async function measure(kind: string, store: ArtifactStore, dir: string, work: string, runs: number): Promise<void> {
  const names = await readdir(dir);
  const save: number[] = [];
  const saveBase: number[] = [];
  const restore: number[] = [];
  const restoreBase: number[] = [];
  for (let r = 0; r < runs; r++) {
    const prefix = `bench/run-${r}/node/_checkpoints`;
    saveBase.push(
      kind === 'file'
        ? await timed(() => copyWithFsync(dir, path.join(work, `copy-${r}`)))
        : await timed(() => plainPuts(store, dir, `bench/plain-${r}`)),
    );
    save.push(await timed(() => new NodeCheckpoints(store, prefix, 1).save(dir, { epoch: r })));
    restoreBase.push(
      kind === 'file'
        ? await timed(() => copyWithFsync(path.join(work, `copy-${r}`), path.join(work, `copy-back-${r}`)))
        : await timed(() => plainGets(store, `bench/plain-${r}`, names, path.join(work, `get-${r}`))),
    );
    const into = path.join(work, `restore-${r}`);
    await mkdir(into, { recursive: true });
    restore.push(await timed(() => new NodeCheckpoints(store, prefix, 2).restore(into)));
  }
  const line = (what: string, ms: number[], base: number[]) =>
    `${kind}:// ${what}: median ${median(ms).toFixed(0)} ms, ${median(base).toFixed(0)} ms baseline, ratio ${(median(ms) / median(base)).toFixed(2)}`;
  process.stdout.write(`${line('checkpoint save', save, saveBase)}\n${line('checkpoint restore', restore, restoreBase)}\n`);
}

async function main(): Promise<void> {
  const mb = numberArg('mb', 64);
  const files = numberArg('files', 8);
  const runs = numberArg('runs', 3);
  const work = await mkdtemp(path.join(os.tmpdir(), 'mlpipe-bench-ckpt-'));
  const minio = await startMinio({ dataDir: path.join(work, 'minio') });
  try {
    const dir = path.join(work, 'checkpoint');
    await mkdir(dir);
    for (let f = 0; f < files; f++) await writeFile(path.join(dir, `weights-${f}.bin`), randomBytes(Math.round((mb * 1024 * 1024) / files)));
    process.stdout.write(`checkpoint of ${mb} MB in ${files} files, ${runs} runs each\n`);
    const fileStore = await openArtifactStore(`file://${path.join(work, 'store')}`);
    await measure('file', fileStore, dir, work, runs);
    await fileStore.close();
    const s3 = { endpoint: minio.endpoint, accessKey: minio.accessKey, secretKey: minio.secretKey, region: 'us-east-1' };
    const s3Store = await openArtifactStore('s3://bench-checkpoints/a', s3, { cacheDir: path.join(work, 'cache') });
    await measure('s3', s3Store, dir, path.join(work, 's3'), runs);
    await s3Store.close();
  } finally {
    await minio.stop();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
