import type { z } from 'zod';
import type { ArtifactType } from '../artifacts/artifact-types';
import type { ResolveContext, ResolvedInputs } from './resolve';
import type { Approval, ResourceClass, RetryPolicy, Timeouts } from './ir';

export interface InputSpec<T extends ArtifactType = ArtifactType> {
  type: T;
  optional?: boolean;
  /** Accepts several artifacts (e.g. several Examples to merge). */
  multiple?: boolean;
}

/**
 * Where a component's executor lives: a module the worker loads in an executor thread, and its
 * export. Write it with `require.resolve('./executor')` next to the spec: Node (and bundlers) follow
 * that from the sources and from the build alike.
 */
export interface ExecutorRef {
  module: string;
  /** Default `executor`. */
  export?: string;
  /**
   * `thread` (default): a worker thread of the worker, started once and reused. `process`: a child
   * process per run, for work that may crash or leak (native libraries, GPUs) or that runs another
   * program; its stdout and stderr are kept as a log.
   */
  runIn?: 'thread' | 'process';
  /** An output key: the executor process's log is published in that output as `executor.log`. */
  logTo?: string;
}

/**
 * A component spec, kept apart from its executor as TFX does: the compiler, the cache and the docs
 * read the spec alone; the executor is a module loaded on the worker that runs it.
 */
export interface ComponentSpec<
  P extends z.ZodType = z.ZodType,
  I extends Record<string, InputSpec> = Record<string, InputSpec>,
  O extends Record<string, ArtifactType> = Record<string, ArtifactType>,
> {
  /** The component's name in pipelines, metadata and the cache key. */
  type: string;
  /** Bump when the executor's behaviour changes: it is part of the cache key. */
  version: string;
  description: string;
  parameters: P;
  inputs: I;
  /** Output keys and their artifact types: any PascalCase name, built-in or the component's own. */
  outputs: O;
  defaultResource: ResourceClass;
  executor: ExecutorRef;
  /**
   * The executor writes the model registry (the Pusher, `mlpipe models rollback`'s kin): it gets
   * `ctx.modelRegistry`, the worker's metadata store and S3 keys. No other executor sees them.
   */
  writesModelRegistry?: boolean;
  /**
   * Looks up what the node reads before it runs (files and their content hashes, artifacts from the
   * metadata store), in the control step. What it returns is part of the cache key, is recorded with
   * the execution, and reaches the executor as `ctx.resolved`.
   */
  resolve?(ctx: ResolveContext<z.output<P>>): Promise<ResolvedInputs>;
}

export interface OutputHandle<T extends ArtifactType = ArtifactType> {
  readonly node: string;
  readonly output: string;
  readonly type: T;
}

export interface NodeOptions<P extends z.ZodType, I extends Record<string, InputSpec>> {
  parameters?: z.input<P>;
  /** Each input takes outputs of its declared artifact type (the pipeline compiler checks it). */
  inputs?: { [K in keyof I]?: OutputHandle | OutputHandle[] };
  resource?: ResourceClass;
  cache?: boolean;
  retry?: Partial<RetryPolicy>;
  timeouts?: Partial<Timeouts>;
  /** Wait for a person's `mlpipe approve` before the node runs (not when it is a cache hit). */
  approval?: Partial<Approval>;
}

export interface NodeHandle<O extends Record<string, ArtifactType> = Record<string, ArtifactType>> {
  readonly id: string;
  readonly spec: ComponentSpec;
  readonly options: NodeOptions<z.ZodType, Record<string, InputSpec>>;
  readonly outputs: { readonly [K in keyof O]: OutputHandle<O[K]> };
}

export type ComponentFactory<
  P extends z.ZodType,
  I extends Record<string, InputSpec>,
  O extends Record<string, ArtifactType>,
> = ((id: string, options?: NodeOptions<P, I>) => NodeHandle<O>) & { spec: ComponentSpec<P, I, O> };

/** Declares a component; the result makes pipeline nodes: `ExampleGen('gen', { parameters })`. */
export function defineComponent<
  P extends z.ZodType,
  I extends Record<string, InputSpec>,
  O extends Record<string, ArtifactType>,
>(spec: ComponentSpec<P, I, O>): ComponentFactory<P, I, O> {
  const factory = (id: string, options: NodeOptions<P, I> = {}): NodeHandle<O> => {
    const outputs = Object.fromEntries(
      Object.entries(spec.outputs).map(([key, type]) => [key, { node: id, output: key, type }]),
    ) as { [K in keyof O]: OutputHandle<O[K]> };
    return {
      id,
      spec: spec as unknown as ComponentSpec,
      options: options as NodeOptions<z.ZodType, Record<string, InputSpec>>,
      outputs,
    };
  };
  return Object.assign(factory, { spec });
}
