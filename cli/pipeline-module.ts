import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { builtinRegistry } from '../activities/builtin-components';
import type { ComponentRegistry } from '../activities/component-registry';
import { compilePipeline, validatePipelineSpec, type PipelineDefinition } from '../dsl/compile';
import { UserInputError } from '../dsl/executor';
import type { PipelineSpec } from '../dsl/ir';

export class PipelineModuleError extends Error {
  override name = 'PipelineModuleError';
}

function isDefinition(value: unknown): value is PipelineDefinition {
  const v = value as Partial<PipelineDefinition> | null;
  return !!v && typeof v.name === 'string' && Array.isArray(v.nodes);
}

/** `--param k=v` flags, collected into an object. */
export function parseParams(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new PipelineModuleError(`--param ${pair}: expected key=value`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/**
 * Loads a pipeline module: its default export (or `pipeline` export) is a definition, or a function
 * `(params) => definition`. TypeScript modules load through tsx when it is installed.
 */
export function loadPipelineDefinition(modulePath: string, params: Record<string, string>): PipelineDefinition {
  const resolved = path.resolve(modulePath);
  if (!existsSync(resolved)) throw new PipelineModuleError(`pipeline module ${resolved}: file not found`);
  if (/\.[cm]?tsx?$/.test(resolved)) {
    try {
      (require('tsx/cjs/api') as { register(): void }).register();
    } catch {
      throw new PipelineModuleError(`pipeline module ${resolved}: TypeScript modules need tsx (npm install tsx) or compile it to .js first`);
    }
  }
  let mod: Record<string, unknown>;
  try {
    mod = require(resolved) as Record<string, unknown>;
  } catch (err) {
    throw new PipelineModuleError(`pipeline module ${resolved}: failed to load: ${(err as Error).message}`);
  }
  const candidate = mod.default ?? mod.pipeline ?? mod.createPipeline;
  let definition: unknown;
  try {
    definition = typeof candidate === 'function' ? (candidate as (p: Record<string, string>) => unknown)(params) : candidate;
  } catch (err) {
    // How a pipeline refuses a bad --param (the examples' approvalHours, sample): a usage error, not a crash.
    if (err instanceof UserInputError) throw new PipelineModuleError(err.message);
    throw err;
  }
  if (!isDefinition(definition)) {
    throw new PipelineModuleError(
      `pipeline module ${resolved}: expected a default export (or 'pipeline'/'createPipeline' export) made with pipeline({ name, nodes }) or a function returning one`,
    );
  }
  return definition;
}

/** The builtin components plus every component the pipeline itself declares (custom components). */
export function registryFor(definition: PipelineDefinition, base: ComponentRegistry = builtinRegistry()): ComponentRegistry {
  // register() refuses a custom component that reuses a built-in's type with another executor.
  for (const node of definition.nodes) base.register(node.spec);
  return base;
}

/**
 * A pipeline from a module (compiled here) or from a JSON PipelineSpec file (validated against the
 * builtin components plus `componentModules`).
 */
export function compilePipelineModule(
  modulePath: string,
  params: Record<string, string>,
  componentModules: string[] = [],
): { spec: PipelineSpec; registry: ComponentRegistry } {
  if (modulePath.endsWith('.json')) {
    const registry = builtinRegistry();
    for (const mod of componentModules) registry.registerModule(mod);
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path.resolve(modulePath), 'utf8'));
    } catch (err) {
      throw new PipelineModuleError(`pipeline spec ${path.resolve(modulePath)}: ${(err as Error).message}`);
    }
    return { spec: validatePipelineSpec(json, registry), registry };
  }
  const definition = loadPipelineDefinition(modulePath, params);
  const base = builtinRegistry();
  for (const mod of componentModules) base.registerModule(mod);
  const registry = registryFor(definition, base);
  return { spec: compilePipeline(definition, registry), registry };
}
