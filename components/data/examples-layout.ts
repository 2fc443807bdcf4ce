import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { PropertyValue } from '../../artifacts/artifact-types';
import { UserInputError } from '../../dsl/executor';

/**
 * The on-disk layout of an Examples artifact, TFX's: one directory per split, `Split-<name>/`, holding
 * Parquet files `data-00000.parquet`, `data-00001.parquet`, ... The layout is the interface: any tool
 * that reads Parquet reads the splits.
 */
export const SPLIT_DIR_PREFIX = 'Split-';

export function splitDirName(split: string): string {
  return `${SPLIT_DIR_PREFIX}${split}`;
}

export function splitDataFileName(index: number): string {
  return `data-${String(index).padStart(5, '0')}.parquet`;
}

export interface SplitLocation {
  name: string;
  dir: string;
}

/**
 * The span properties of an Examples artifact (`span`, `version`, `spans`), which the artifacts derived
 * from it copy, as TFX's components do: drift and the baseline resolvers find the previous span by them.
 */
export function spanProperties(properties: Record<string, PropertyValue>): Record<string, PropertyValue> {
  return Object.fromEntries(['span', 'version', 'spans'].filter((k) => properties[k] !== undefined).map((k) => [k, properties[k]!]));
}

/** The `split_names` property ExampleGen writes: a JSON array, as TFX stores it. */
export function splitNamesProperty(names: readonly string[]): string {
  return JSON.stringify(names);
}

function namesFromProperty(value: PropertyValue | undefined): string[] | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) && parsed.every((n) => typeof n === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The splits of an Examples artifact, found from its directories; they come in the order of its
 * `split_names` property when that names exactly those splits, else in name order.
 */
export async function listSplits(localDir: string, properties: Record<string, PropertyValue>): Promise<SplitLocation[]> {
  const entries = await readdir(localDir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    throw new UserInputError(`Examples artifact directory ${localDir} cannot be read: ${err.message}`);
  });
  const found = entries
    .filter((e) => e.isDirectory() && e.name.startsWith(SPLIT_DIR_PREFIX))
    .map((e) => e.name.slice(SPLIT_DIR_PREFIX.length))
    .sort();
  if (found.length === 0) {
    throw new UserInputError(`Examples artifact ${localDir} has no split directories (expected ${SPLIT_DIR_PREFIX}<name>/)`);
  }
  const declared = namesFromProperty(properties.split_names);
  const ordered =
    declared && declared.length === found.length && declared.every((n) => found.includes(n)) ? declared : found;
  return ordered.map((name) => ({ name, dir: path.join(localDir, splitDirName(name)) }));
}

/** A split's Parquet files in name order (the order ExampleGen wrote its rows in); none is an error naming the directory. */
export async function splitParquetFiles(split: SplitLocation): Promise<string[]> {
  const files = (await readdir(split.dir)).filter((f) => f.endsWith('.parquet')).sort();
  if (files.length === 0) throw new UserInputError(`split "${split.name}" has no Parquet files in ${split.dir}`);
  return files.map((f) => path.join(split.dir, f));
}
