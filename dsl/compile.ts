import type { z } from 'zod';
import { ArtifactTypeSchema } from '../artifacts/artifact-types';
import { describeIssues, issueLines, issuePath } from './zod-issues';
import type { ComponentSpec, NodeHandle, OutputHandle } from './component';
import {
  NODE_ID_PATTERN,
  OUTPUT_KEY_PATTERN,
  PipelineSpecSchema,
  PipelineSpecShapeSchema,
  ApprovalSchema,
  RetryPolicySchema,
  TimeoutsSchema,
  type InputRef,
  type NodeSpec,
  type PipelineSpec,
} from './ir';

/** What a pipeline module exports (TFX's `Pipeline(components=[...])`). */
export interface PipelineDefinition {
  name: string;
  nodes: NodeHandle[];
  description?: string;
}

export function pipeline(definition: PipelineDefinition): PipelineDefinition {
  return definition;
}

export class PipelineCompileError extends Error {
  override name = 'PipelineCompileError';
  constructor(readonly problems: string[]) {
    super(`pipeline definition is invalid:\n  ${problems.join('\n  ')}`);
  }
}

/** Components the compiler accepts, by type. Unknown component types are rejected. */
export type ComponentRegistry = ReadonlyMap<string, ComponentSpec>;

function describeZodIssues(prefix: string, error: z.ZodError): string[] {
  return issueLines(error, prefix, (i) => (i.path.length ? `${prefix}.${issuePath(i.path)}` : prefix));
}

function asArray(value: OutputHandle | OutputHandle[] | undefined): OutputHandle[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * Compiles a pipeline definition to the JSON IR: validates parameters against each component's
 * schema, wiring against declared inputs/outputs and types, and orders nodes topologically.
 * Every problem is collected and reported with the node and field it concerns.
 */
export function compilePipeline(definition: PipelineDefinition, registry?: ComponentRegistry): PipelineSpec {
  const problems: string[] = [];
  const byId = new Map<string, NodeHandle>();
  for (const node of definition.nodes) {
    if (!NODE_ID_PATTERN.test(node.id)) {
      problems.push(`node '${node.id}': id must start with a letter and use letters, digits, _ and - (max 63)`);
    }
    if (byId.has(node.id)) problems.push(`node '${node.id}': duplicate node id`);
    byId.set(node.id, node);
  }

  const specs: NodeSpec[] = [];
  for (const node of definition.nodes) {
    const where = `node '${node.id}'`;
    const spec = node.spec;
    const known = registry?.get(spec.type);
    if (registry && !known) {
      problems.push(`${where}: unknown component '${spec.type}' (known: ${[...registry.keys()].sort().join(', ')})`);
      continue;
    }
    const params = spec.parameters.safeParse(node.options.parameters ?? {});
    if (!params.success) problems.push(...describeZodIssues(`${where} parameters`, params.error));
    const declared = [...Object.entries(spec.outputs).map(([k, t]) => [`outputs.${k}`, t]), ...Object.entries(spec.inputs).map(([k, i]) => [`inputs.${k}`, i.type])];
    for (const key of Object.keys(spec.outputs)) {
      if (!OUTPUT_KEY_PATTERN.test(key)) problems.push(`${where}: component ${spec.type} declares output '${key}': output keys start with a letter and use letters, digits, _ and -`);
    }
    for (const [field, type] of declared) {
      const named = ArtifactTypeSchema.safeParse(type);
      if (!named.success) problems.push(`${where}: component ${spec.type} declares ${field} of type '${String(type)}': ${describeIssues(named.error, '')}`);
    }

    const inputs: Record<string, InputRef[]> = {};
    const given = node.options.inputs ?? {};
    for (const key of Object.keys(given)) {
      if (!(key in spec.inputs)) {
        problems.push(`${where} inputs.${key}: component ${spec.type} has no input '${key}' (inputs: ${Object.keys(spec.inputs).join(', ') || 'none'})`);
      }
    }
    for (const [key, inputSpec] of Object.entries(spec.inputs)) {
      const handles = asArray(given[key]);
      if (handles.length === 0 && !inputSpec.optional) {
        problems.push(`${where} inputs.${key}: required input of type ${inputSpec.type} is not wired`);
      }
      if (handles.length > 1 && !inputSpec.multiple) {
        problems.push(`${where} inputs.${key}: takes one artifact, got ${handles.length}`);
      }
      for (const h of handles) {
        const upstream = byId.get(h.node);
        if (!upstream) {
          problems.push(`${where} inputs.${key}: refers to node '${h.node}', which is not in the pipeline`);
          continue;
        }
        const outType = upstream.spec.outputs[h.output];
        if (outType === undefined) {
          problems.push(`${where} inputs.${key}: node '${h.node}' has no output '${h.output}'`);
        } else if (outType !== inputSpec.type) {
          problems.push(`${where} inputs.${key}: expects ${inputSpec.type}, but '${h.node}.${h.output}' is ${outType}`);
        }
      }
      if (handles.length > 0) inputs[key] = handles.map((h) => ({ node: h.node, output: h.output }));
    }

    const retry = RetryPolicySchema.safeParse(node.options.retry ?? {});
    if (!retry.success) problems.push(...describeZodIssues(`${where} retry`, retry.error));
    const timeouts = TimeoutsSchema.safeParse(node.options.timeouts ?? {});
    if (!timeouts.success) problems.push(...describeZodIssues(`${where} timeouts`, timeouts.error));
    const approval = node.options.approval === undefined ? undefined : ApprovalSchema.safeParse(node.options.approval);
    if (approval && !approval.success) problems.push(...describeZodIssues(`${where} approval`, approval.error));
    const resource = node.options.resource ?? spec.defaultResource;
    if (resource !== 'cpu' && resource !== 'gpu') problems.push(`${where} resource: expected 'cpu' or 'gpu', got '${String(resource)}'`);

    if (params.success && retry.success && timeouts.success && (!approval || approval.success)) {
      specs.push({
        id: node.id,
        component: spec.type,
        parameters: params.data as Record<string, unknown>,
        inputs,
        outputs: { ...spec.outputs },
        resource,
        retry: retry.data,
        timeouts: timeouts.data,
        cache: node.options.cache ?? true,
        ...(approval?.success ? { approval: approval.data } : {}),
      });
    }
  }

  const ordered = problems.length === 0 ? topologicalOrder(specs, problems) : [];
  if (problems.length > 0) throw new PipelineCompileError(problems);

  const parsed = PipelineSpecSchema.safeParse({ irVersion: 1, name: definition.name, nodes: ordered });
  if (!parsed.success) throw new PipelineCompileError(describeZodIssues('pipeline', parsed.error));
  assertJsonSerialisable(parsed.data);
  return parsed.data;
}

/** Kahn's algorithm, stable in declaration order; a cycle is reported with the nodes on it. */
function topologicalOrder(nodes: NodeSpec[], problems: string[]): NodeSpec[] {
  const remaining = new Map(nodes.map((n) => [n.id, n]));
  const ordered: NodeSpec[] = [];
  const done = new Set<string>();
  while (remaining.size > 0) {
    const ready = [...remaining.values()].filter((n) =>
      Object.values(n.inputs).every((refs) => refs.every((r) => done.has(r.node))),
    );
    if (ready.length === 0) {
      problems.push(`cycle between nodes: ${describeCycle(remaining)}`);
      return [];
    }
    for (const n of ready) {
      ordered.push(n);
      done.add(n.id);
      remaining.delete(n.id);
    }
  }
  return ordered;
}

function describeCycle(remaining: Map<string, NodeSpec>): string {
  const start = remaining.keys().next().value as string;
  const path: string[] = [];
  const seen = new Set<string>();
  let cur: string | undefined = start;
  while (cur !== undefined && !seen.has(cur)) {
    seen.add(cur);
    path.push(cur);
    const node: NodeSpec | undefined = remaining.get(cur);
    cur = node ? Object.values(node.inputs).flat().map((r) => r.node).find((id) => remaining.has(id)) : undefined;
  }
  if (cur !== undefined) path.push(cur);
  return path.reverse().join(' -> ');
}

function assertJsonSerialisable(spec: PipelineSpec): void {
  for (const node of spec.nodes) {
    try {
      const text = JSON.stringify(node.parameters);
      if (JSON.stringify(JSON.parse(text)) !== text) throw new Error('parameters change through JSON');
    } catch (err) {
      throw new PipelineCompileError([`node '${node.id}' parameters: must be plain JSON (${(err as Error).message})`]);
    }
  }
}

/**
 * Validates a PipelineSpec that arrives as JSON (a file, a schedule's stored IR): shape, known
 * components and their parameters, wiring to existing outputs, and no cycles.
 */
export function validatePipelineSpec(json: unknown, registry: ComponentRegistry): PipelineSpec {
  const parsed = PipelineSpecShapeSchema.safeParse(json);
  if (!parsed.success) throw new PipelineCompileError(describeZodIssues('pipeline', parsed.error));
  const spec = parsed.data;
  const problems: string[] = [];
  const byId = new Map<string, NodeSpec>();
  for (const node of spec.nodes) {
    if (byId.has(node.id)) problems.push(`node '${node.id}': duplicate node id`);
    byId.set(node.id, node);
  }
  for (const node of spec.nodes) {
    const where = `node '${node.id}'`;
    const component = registry.get(node.component);
    if (!component) {
      problems.push(`${where}: unknown component '${node.component}' (known: ${[...registry.keys()].sort().join(', ')})`);
      continue;
    }
    const params = component.parameters.safeParse(node.parameters);
    if (!params.success) problems.push(...describeZodIssues(`${where} parameters`, params.error));
    for (const [key, refs] of Object.entries(node.inputs)) {
      const inputSpec = component.inputs[key];
      if (!inputSpec) problems.push(`${where} inputs.${key}: component ${node.component} has no input '${key}'`);
      for (const ref of refs) {
        const upstream = byId.get(ref.node);
        if (!upstream) problems.push(`${where} inputs.${key}: refers to node '${ref.node}', which is not in the pipeline`);
        else if (!(ref.output in upstream.outputs)) problems.push(`${where} inputs.${key}: node '${ref.node}' has no output '${ref.output}'`);
        else if (inputSpec && upstream.outputs[ref.output] !== inputSpec.type) {
          problems.push(`${where} inputs.${key}: expects ${inputSpec.type}, but '${ref.node}.${ref.output}' is ${upstream.outputs[ref.output]}`);
        }
      }
    }
    for (const [key, inputSpec] of Object.entries(component.inputs)) {
      if (!inputSpec.optional && !(node.inputs[key]?.length)) problems.push(`${where} inputs.${key}: required input of type ${inputSpec.type} is not wired`);
    }
  }
  if (problems.length === 0) {
    const ordered = topologicalOrder(spec.nodes, problems);
    // Parameters as the component parses them (defaults filled in), as the TypeScript compiler writes them.
    const parsed = ordered.map((n) => ({ ...n, parameters: registry.get(n.component)!.parameters.parse(n.parameters) as Record<string, unknown> }));
    if (problems.length === 0) return { ...spec, nodes: parsed };
  }
  throw new PipelineCompileError(problems);
}
