import type { ComponentSpec, PipelineDefinition } from '../../dsl';
import type { ModelRegistryAccess } from '../../dsl/executor';
import { runExecutorForTest, type ExecutorTestRun, type TestArtifact } from './executor-harness';

/**
 * Runs a pipeline definition's nodes in their listed order through the executor harness (no Temporal),
 * each fed the artifacts its inputs name; `stopBefore` leaves out a node and every node after it.
 */
export async function runPipelineNodes(
  definition: PipelineDefinition,
  options: { stopBefore?: string; modelRegistry?: ModelRegistryAccess } = {},
): Promise<Map<string, ExecutorTestRun>> {
  const runs = new Map<string, ExecutorTestRun>();
  for (const node of definition.nodes) {
    if (node.id === options.stopBefore) break;
    const inputs: Record<string, TestArtifact[]> = {};
    for (const [key, handles] of Object.entries(node.options.inputs ?? {})) {
      inputs[key] = [handles ?? []].flat().map((h) => {
        const run = runs.get(h.node);
        if (!run) throw new Error(`node "${node.id}" reads "${h.node}", which has not run before it`);
        return run.artifact(h.output);
      });
    }
    runs.set(
      node.id,
      await runExecutorForTest(node.spec as ComponentSpec, { parameters: node.options.parameters, inputs, ...(options.modelRegistry ? { modelRegistry: options.modelRegistry } : {}) }),
    );
  }
  return runs;
}
