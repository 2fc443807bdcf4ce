import type { onnx } from './graph';

/**
 * The graph cut down to the named outputs: only the nodes, initializers and inputs they are computed
 * from, in the original order. Cutting one built graph (rather than building a second) keeps the smaller
 * graph's values those of the larger one by construction.
 */
export function pruneGraph(graph: onnx.IGraphProto, outputs: readonly string[]): onnx.IGraphProto {
  const known = new Set((graph.output ?? []).map((o) => o.name));
  const unknown = outputs.filter((name) => !known.has(name));
  if (unknown.length > 0) throw new Error(`pruneGraph: the graph has no output ${unknown.join(', ')}`);
  const needed = new Set<string>(outputs);
  const nodes: onnx.INodeProto[] = [];
  for (const node of [...(graph.node ?? [])].reverse()) {
    if (!(node.output ?? []).some((name) => needed.has(name))) continue;
    nodes.unshift(node);
    for (const input of node.input ?? []) needed.add(input);
  }
  const kept = (name: string | null | undefined): boolean => typeof name === 'string' && needed.has(name);
  return {
    ...graph,
    node: nodes,
    initializer: (graph.initializer ?? []).filter((t) => kept(t.name)),
    input: (graph.input ?? []).filter((i) => kept(i.name)),
    output: outputs.map((name) => graph.output!.find((o) => o.name === name)!),
  };
}
