import { writeFile } from 'node:fs/promises';
import { DefaultLogger, bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOW_BUNDLE_PATH } from './workflow-bundle';

async function main(): Promise<void> {
  const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: new DefaultLogger('WARN') });
  await writeFile(WORKFLOW_BUNDLE_PATH, code);
}

main().catch((err) => {
  console.error(`building the workflow bundle failed: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
