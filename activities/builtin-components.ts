import { BUILTIN_COMPONENTS } from '../components';
import { ComponentRegistry } from './component-registry';

export function builtinRegistry(): ComponentRegistry {
  return new ComponentRegistry(BUILTIN_COMPONENTS.map((c) => c.spec));
}
