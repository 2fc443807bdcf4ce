import path from 'node:path';
import type { ComponentSpec } from '../dsl/component';

/** A component module that cannot be loaded, or components that clash: the user's to fix. */
export class ComponentRegistryError extends Error {
  override name = 'ComponentRegistryError';
}

/** Components a worker can run and the compiler accepts, by type. */
export class ComponentRegistry implements ReadonlyMap<string, ComponentSpec> {
  private readonly specs = new Map<string, ComponentSpec>();

  constructor(specs: Iterable<ComponentSpec> = []) {
    for (const spec of specs) this.register(spec);
  }

  register(spec: ComponentSpec): void {
    const existing = this.specs.get(spec.type);
    if (existing && (existing.executorModule !== spec.executorModule || existing.version !== spec.version)) {
      throw new ComponentRegistryError(
        `component type '${spec.type}' is registered twice with different executors (${existing.executorModule}@${existing.version} and ${spec.executorModule}@${spec.version})`,
      );
    }
    this.specs.set(spec.type, spec);
  }

  /** Registers every component factory (anything with a `spec`) exported by a module. */
  registerModule(modulePath: string): number {
    const resolved = path.resolve(modulePath);
    let mod: Record<string, unknown>;
    try {
      mod = require(resolved) as Record<string, unknown>;
    } catch (err) {
      throw new ComponentRegistryError(`component module ${resolved}: cannot load it (${(err as Error).message.split('\n')[0]})`);
    }
    let count = 0;
    for (const value of Object.values(mod)) {
      const spec = (value as { spec?: unknown } | null)?.spec;
      if (isComponentSpec(spec)) {
        this.register(spec);
        count++;
      }
    }
    if (count === 0) throw new ComponentRegistryError(`${resolved}: exports no components (expected values made by defineComponent)`);
    return count;
  }

  require(type: string): ComponentSpec {
    const spec = this.specs.get(type);
    if (!spec) {
      throw new Error(
        `component '${type}' is not registered on this worker (known: ${[...this.specs.keys()].sort().join(', ')}); start the worker with --components <module> that exports it`,
      );
    }
    return spec;
  }

  get size(): number {
    return this.specs.size;
  }
  get(type: string): ComponentSpec | undefined {
    return this.specs.get(type);
  }
  has(type: string): boolean {
    return this.specs.has(type);
  }
  forEach(cb: (value: ComponentSpec, key: string, map: ReadonlyMap<string, ComponentSpec>) => void): void {
    this.specs.forEach((v, k) => cb(v, k, this));
  }
  entries(): MapIterator<[string, ComponentSpec]> {
    return this.specs.entries();
  }
  keys(): MapIterator<string> {
    return this.specs.keys();
  }
  values(): MapIterator<ComponentSpec> {
    return this.specs.values();
  }
  [Symbol.iterator](): MapIterator<[string, ComponentSpec]> {
    return this.specs[Symbol.iterator]();
  }
}

export function isComponentSpec(value: unknown): value is ComponentSpec {
  const v = value as Partial<ComponentSpec> | null;
  return (
    !!v &&
    typeof v.type === 'string' &&
    typeof v.version === 'string' &&
    typeof v.executorModule === 'string' &&
    typeof v.outputs === 'object' &&
    typeof v.inputs === 'object' &&
    typeof (v.parameters as { safeParse?: unknown } | undefined)?.safeParse === 'function'
  );
}
