import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ComponentSpec } from '../dsl/component';
import { OUTPUT_KEY_PATTERN } from '../dsl/ir';

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

  /**
   * Adds a component. The same component reached again (through the sources under tsx and through
   * the build, say) keeps the first registration; another component claiming a registered type is
   * refused.
   */
  register(spec: ComponentSpec): void {
    const { logTo, runIn } = spec.executor;
    if (runIn !== undefined && runIn !== 'thread' && runIn !== 'process') {
      throw new ComponentRegistryError(`component '${spec.type}': executor.runIn is '${String(runIn)}'; expected 'thread' or 'process'`);
    }
    for (const key of Object.keys(spec.outputs)) {
      if (!OUTPUT_KEY_PATTERN.test(key)) {
        throw new ComponentRegistryError(`component '${spec.type}': output key '${key}' must start with a letter and hold only letters, digits, _ and - (it names a directory in the store)`);
      }
    }
    if (logTo !== undefined && !(logTo in spec.outputs)) {
      throw new ComponentRegistryError(`component '${spec.type}': executor.logTo '${logTo}' is not one of its outputs (${Object.keys(spec.outputs).join(', ')})`);
    }
    if (logTo !== undefined && runIn !== 'process') {
      throw new ComponentRegistryError(`component '${spec.type}': executor.logTo needs runIn: 'process' (only an executor process has a log of its own)`);
    }
    const existing = this.specs.get(spec.type);
    if (!existing) {
      this.specs.set(spec.type, spec);
      return;
    }
    if (existing.version !== spec.version || !sameModule(existing.executor.module, spec.executor.module) || exportOf(existing) !== exportOf(spec)) {
      throw new ComponentRegistryError(
        `component type '${spec.type}' is registered twice with different executors (${describe(existing)} and ${describe(spec)})`,
      );
    }
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
    return this.registerExports(mod, resolved);
  }

  /** Registers every component factory among a module's exports; `from` names the module in errors. */
  registerExports(exports: Record<string, unknown>, from: string): number {
    let count = 0;
    for (const value of Object.values(exports)) {
      const spec = (value as { spec?: unknown } | null)?.spec;
      if (isComponentSpec(spec)) {
        this.register(spec);
        count++;
      }
    }
    if (count === 0) throw new ComponentRegistryError(`${from}: exports no components (expected values made by defineComponent)`);
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

const exportOf = (spec: ComponentSpec) => spec.executor.export ?? 'executor';
const describe = (spec: ComponentSpec) => `${spec.executor.module}#${exportOf(spec)}@${spec.version}`;

/**
 * The source file a module was compiled from, as its source map names it (a module without one is
 * its own source): `dist/components/x/executor.js` and `components/x/executor.ts` are one module.
 */
function sourceOf(file: string): string {
  try {
    const map = JSON.parse(readFileSync(`${file}.map`, 'utf8')) as { sources?: string[]; sourceRoot?: string };
    const [source] = map.sources ?? [];
    if (map.sources?.length === 1 && source) return path.resolve(path.dirname(file), map.sourceRoot ?? '', source);
  } catch {
    // No source map: the file is its own source.
  }
  return path.resolve(file);
}

function sameModule(a: string, b: string): boolean {
  return a === b || sourceOf(a) === sourceOf(b);
}

export function isComponentSpec(value: unknown): value is ComponentSpec {
  const v = value as Partial<ComponentSpec> | null;
  return (
    !!v &&
    typeof v.type === 'string' &&
    typeof v.version === 'string' &&
    typeof v.executor?.module === 'string' &&
    typeof v.outputs === 'object' &&
    typeof v.inputs === 'object' &&
    typeof (v.parameters as { safeParse?: unknown } | undefined)?.safeParse === 'function'
  );
}
