import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UserInputError } from '../../dsl/executor';
import { ModelConfigSchema, type ModelConfig } from '../../serving/model-config';
import { WARMUP_DIR } from '../../serving/warmup-data';
import type { ServingSignature } from '../trainer/serving-graph';
import { SERVING_CONFIG_FILE } from '../trainer/payload';
import { sliceColumns, type InputColumn } from './eval-columns';
import { rawBytes } from './wire';

/**
 * The version's warm-up requests (Triton's model_warmup, as TFX's make_warmup): one request per eval
 * row, each input's value in a file of InfraBlessing's `warmup/` (Triton's input_data_file layout), the
 * directory the server reads as `<repo>/<model>/warmup/`. One request per row because Triton's
 * input_data_file holds one sample, which batch_size would only repeat.
 */

export const INFRA_WARMUP_DIR = WARMUP_DIR;

export interface WarmupFile {
  name: string;
  bytes: Buffer;
}

/** An input's name may hold a path separator (a raw column `speed/kmh`), which a file name in warmup/ may not. */
const fileNamePart = (input: string) => input.replace(/[%/\\]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const warmupFileName = (row: number, input: string) => `row${row}_${fileNamePart(input)}`;

/** The config with one warm-up request per row of `columns`, and the files those requests read. */
export function withWarmupRows(config: ModelConfig, signature: ServingSignature, columns: InputColumn[], rows: number): { config: ModelConfig; files: WarmupFile[] } {
  const dataTypes = signature.inputs.map((spec) => {
    const declared = config.input?.find((i) => i.name === spec.name);
    if (!declared) throw new UserInputError(`the ServingModel's ${SERVING_CONFIG_FILE} declares no input "${spec.name}", which its signature has`);
    if (!declared.data_type) throw new UserInputError(`the ServingModel's ${SERVING_CONFIG_FILE} declares input "${spec.name}" without its data_type`);
    return declared.data_type;
  });
  const files: WarmupFile[] = [];
  const modelWarmup: NonNullable<ModelConfig['model_warmup']> = [];
  for (let row = 0; row < rows; row++) {
    const rowColumns = sliceColumns(columns, row, row + 1);
    const inputs = Object.fromEntries(
      signature.inputs.map((spec, k) => {
        const name = warmupFileName(row, spec.name);
        files.push({ name, bytes: rawBytes(rowColumns[k]!) });
        return [spec.name, { data_type: dataTypes[k]!, dims: spec.shape.slice(1), input_data_file: name }];
      }),
    );
    modelWarmup.push({ name: `infra_validator_row_${row}`, batch_size: 1, count: 1, inputs });
  }
  return { config: ModelConfigSchema.parse({ ...config, model_warmup: modelWarmup }), files };
}

/** Writes the files into `<modelDir>/warmup/`. */
export async function writeWarmupFiles(modelDir: string, files: readonly WarmupFile[]): Promise<void> {
  await mkdir(path.join(modelDir, INFRA_WARMUP_DIR), { recursive: true });
  await Promise.all(files.map((f) => writeFile(path.join(modelDir, INFRA_WARMUP_DIR, f.name), f.bytes)));
}

/**
 * The warm-up files of an InfraBlessing directory, by name, to publish as `<repo>/<model>/warmup/<name>`
 * beside the config.json that names them; none for an InfraBlessing written before it had any.
 */
export async function warmupFiles(infraDir: string): Promise<Array<{ name: string; localFile: string }>> {
  const dir = path.join(infraDir, INFRA_WARMUP_DIR);
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  return entries
    .filter((e) => e.isFile())
    .map((e) => ({ name: e.name, localFile: path.join(dir, e.name) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}
