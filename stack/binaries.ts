import { accessSync, constants, existsSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ENV_VARS } from '../config/config';

export type ServerBinaryName = 'temporal' | 'minio';

/** Overrides the per-user binary cache; scripts/build-servers.sh honours the same variable. */
export const BIN_DIR_ENV = 'MLPIPE_BIN_DIR';

/** mlpipe's per-user cache (`${XDG_CACHE_HOME:-~/.cache}/mlpipe`), shared by every clone and project. */
export function mlpipeCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const cacheHome = env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), '.cache');
  return path.join(cacheHome, 'mlpipe');
}

/**
 * Where scripts/build-servers.sh puts the servers, in the per-user cache so the Go builds
 * (minutes each) happen once per machine, not once per checkout.
 */
export function serverBinDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env[BIN_DIR_ENV];
  if (explicit) return path.resolve(explicit);
  return path.join(mlpipeCacheDir(env), 'bin');
}

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

export interface LocateOptions {
  /** Take the binary from PATH instead of the cache; defaults to $MLPIPE_USE_PATH_BINARIES. */
  usePath?: boolean;
  env?: NodeJS.ProcessEnv;
}

export function usesPathBinaries(opts: LocateOptions): boolean {
  const v = (opts.env ?? process.env)[ENV_VARS.useBinariesOnPath];
  return opts.usePath ?? (v === '1' || v === 'true');
}

/** scripts/build-servers.sh of this installation, found from here in a checkout's sources, its dist/, or an installed package. */
export function buildScriptPath(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'scripts', 'build-servers.sh');
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`scripts/build-servers.sh is missing from the mlpipe installation above ${__dirname}`);
  }
}

/** Absolute path of a server binary, or an error that tells the user how to get it. */
export function locateServerBinary(name: ServerBinaryName, opts: LocateOptions = {}): string {
  const env = opts.env ?? process.env;
  if (usesPathBinaries(opts)) {
    const found = findOnPath(name, env);
    if (found) return found;
    throw new Error(
      `'${name}' was not found on PATH (${ENV_VARS.useBinariesOnPath}=1 asks mlpipe to use binaries from PATH). ` +
        `Put '${name}' on PATH, or unset ${ENV_VARS.useBinariesOnPath} and run \`bash ${buildScriptPath()} ${name}\` ` +
        `to build it into ${serverBinDir(env)}.`,
    );
  }
  const file = path.join(serverBinDir(env), name);
  if (isExecutableFile(file)) return file;
  throw new Error(
    `the ${name} server binary is missing: expected ${file}. Run \`bash ${buildScriptPath()} ${name}\` to build it ` +
      `with Go (once per machine), or put '${name}' on PATH and set ${ENV_VARS.useBinariesOnPath}=1.`,
  );
}
