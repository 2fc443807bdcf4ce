import { existsSync } from 'node:fs';
import path from 'node:path';
import type { WorkerOptions } from '@temporalio/worker';

/** The prebuilt workflow bundle `npm run build` writes next to the compiled workflows. */
export const WORKFLOW_BUNDLE_PATH = path.join(__dirname, '..', 'workflows-bundle.js');

/**
 * Workers load the prebuilt bundle when it exists: bundling the workflow code with webpack takes
 * seconds, which would dominate `mlpipe run` and every worker start. Running from sources (tsx) it
 * bundles on the fly.
 */
export function workflowCodeOption(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  if (existsSync(WORKFLOW_BUNDLE_PATH) && __filename.endsWith('.js')) {
    return { workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH } };
  }
  return { workflowsPath: require.resolve('../workflows') };
}
