import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { defineExecutor, UserInputError } from '../../dsl/executor';
import { localInputFiles } from '../example-gen/s3-input';
import { parseSchemaFile, writeSchemaArtifact } from '../schema-gen/schema-file';
import { ImportSchemaGen, SCHEMA_FILE_KEY } from './spec';

/** ImportSchemaGen: the file its resolve step keyed → schema.json and schema.pbtxt; what the file held that mlpipe drops is listed in the summary. */
export const executor = defineExecutor(ImportSchemaGen, async (ctx) => {
  const set = ctx.resolved.files[SCHEMA_FILE_KEY];
  if (!set) throw new UserInputError('ImportSchemaGen ran without its resolved schemaFile: run the pipeline again');
  const local = await localInputFiles(set, { sources: ctx.s3Sources, dir: ctx.tmpDir, signal: ctx.signal, progress: ctx.progress });
  const file = local.files[0]!;
  // Messages name the file as the user gave it, not a scratch copy.
  const shown = ctx.parameters.schemaFile;
  const { schema, warnings } = parseSchemaFile(await readFile(path.join(local.root, file.path), 'utf8'), shown);
  const pbtxtWarnings = await writeSchemaArtifact(ctx.outputDirs.schema, schema);
  ctx.progress({ fraction: 1, message: `imported ${schema.features.length} features from ${shown}` });
  return {
    summary: {
      schemaFile: shown,
      features: schema.features.length,
      ...(warnings.length > 0 ? { notKept: warnings } : {}),
      ...(pbtxtWarnings.length > 0 ? { pbtxtWarnings } : {}),
    },
  };
});
