import { readdirSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DefaultLogger, bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOW_BUNDLE_PATH } from './workflow-bundle';

const DIST = path.join(__dirname, '..');
/** Compiled code the workflow bundle can never include: webpack walks imports from workflows/ only. */
const NOT_BUNDLED = new Set(['test', 'bench', 'node_modules']);

function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory() && !NOT_BUNDLED.has(entry.name)) newest = Math.max(newest, newestMtimeMs(path.join(dir, entry.name)));
    else if (entry.isFile() && entry.name.endsWith('.js') && path.join(dir, entry.name) !== WORKFLOW_BUNDLE_PATH) newest = Math.max(newest, statSync(path.join(dir, entry.name)).mtimeMs);
  }
  return newest;
}

/** npm rewrites its record of node_modules whenever an install changes a package the bundle may hold (zod, the SDK). */
const INSTALLED_PACKAGES = path.join(DIST, '..', 'node_modules', '.package-lock.json');

/**
 * Bundling takes seconds; `npm run demo` and `npm test` build every time. The incremental compiler
 * rewrites only the files whose sources changed, so a bundle newer than every compiled module and
 * than the last change to node_modules was made from the same code.
 */
function bundleIsCurrent(): boolean {
  let bundled: number;
  let installed: number;
  try {
    bundled = statSync(WORKFLOW_BUNDLE_PATH).mtimeMs;
    installed = statSync(INSTALLED_PACKAGES).mtimeMs;
  } catch {
    return false;
  }
  return bundled > Math.max(installed, newestMtimeMs(DIST));
}

async function main(): Promise<void> {
  if (bundleIsCurrent()) return;
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: new DefaultLogger('WARN') });
  await writeFile(WORKFLOW_BUNDLE_PATH, code);
}

main().catch((err) => {
  console.error(`building the workflow bundle failed: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
