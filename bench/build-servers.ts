import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../test/support/repo-root';

/**
 * Time to get the Temporal CLI and MinIO on a machine: once as on a fresh machine (empty Go module
 * and build caches, empty binary cache), then again with everything in place, which is what every
 * later `npm test` / `npm run demo` pays.
 *
 *   node dist/bench/build-servers.js
 */

const SCRIPT = path.join(REPO_ROOT, 'scripts', 'build-servers.sh');

export interface BuildServersFigures {
  freshSeconds: number;
  warmSeconds: number;
}

function runBuild(env: NodeJS.ProcessEnv, label: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn('bash', [SCRIPT], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const relay = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) if (line) process.stderr.write(`  [${label}] ${line}\n`);
    };
    child.stdout.on('data', relay);
    child.stderr.on('data', relay);
    child.once('error', reject);
    child.once('exit', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code === 0) resolve(seconds);
      else reject(new Error(`${label} build failed: scripts/build-servers.sh exited with ${code}`));
    });
  });
}

/** Go marks its module cache read-only; make it deletable again. */
async function makeWritable(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isDirectory()) await chmod(path.join(entry.parentPath, entry.name), 0o755);
  }
}

export async function benchBuildServers(): Promise<BuildServersFigures> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'mlpipe-bench-build-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GOMODCACHE: path.join(scratch, 'gomodcache'),
    GOCACHE: path.join(scratch, 'gocache'),
    MLPIPE_BIN_DIR: path.join(scratch, 'bin'),
  };
  delete env.MLPIPE_USE_PATH_BINARIES;
  try {
    const freshSeconds = await runBuild(env, 'fresh');
    const warmSeconds = await runBuild(env, 'warm');
    return { freshSeconds, warmSeconds };
  } finally {
    await makeWritable(scratch).catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  process.stderr.write(`building the servers from scratch with ${os.cpus().length} cores; this takes minutes\n`);
  const { freshSeconds, warmSeconds } = await benchBuildServers();
  process.stdout.write(
    `servers build, fresh machine (empty Go module, build and binary caches): ${freshSeconds.toFixed(1)} s\n` +
      `servers build, cache warm (binaries reused):                            ${warmSeconds.toFixed(2)} s ` +
      `(${(freshSeconds / warmSeconds).toFixed(0)}x faster than fresh)\n`,
  );
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
