import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import { buildScriptPath, locateServerBinary, serverBinDir, usesPathBinaries, type LocateOptions, type ServerBinaryName } from './binaries';

/** What each server is, for the line that says what is being built and why. */
const DESCRIPTIONS: Record<ServerBinaryName, string> = {
  temporal: 'the Temporal CLI (its dev server runs your pipelines)',
  minio: 'MinIO (the local S3 store for artifacts)',
};

/** How often a build that is still going says so. */
const STILL_BUILDING_EVERY_MS = 60_000;

function minutes(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

export interface EnsureServerOptions extends LocateOptions {
  /** Why this command needs the server, e.g. "the embedded stack of `mlpipe run`". */
  neededBy: string;
  /** Where progress lines go (a person's terminal: stderr). */
  say(line: string): void;
}

/**
 * The server's binary; built the first time something needs it (with Go, through
 * scripts/build-servers.sh, into the per-user cache), so a command never waits for a server it does
 * not use. Go's own output goes to a log beside the binary, printed only when the build fails.
 */
export async function ensureServerBinary(name: ServerBinaryName, opts: EnsureServerOptions): Promise<string> {
  try {
    return locateServerBinary(name, opts);
  } catch (err) {
    if (usesPathBinaries(opts)) throw err;
    const env = opts.env ?? process.env;
    const binDir = serverBinDir(env);
    mkdirSync(binDir, { recursive: true });
    const logFile = path.join(binDir, `build-${name}.log`);
    opts.say(`mlpipe: ${opts.neededBy} needs ${DESCRIPTIONS[name]}, which is not built yet: building it with Go (log: ${logFile})`);
    const started = Date.now();
    const ticker = setInterval(() => opts.say(`mlpipe: still building ${name} (${minutes(Date.now() - started)} so far)`), STILL_BUILDING_EVERY_MS);
    try {
      await runBuildScript(name, logFile, env, opts.say);
    } finally {
      clearInterval(ticker);
    }
    opts.say(`mlpipe: built ${name} in ${minutes(Date.now() - started)}; later runs reuse ${path.join(binDir, name)}`);
    return locateServerBinary(name, opts);
  }
}

function runBuildScript(name: ServerBinaryName, logFile: string, env: NodeJS.ProcessEnv, say: (line: string) => void): Promise<void> {
  const log = createWriteStream(logFile);
  const child = spawn('bash', [buildScriptPath(), name], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail: string[] = [];
  const take = (chunk: Buffer) => {
    log.write(chunk);
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
      // The script's own lines say what it builds and about how long it takes; Go's chatter stays in the log.
      if (line.startsWith('build-servers: building')) say(`mlpipe: ${line.slice('build-servers: '.length)}`);
      tail = [...tail.slice(-19), line];
    }
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  return new Promise((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`cannot run ${buildScriptPath()}: ${err.message}`)));
    child.once('close', (code) => {
      log.end();
      if (code === 0) resolve();
      else reject(new Error(`building ${name} failed (exit ${code}); the last lines of ${logFile}:\n${tail.map((l) => `  ${l}`).join('\n')}`));
    });
  });
}
