import * as components from '../components';
import { ComponentRegistry } from './component-registry';

export function builtinRegistry(): ComponentRegistry {
  const registry = new ComponentRegistry();
  registry.registerExports(components, 'the built-in components');
  return registry;
}
