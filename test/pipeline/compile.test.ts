import assert from 'node:assert/strict';
import { compilePipeline, pipeline, validatePipelineSpec, PipelineCompileError } from '../../dsl/compile';
import { PipelineSpecSchema } from '../../dsl/ir';
import type { OutputHandle } from '../../dsl/component';
import { TestStep } from '../fixtures/test-components';
import { testRegistry } from './harness';

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof PipelineCompileError, `expected PipelineCompileError, got ${(err as Error).message}`);
    return err.problems;
  }
  assert.fail('expected the pipeline to be rejected');
}

describe('pipeline compiler', () => {
  const registry = testRegistry();

  it('compiles to a JSON IR in topological order with defaults filled in', () => {
    const a = TestStep('a', { parameters: { label: 'a' } });
    const b = TestStep('b', { inputs: { upstream: a.outputs.out }, resource: 'gpu', cache: false, retry: { maximumAttempts: 7 } });
    const spec = compilePipeline(pipeline({ name: 'p', nodes: [b, a] }), registry);
    assert.deepEqual(spec.nodes.map((n) => n.id), ['a', 'b']);
    const nb = spec.nodes[1]!;
    assert.equal(nb.resource, 'gpu');
    assert.equal(nb.cache, false);
    assert.equal(nb.retry.maximumAttempts, 7);
    assert.deepEqual(nb.inputs, { upstream: [{ node: 'a', output: 'out' }] });
    assert.deepEqual(JSON.parse(JSON.stringify(spec)), spec);
  });

  it('rejects a cycle, naming the nodes on it', () => {
    const fake = (node: string): OutputHandle => ({ node, output: 'out', type: 'Examples' });
    const a = TestStep('a', { inputs: { upstream: fake('c') } });
    const b = TestStep('b', { inputs: { upstream: a.outputs.out } });
    const c = TestStep('c', { inputs: { upstream: b.outputs.out } });
    const problems = problemsOf(() => compilePipeline(pipeline({ name: 'p', nodes: [a, b, c] }), registry));
    assert.match(problems.join('\n'), /cycle between nodes: .*a.*->.*b.*->.*c|cycle between nodes: .*->.*->/);
  });

  it('rejects dangling references, naming node and input', () => {
    const a = TestStep('a', { inputs: { upstream: { node: 'ghost', output: 'out', type: 'Examples' } } });
    const problems = problemsOf(() => compilePipeline(pipeline({ name: 'p', nodes: [a] }), registry));
    assert.deepEqual(problems, ["node 'a' inputs.upstream: refers to node 'ghost', which is not in the pipeline"]);
  });

  it('rejects bad parameters with node and field', () => {
    const a = TestStep('a', { parameters: { ms: -5 } as never });
    const problems = problemsOf(() => compilePipeline(pipeline({ name: 'p', nodes: [a] }), registry));
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^node 'a' parameters\.ms: /);
  });

  it('rejects duplicate and malformed node ids, and unknown inputs', () => {
    const a1 = TestStep('a');
    const a2 = TestStep('a');
    const bad = TestStep('9lives', { inputs: { nope: a1.outputs.out } as never });
    const problems = problemsOf(() => compilePipeline(pipeline({ name: 'p', nodes: [a1, a2, bad] }), registry)).join('\n');
    assert.match(problems, /node 'a': duplicate node id/);
    assert.match(problems, /node '9lives': id must start with a letter/);
    assert.match(problems, /node '9lives' inputs\.nope: component TestStep has no input 'nope'/);
  });

  it('rejects a JSON spec with an unknown component, naming node and component', () => {
    const spec = compilePipeline(pipeline({ name: 'p', nodes: [TestStep('a')] }), registry);
    const json = JSON.parse(JSON.stringify(spec)) as { nodes: Array<{ component: string }> };
    json.nodes[0]!.component = 'TrainerX';
    const problems = problemsOf(() => validatePipelineSpec(json, registry));
    assert.match(problems[0]!, /^node 'a': unknown component 'TrainerX' \(known: .*TestStep/);
  });

  it('the IR schema itself refuses duplicate ids and reads of later or missing nodes (the workflow relies on it)', () => {
    const a = TestStep('a');
    const b = TestStep('b', { inputs: { upstream: a.outputs.out } });
    const spec = compilePipeline(pipeline({ name: 'p', nodes: [a, b] }), registry);
    const messages = (s: unknown) => (PipelineSpecSchema.safeParse(s).error?.issues ?? []).map((i) => i.message).join('\n');
    assert.equal(messages(spec), '');
    assert.match(messages({ ...spec, nodes: [spec.nodes[1], spec.nodes[0]] }), /node 'b' reads 'a', which is not an earlier node/);
    assert.match(messages({ ...spec, nodes: [spec.nodes[0], spec.nodes[0]] }), /duplicate node id 'a'/);
  });

  it('rejects a JSON spec whose wiring has a cycle or a wrong output', () => {
    const a = TestStep('a');
    const b = TestStep('b', { inputs: { upstream: a.outputs.out } });
    const spec = JSON.parse(JSON.stringify(compilePipeline(pipeline({ name: 'p', nodes: [a, b] }), registry))) as {
      nodes: Array<{ id: string; inputs: Record<string, Array<{ node: string; output: string }>> }>;
    };
    spec.nodes[0]!.inputs = { upstream: [{ node: 'b', output: 'out' }] };
    assert.match(problemsOf(() => validatePipelineSpec(spec, registry)).join('\n'), /cycle between nodes/);
    spec.nodes[0]!.inputs = { upstream: [{ node: 'b', output: 'model' }] };
    assert.match(problemsOf(() => validatePipelineSpec(spec, registry)).join('\n'), /node 'a' inputs\.upstream: node 'b' has no output 'model'/);
  });
});
