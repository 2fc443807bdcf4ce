import type { ArtifactRecord, ExecutionInfo, LineageEvent, LineageGraph } from './records';
import { shortHash, spanSuffix } from './text-format';

function artifactLabel(a: ArtifactRecord): string {
  return `${a.type} #${a.id} · ${a.state} · ${a.uri}${spanSuffix(a.properties)}`;
}

function executionLabel(e: ExecutionInfo): string {
  const cached = e.cachedFrom !== null ? ` (cached from execution #${e.cachedFrom})` : '';
  return `execution #${e.id} ${e.component} · node ${e.nodeId} · run ${e.runId} · ${e.state}${cached}`;
}

function byKeyThenIndex(a: LineageEvent, b: LineageEvent): number {
  return a.key.localeCompare(b.key) || a.index - b.index;
}

function keyLabel(ev: LineageEvent, siblings: readonly LineageEvent[]): string {
  return siblings.some((o) => o !== ev && o.key === ev.key) ? `${ev.key}[${ev.index}]` : ev.key;
}

/** Resolved only when printed, so "shown above" refers to what really is above. */
type Node = () => { label: string; children: () => Node[] };

function render(nodes: Node[], prefix: string, out: string[]): void {
  nodes.forEach((node, i) => {
    const last = i === nodes.length - 1;
    const { label, children } = node();
    out.push(`${prefix}${last ? '└─ ' : '├─ '}${label}`);
    render(children(), `${prefix}${last ? '   ' : '│  '}`, out);
  });
}

/**
 * The text `mlpipe lineage <artifact>` prints: the focus artifact, then the executions that produced it
 * and their inputs, recursively (upstream), then the executions that consumed it and what they
 * produced, recursively (downstream). An execution reached twice is expanded once.
 */
export function formatLineage(graph: LineageGraph, focus: number): string {
  const artifacts = new Map(graph.artifacts.map((a) => [a.id, a]));
  const executions = new Map(graph.executions.map((e) => [e.id, e]));
  const root = artifacts.get(focus);
  if (!root) throw new Error(`formatLineage: artifact #${focus} is not part of this lineage graph`);
  const events = (pred: (e: LineageEvent) => boolean) => graph.events.filter(pred).sort(byKeyThenIndex);
  const expanded = new Set<number>();

  const executionNode = (id: number, prefix: string, next: (e: ExecutionInfo) => Node[]): Node => () => {
    const e = executions.get(id);
    if (!e) return { label: `${prefix}execution #${id}`, children: () => [] };
    if (expanded.has(id)) return { label: `${prefix}${executionLabel(e)} (shown above)`, children: () => [] };
    expanded.add(id);
    return { label: `${prefix}${executionLabel(e)}`, children: () => next(e) };
  };
  const artifactNode =
    (ev: LineageEvent, siblings: readonly LineageEvent[], next: (a: ArtifactRecord) => Node[]): Node =>
    () => {
      const a = artifacts.get(ev.artifactId);
      const label = `${keyLabel(ev, siblings)}: ${a ? artifactLabel(a) : `artifact #${ev.artifactId}`}`;
      return { label, children: () => (a ? next(a) : []) };
    };

  const producersOf = (a: ArtifactRecord): Node[] =>
    [...new Set(events((ev) => ev.kind === 'output' && ev.artifactId === a.id).map((ev) => ev.executionId))].map((id) =>
      executionNode(id, '', (e) => {
        const inputs = events((ev) => ev.kind === 'input' && ev.executionId === e.id);
        return inputs.map((ev) => artifactNode(ev, inputs, producersOf));
      }),
    );
  const consumersOf = (a: ArtifactRecord): Node[] =>
    events((ev) => ev.kind === 'input' && ev.artifactId === a.id).map((use) =>
      executionNode(use.executionId, `as ${use.key} → `, (e) => {
        const outputs = events((ev) => ev.kind === 'output' && ev.executionId === e.id);
        return outputs.map((ev) => artifactNode(ev, outputs, consumersOf));
      }),
    );

  const out = [artifactLabel(root), `  content ${shortHash(root.contentHash)}`];
  const depthNote = graph.depth === null ? '' : ` (up to ${graph.depth} execution${graph.depth === 1 ? '' : 's'} away)`;
  if (graph.direction !== 'down') {
    out.push('', `Upstream: what produced it${depthNote}`);
    const producers = producersOf(root);
    if (producers.length === 0) out.push('   (no recorded execution produced it: an external input)');
    render(producers, '', out);
  }
  if (graph.direction !== 'up') {
    out.push('', `Downstream: what it fed${depthNote}`);
    const consumers = consumersOf(root);
    if (consumers.length === 0) out.push('   (no recorded execution has consumed it yet)');
    render(consumers, '', out);
  }
  return out.join('\n');
}
