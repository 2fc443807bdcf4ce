import { accessSync, constants, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ENV_VARS } from '../config/config';

export type ServerBinaryName = 'temporal' | 'minio';

/** Overrides the per-user binary cache; scripts/build-servers.sh honours the same variable. */
export const BIN_DIR_ENV = 'MLPIPE_BIN_DIR';

/**
 * The per-user cache that scripts/build-servers.sh fills, shared by every clone so the
 * Go builds (minutes each) happen once per machine, not once per checkout.
 */
export function serverBinDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env[BIN_DIR_ENV];
  if (explicit) return path.resolve(explicit);
  const cacheHome = env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), '.cache');
  return path.join(cacheHome, 'mlpipe', 'bin');
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

function usePathFromEnv(env: NodeJS.ProcessEnv): boolean {
  const v = env[ENV_VARS.useBinariesOnPath];
  return v === '1' || v === 'true';
}

export interface LocateOptions {
  /** Take the binary from PATH instead of the cache; defaults to $MLPIPE_USE_PATH_BINARIES. */
  usePath?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** Absolute path of a server binary, or an error that tells the user how to get it. */
export function locateServerBinary(name: ServerBinaryName, opts: LocateOptions = {}): string {
  const env = opts.env ?? process.env;
  const usePath = opts.usePath ?? usePathFromEnv(env);
  if (usePath) {
    const found = findOnPath(name, env);
    if (found) return found;
    throw new Error(
      `'${name}' was not found on PATH (${ENV_VARS.useBinariesOnPath}=1 asks mlpipe to use binaries from PATH). ` +
        `Put '${name}' on PATH, or unset ${ENV_VARS.useBinariesOnPath} and run \`npm run setup:servers\` ` +
        `to build it into ${serverBinDir(env)}.`,
    );
  }
  const file = path.join(serverBinDir(env), name);
  if (isExecutableFile(file)) return file;
  throw new Error(
    `the ${name} server binary is missing: expected ${file}. Run \`npm run setup:servers\` to build it ` +
      `with Go (once per machine), or put '${name}' on PATH and set ${ENV_VARS.useBinariesOnPath}=1.`,
  );
}
