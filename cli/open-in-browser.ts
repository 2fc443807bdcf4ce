import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** What hands a file to the desktop's browser: macOS's `open`, freedesktop's `xdg-open` elsewhere. */
const OPENER = process.platform === 'darwin' ? 'open' : 'xdg-open';

/**
 * An opener either hands the file over and exits, or (some browsers through xdg-open) stays until the
 * browser closes: waiting this long tells a failure ("no method available") from a browser that started.
 */
const FAILURE_WINDOW_MS = 3000;

function onPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const file = path.join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // Not here.
    }
  }
  return null;
}

function openOne(opener: string, file: string): Promise<string | null> {
  const child = spawn(opener, [file], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise<string | null>((resolve) => {
    const done = (failure: string | null) => {
      clearTimeout(timer);
      child.stderr!.destroy();
      child.unref();
      resolve(failure);
    };
    const timer = setTimeout(() => done(null), FAILURE_WINDOW_MS);
    child.on('error', (err) => done(`${opener}: ${err.message}`));
    child.on('exit', (code) => done(code === 0 ? null : `${opener} ${file} exited with ${code}${stderr.trim() ? `: ${stderr.trim().split('\n')[0]}` : ''}`));
  });
}

/** Opens the files in a browser; resolves to why it could not (null when it did). */
export async function openInBrowser(files: string[]): Promise<string | null> {
  const opener = onPath(OPENER);
  if (!opener) return `no ${OPENER} on PATH to open a browser with`;
  const failures = await Promise.all(files.map((file) => openOne(opener, file)));
  return failures.find((f) => f !== null) ?? null;
}
