import { ComponentRegistry } from './component-registry';

/** Modules of the components every worker runs without extra configuration. */
const BUILTIN_COMPONENT_MODULES = ['../dsl/components/example-gen', '../dsl/components/statistics-gen'];

export function builtinRegistry(): ComponentRegistry {
  const registry = new ComponentRegistry();
  for (const mod of BUILTIN_COMPONENT_MODULES) registry.registerModule(require.resolve(mod));
  return registry;
}
