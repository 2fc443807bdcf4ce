import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { defineComponent } from '../../dsl/component';
import { defineExecutor } from '../../dsl/executor';

/**
 * What would come after ExampleValidator in a pipeline (Transform, Trainer): a node that reads its
 * anomalies and writes `ran.txt`, so a test sees whether the gate let it run.
 */
export const AfterValidation = defineComponent({
  type: 'AfterValidation',
  version: '1',
  description: 'stands for the training that follows validation',
  parameters: z.object({}).strict(),
  inputs: { anomalies: { type: 'ExampleAnomalies' } },
  outputs: { done: 'Text' },
  defaultResource: 'cpu',
  executor: { module: __filename },
});

export const executor = defineExecutor(AfterValidation, async (ctx) => {
  await writeFile(path.join(ctx.outputDirs.done, 'ran.txt'), 'ran');
  return {};
});
