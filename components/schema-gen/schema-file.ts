import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { printParseErrorCode, visit } from 'jsonc-parser';
import { UserInputError } from '../../dsl/executor';
import { issuePath } from '../../dsl/zod-issues';
import { SCHEMA_FILE_NAME, SchemaPayloadSchema, type SchemaPayload } from './payload';
import { SCHEMA_PBTXT_FILE_NAME, schemaFromPbtxt, schemaToPbtxt, type ImportedSchema } from './schema-pbtxt';

/** Where JSON.parse gave up, as `line:column` (1-based): Node's own message names no place. */
function syntaxErrorPlace(text: string): string {
  let place = '';
  visit(
    text,
    {
      onError: (code, _offset, _length, line, column) => {
        place ||= `${line + 1}:${column + 1}: ${printParseErrorCode(code)}`;
      },
    },
    { disallowComments: true, allowTrailingComma: false },
  );
  return place;
}

/** A schema.json's text; a syntax error names line and column, a wrong field its JSON path. */
export function parseSchemaJson(text: string, file: string): SchemaPayload {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    const place = syntaxErrorPlace(text);
    throw new UserInputError(place ? `${file}:${place} (not valid JSON)` : `${file}: not valid JSON (${(err as Error).message})`);
  }
  const parsed = SchemaPayloadSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      // An unknown key is named by its own path, so a typo points at itself.
      const at = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => issuePath([...issue.path, k])).join(', ') : issuePath(issue.path) || '(top level)';
      return `${at}: ${issue.message}`;
    });
    throw new UserInputError(`${file}: not an mlpipe schema (components/schema-gen/payload.ts): ${lines.join('; ')}`);
  }
  return parsed.data;
}

/** A curated schema file: `.json` as mlpipe's schema.json, `.pbtxt` / `.textproto` / `.txt` as TFDV's text format. */
export function parseSchemaFile(text: string, file: string): ImportedSchema {
  if (file.endsWith('.json')) return { schema: parseSchemaJson(text, file), warnings: [] };
  if (/\.(pbtxt|textproto|txt)$/.test(file)) return schemaFromPbtxt(text, file);
  throw new UserInputError(`${file}: expected a schema.json (.json) or a TFDV schema in text format (.pbtxt, .textproto or .txt)`);
}

/**
 * Writes a Schema artifact: `schema.json` (pretty, fields in the payload's order, so the same schema is
 * the same bytes) and `schema.pbtxt` for TFDV and TFX. Returns what the text format could not hold.
 */
export async function writeSchemaArtifact(dir: string, schema: SchemaPayload): Promise<string[]> {
  const canonical = SchemaPayloadSchema.parse(schema);
  const pbtxt = schemaToPbtxt(canonical);
  await writeFile(path.join(dir, SCHEMA_FILE_NAME), `${JSON.stringify(canonical, null, 2)}\n`);
  await writeFile(path.join(dir, SCHEMA_PBTXT_FILE_NAME), pbtxt.text);
  return pbtxt.warnings;
}
