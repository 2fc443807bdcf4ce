/**
 * Where a run keeps a node's files in the artifact store: one prefix per run and node, so every
 * attempt, on any worker, writes and finds the same place.
 */
export function nodeKey(pipeline: string, runId: string, nodeId: string): string {
  return `pipelines/${pipeline}/runs/${runId}/${nodeId}`;
}

export function outputKey(pipeline: string, runId: string, nodeId: string, output: string): string {
  return `${nodeKey(pipeline, runId, nodeId)}/${output}`;
}

/** Output keys start with a letter (the component registry says so), so this name never meets an output's. */
export function checkpointsKey(pipeline: string, runId: string, nodeId: string): string {
  return `${nodeKey(pipeline, runId, nodeId)}/_checkpoints`;
}
