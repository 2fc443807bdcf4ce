import { z } from 'zod';
import type { ArtifactType } from '../artifacts/artifact-types';
import type { ResourceClass, RetryPolicy, Timeouts } from './ir';

export interface InputSpec {
  type: ArtifactType;
  optional?: boolean;
  /** Accepts several artifacts (e.g. several Examples to merge). */
  multiple?: boolean;
}

/**
 * A component spec, kept apart from its executor as TFX does: the compiler, the cache and the docs
 * read the spec alone; the executor is a module path resolved on the worker that runs it.
 */
export interface ComponentSpec<
  P extends z.ZodType = z.ZodType,
  I extends Record<string, InputSpec> = Record<string, InputSpec>,
  O extends Record<string, ArtifactType> = Record<string, ArtifactType>,
> {
  type: string;
  /** Bump when the executor's behaviour changes: it is part of the cache fingerprint. */
  version: string;
  description: string;
  parameters: P;
  inputs: I;
  outputs: O;
  defaultResource: ResourceClass;
  /** Absolute path of the compiled JS module exporting the executor (run off the event loop). */
  executorModule: string;
  /** Export name in `executorModule`; default `executor`. */
  executorExport?: string;
  /**
   * Parameters naming files whose content belongs in the cache key: input data (a path or glob),
   * user modules. Without this a node reading a refreshed file at the same path would hit the cache.
   */
  contentParameters?: string[];
}

export interface OutputHandle {
  readonly node: string;
  readonly output: string;
  readonly type: ArtifactType;
}

export interface NodeOptions<P extends z.ZodType, I extends Record<string, InputSpec>> {
  parameters?: z.input<P>;
  inputs?: { [K in keyof I]?: OutputHandle | OutputHandle[] };
  resource?: ResourceClass;
  cache?: boolean;
  retry?: Partial<RetryPolicy>;
  timeouts?: Partial<Timeouts>;
}

export interface NodeHandle<O extends Record<string, ArtifactType> = Record<string, ArtifactType>> {
  readonly id: string;
  readonly spec: ComponentSpec;
  readonly options: NodeOptions<z.ZodType, Record<string, InputSpec>>;
  readonly outputs: { readonly [K in keyof O]: OutputHandle };
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
    ) as { [K in keyof O]: OutputHandle };
    return {
      id,
      spec: spec as unknown as ComponentSpec,
      options: options as NodeOptions<z.ZodType, Record<string, InputSpec>>,
      outputs,
    };
  };
  return Object.assign(factory, { spec });
}
