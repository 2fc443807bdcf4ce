import { UserInputError } from '../dsl/executor';
import { decodeModel, onnx } from './graph';
import { canonicalDomain, checkOpsetUpgrade } from './opset-upgrade';
import { pruneGraph } from './prune-graph';

/** One connection: the first graph's output `from` feeds the second graph's input `to`. */
export interface Wire {
  from: string;
  to: string;
}

export interface ComposeOptions {
  /** Prefixes of the two graphs' inner names (default `a/` and `b/`): what keeps them apart. */
  prefixes?: { first: string; second: string };
  /** How each graph is named in messages (default `the first graph`, `the second graph`). */
  names?: { first: string; second: string };
  graphName?: string;
  producerName?: string;
}

/**
 * One model: `second` fed by `first`. Every input of the second graph must be wired from an output of
 * the first, of the same element type and with no fixed dimension that disagrees. The composed graph's
 * inputs are the first graph's inputs under their own names (all of them, used or not, so callers keep
 * one request format); its outputs are the second graph's outputs under their own names. Every other name
 * (node outputs, initializers, value infos, node names, subgraph names) gets its graph's prefix, so the
 * two graphs' names never meet. Nodes that only computed unwired outputs of the first graph are dropped.
 *
 * One opset per domain: the newer of the two imports, after checking (opset-upgrade.ts) that the nodes of
 * the graph that imported the older one mean the same at the newer; otherwise refused naming the
 * operator. `ir_version` is the newer of the two. Model-local functions of both are kept (the same name
 * twice is refused); metadata_props are not carried over.
 */
export function composeGraphs(first: Uint8Array, second: Uint8Array, wiring: readonly Wire[], options: ComposeOptions = {}): Uint8Array {
  const names = options.names ?? { first: 'the first graph', second: 'the second graph' };
  const prefixes = options.prefixes ?? { first: 'a/', second: 'b/' };
  if (prefixes.first === prefixes.second) throw new Error(`composeGraphs: both graphs have the prefix '${prefixes.first}'`);
  const a = decodeModel(first);
  const b = decodeModel(second);
  const ga = a.graph ?? {};
  const gb = b.graph ?? {};
  const sources = checkWiring(ga, gb, wiring, names);

  const firstInputs = new Set((ga.input ?? []).map((i) => i.name ?? ''));
  const renameFirst = (name: string): string => (name === '' || firstInputs.has(name) ? name : prefixes.first + name);
  const secondOutputs = new Set((gb.output ?? []).map((o) => o.name ?? ''));
  const secondInputs = new Set(sources.keys());
  const initializersB = new Set((gb.initializer ?? []).map((t) => t.name ?? ''));
  const renameSecond = (name: string): string => {
    if (name === '') return name;
    const source = sources.get(name);
    if (source !== undefined && !initializersB.has(name)) return renameFirst(source);
    return secondOutputs.has(name) ? name : prefixes.second + name;
  };

  const wiredOutputs = wiring.map((w) => w.from);
  const prunedA: onnx.IGraphProto = { ...pruneGraph(ga, [...new Set(wiredOutputs)]), input: ga.input ?? [] };
  const renamedA = renameGraph(prunedA, renameFirst, prefixes.first);
  // A second-graph output that is one of its inputs (or the same value twice) would name a value that
  // now has another name: an Identity gives it its own.
  const passthroughs: onnx.INodeProto[] = (gb.output ?? [])
    .filter((o) => secondInputs.has(o.name ?? '') && !initializersB.has(o.name ?? ''))
    .map((o) => ({ opType: 'Identity', domain: '', name: `${prefixes.second}output_${o.name}`, input: [renameSecond(o.name ?? '')], output: [o.name ?? ''] }));
  const renamedB = renameGraph({ ...gb, input: [] }, renameSecond, prefixes.second);

  const graph: onnx.IGraphProto = {
    name: options.graphName ?? `${ga.name ?? 'first'}+${gb.name ?? 'second'}`,
    node: [...(renamedA.node ?? []), ...(renamedB.node ?? []), ...passthroughs],
    initializer: [...(renamedA.initializer ?? []), ...(renamedB.initializer ?? [])],
    sparseInitializer: [...(renamedA.sparseInitializer ?? []), ...(renamedB.sparseInitializer ?? [])],
    // The first graph's wired outputs are inner values now; their types stay known (a graph input passed through is typed already).
    valueInfo: [...(renamedA.valueInfo ?? []), ...(renamedA.output ?? []), ...(renamedB.valueInfo ?? [])].filter(
      (v) => !secondOutputs.has(v.name ?? '') && !firstInputs.has(v.name ?? ''),
    ),
    quantizationAnnotation: [...(renamedA.quantizationAnnotation ?? []), ...(renamedB.quantizationAnnotation ?? [])],
    input: renamedA.input ?? [],
    output: gb.output ?? [],
  };
  refuseDuplicateNames(graph, names);
  return onnx.ModelProto.encode({
    irVersion: Math.max(Number(a.irVersion ?? 0), Number(b.irVersion ?? 0)),
    producerName: options.producerName ?? 'mlpipe-compose',
    opsetImport: mergeOpsets(a, b, names),
    functions: mergeFunctions(a, b),
    graph,
  }).finish();
}

/** The second graph's inputs by the first graph's outputs that feed them; refuses unknown, unwired, twice-wired or mistyped ends. */
function checkWiring(ga: onnx.IGraphProto, gb: onnx.IGraphProto, wiring: readonly Wire[], names: { first: string; second: string }): Map<string, string> {
  const outputs = new Map((ga.output ?? []).map((o) => [o.name ?? '', o]));
  const inputs = new Map((gb.input ?? []).map((i) => [i.name ?? '', i]));
  const list = (m: Map<string, unknown>) => [...m.keys()].map((n) => `'${n}'`).join(', ');
  const sources = new Map<string, string>();
  for (const { from, to } of wiring) {
    const out = outputs.get(from);
    if (!out) throw new UserInputError(`${names.first} has no output '${from}' (it has ${list(outputs)})`);
    const input = inputs.get(to);
    if (!input) throw new UserInputError(`${names.second} has no input '${to}' (it has ${list(inputs)})`);
    if (sources.has(to)) throw new UserInputError(`${names.second}'s input '${to}' is wired twice ('${sources.get(to)}' and '${from}')`);
    const mismatch = typeMismatch(out.type, input.type);
    if (mismatch) throw new UserInputError(`${names.first}'s output '${from}' cannot feed ${names.second}'s input '${to}': ${mismatch}`);
    sources.set(to, from);
  }
  const initializers = new Set((gb.initializer ?? []).map((t) => t.name ?? ''));
  const unwired = [...inputs.keys()].filter((name) => !sources.has(name) && !initializers.has(name));
  if (unwired.length > 0) throw new UserInputError(`${names.second}'s inputs ${unwired.map((n) => `'${n}'`).join(', ')} are fed by nothing (wire them from ${names.first}'s outputs ${list(outputs)})`);
  return sources;
}

const ELEMENT_TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(onnx.TensorProto.DataType).map(([name, value]) => [value, name.toLowerCase()]),
);

/** Tensor types; shapes as `[batch, 3]` with a symbolic or unknown dim as its name or `?`. */
export function describeType(type: onnx.ITypeProto | null | undefined): string {
  const tensor = type?.tensorType;
  if (!tensor) return 'a non-tensor value';
  const dims = tensor.shape ? `[${(tensor.shape.dim ?? []).map((d) => (d.dimValue != null ? String(d.dimValue) : d.dimParam || '?')).join(', ')}]` : '[any shape]';
  return `${ELEMENT_TYPE_NAMES[tensor.elemType ?? 0] ?? `type ${tensor.elemType}`} ${dims}`;
}

/** Why a value of type `from` cannot feed an input of type `to` (element type, rank, a fixed dim), or undefined. */
export function typeMismatch(from: onnx.ITypeProto | null | undefined, to: onnx.ITypeProto | null | undefined): string | undefined {
  const a = from?.tensorType;
  const b = to?.tensorType;
  if (!a || !b) return a || b ? `${describeType(from)} against ${describeType(to)}` : undefined;
  if ((a.elemType ?? 0) !== (b.elemType ?? 0)) return `it is ${describeType(from)}, the input takes ${describeType(to)}`;
  if (!a.shape || !b.shape) return undefined;
  const da = a.shape.dim ?? [];
  const db = b.shape.dim ?? [];
  if (da.length !== db.length) return `it is ${describeType(from)}, the input takes ${describeType(to)}`;
  const fixed = (d: onnx.TensorShapeProto.IDimension) => (d.dimValue != null ? Number(d.dimValue) : undefined);
  const clash = da.findIndex((d, i) => fixed(d) !== undefined && fixed(db[i]!) !== undefined && fixed(d) !== fixed(db[i]!));
  return clash >= 0 ? `it is ${describeType(from)}, the input takes ${describeType(to)} (dimension ${clash} differs)` : undefined;
}

/** The graph with every value name through `rename` and node and subgraph names prefixed, subgraphs included. */
function renameGraph(graph: onnx.IGraphProto, rename: (name: string) => string, prefix: string): onnx.IGraphProto {
  const valueInfo = (v: onnx.IValueInfoProto): onnx.IValueInfoProto => ({ ...v, name: rename(v.name ?? '') });
  const tensor = (t: onnx.ITensorProto): onnx.ITensorProto => ({ ...t, name: rename(t.name ?? '') });
  return {
    ...graph,
    name: prefix + (graph.name ?? ''),
    node: (graph.node ?? []).map((node) => ({
      ...node,
      name: node.name ? prefix + node.name : node.name,
      input: (node.input ?? []).map(rename),
      output: (node.output ?? []).map(rename),
      attribute: (node.attribute ?? []).map((attr) => ({
        ...attr,
        ...(attr.g ? { g: renameGraph(attr.g, rename, prefix) } : {}),
        ...(attr.graphs && attr.graphs.length > 0 ? { graphs: attr.graphs.map((g) => renameGraph(g, rename, prefix)) } : {}),
      })),
    })),
    initializer: (graph.initializer ?? []).map(tensor),
    sparseInitializer: (graph.sparseInitializer ?? []).map((s) => ({ ...s, values: s.values ? tensor(s.values) : s.values })),
    input: (graph.input ?? []).map(valueInfo),
    output: (graph.output ?? []).map(valueInfo),
    valueInfo: (graph.valueInfo ?? []).map(valueInfo),
    quantizationAnnotation: (graph.quantizationAnnotation ?? []).map((q) => ({ ...q, tensorName: rename(q.tensorName ?? '') })),
  };
}

/** A name given twice (a raw feature named as a final output, say) would make the model invalid. */
function refuseDuplicateNames(graph: onnx.IGraphProto, names: { first: string; second: string }): void {
  const seen = new Set<string>();
  const defined = [
    ...(graph.input ?? []).map((i) => i.name ?? ''),
    ...(graph.initializer ?? []).map((t) => t.name ?? ''),
    ...(graph.node ?? []).flatMap((n) => n.output ?? []).filter((n) => n !== ''),
  ];
  for (const name of defined) {
    if (seen.has(name)) {
      throw new UserInputError(`composing ${names.first} with ${names.second}: the name '${name}' would be given twice (an input of ${names.first} named as an output of ${names.second}?)`);
    }
    seen.add(name);
  }
}

function opsetsOf(model: onnx.IModelProto): Map<string, number> {
  const opsets = new Map<string, number>();
  for (const o of model.opsetImport ?? []) {
    const domain = canonicalDomain(o.domain);
    opsets.set(domain, Math.max(opsets.get(domain) ?? 0, Number(o.version ?? 0)));
  }
  return opsets;
}

function mergeOpsets(a: onnx.IModelProto, b: onnx.IModelProto, names: { first: string; second: string }): onnx.IOperatorSetIdProto[] {
  const oa = opsetsOf(a);
  const ob = opsetsOf(b);
  const domains = [...new Set([...oa.keys(), ...ob.keys()])].sort();
  return domains.map((domain) => {
    const va = oa.get(domain);
    const vb = ob.get(domain);
    if (va !== undefined && vb !== undefined && va !== vb) {
      const [older, which, from, to] = va < vb ? [a, names.first, va, vb] : [b, names.second, vb, va];
      checkOpsetUpgrade(older.graph ?? {}, domain, from, to, which);
    }
    return { domain, version: Math.max(va ?? 0, vb ?? 0) };
  });
}

function mergeFunctions(a: onnx.IModelProto, b: onnx.IModelProto): onnx.IFunctionProto[] {
  const functions = [...(a.functions ?? []), ...(b.functions ?? [])];
  const keys = new Set<string>();
  for (const f of functions) {
    const key = `${f.domain ?? ''}.${f.name ?? ''}`;
    if (keys.has(key)) throw new UserInputError(`both graphs define the model-local function ${key}; compose graphs whose functions have distinct names`);
    keys.add(key);
  }
  return functions;
}
