import { z } from 'zod';
import { defineComponent } from '../../dsl/component';
import { UserInputError } from '../../dsl/executor';

/** The resolved file set holding the curated schema. */
export const SCHEMA_FILE_KEY = 'schemaFile';

export const ImportSchemaGenParametersSchema = z
  .object({
    /**
     * The curated schema: an absolute path, file:// or s3:// URI of mlpipe's schema.json (`.json`) or
     * of a TFDV/TFX schema in text format (`.pbtxt`, `.textproto`, `.txt`). Its content is part of the
     * cache key: an edited file runs the node again.
     */
    schemaFile: z.string().regex(/\.(json|pbtxt|textproto|txt)$/, 'expected a .json, .pbtxt, .textproto or .txt file'),
    /** The S3 source an s3:// schemaFile is read with (a name from the workers' `s3Sources`); the artifact store's by default. */
    s3Source: z.string().min(1).optional(),
  })
  .strict();
export type ImportSchemaGenParameters = z.output<typeof ImportSchemaGenParametersSchema>;

/** TFX's ImportSchemaGen: a curated schema file as a Schema artifact (schema.json and schema.pbtxt). */
export const ImportSchemaGen = defineComponent({
  type: 'ImportSchemaGen',
  version: '1',
  description: 'Imports a curated schema (schema.json or TFDV schema.pbtxt) as a Schema artifact',
  parameters: ImportSchemaGenParametersSchema,
  inputs: {},
  outputs: { schema: 'Schema' },
  defaultResource: 'cpu',
  executor: { module: require.resolve('./executor') },
  resolve: async (ctx) => {
    const set = await ctx.listFiles(ctx.parameters.schemaFile, { s3Source: ctx.parameters.s3Source });
    if (set.files.length !== 1) {
      throw new UserInputError(`schemaFile "${ctx.parameters.schemaFile}" names ${set.files.length} files (${set.files.map((f) => f.path).join(', ')}): name one schema file`);
    }
    return { files: { [SCHEMA_FILE_KEY]: set }, artifacts: {} };
  },
});
