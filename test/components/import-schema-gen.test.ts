import assert from 'node:assert/strict';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ImportSchemaGen } from '../../components/import-schema-gen/spec';
import { SCHEMA_FILE_NAME, SchemaPayloadSchema, type SchemaPayload } from '../../components/schema-gen/payload';
import { SCHEMA_PBTXT_FILE_NAME } from '../../components/schema-gen/schema-pbtxt';
import { runExecutorForTest } from '../support/executor-harness';
import { REPO_ROOT } from '../support/repo-root';
import { tempDir } from '../support/tmp';
import { rejects } from '../support/user-input-errors';

const PENGUIN_PBTXT = path.join(REPO_ROOT, 'test', 'fixtures', 'tfx-schemas', 'penguin-schema.pbtxt');

async function imported(schemaFile: string): Promise<{ schema: SchemaPayload; pbtxt: string; summary: Record<string, unknown> | undefined }> {
  const run = await runExecutorForTest(ImportSchemaGen, { parameters: { schemaFile } });
  const dir = run.outputDirs.schema!;
  return {
    schema: SchemaPayloadSchema.parse(JSON.parse(await readFile(path.join(dir, SCHEMA_FILE_NAME), 'utf8'))),
    pbtxt: await readFile(path.join(dir, SCHEMA_PBTXT_FILE_NAME), 'utf8'),
    summary: run.result.summary,
  };
}

async function fileWith(name: string, text: string): Promise<string> {
  const file = path.join(await tempDir('import-schema'), name);
  await writeFile(file, text);
  return file;
}

describe('ImportSchemaGen: a curated schema file as a Schema artifact', () => {
  it("imports TFX's penguin schema.pbtxt into schema.json, and writes schema.pbtxt back in TFDV's form", async () => {
    const file = path.join(await tempDir('import-schema'), 'schema.pbtxt');
    await copyFile(PENGUIN_PBTXT, file);
    const text = await readFile(file, 'utf8');
    const { schema, pbtxt, summary } = await imported(file);
    assert.deepEqual(schema.features.map((f) => f.name), [...text.matchAll(/^feature \{\n {2}name: "(.*)"$/gm)].map((m) => m[1]));
    assert.deepEqual(schema.features.find((f) => f.name === 'island')?.domain, { kind: 'string', values: ['Biscoe', 'Dream', 'Torgersen'] });
    assert.match(pbtxt, /name: "island"\n {2}value_count \{\n {4}min: 1\n {4}max: 1\n {2}\}\n {2}type: BYTES\n {2}string_domain \{\n {4}value: "Biscoe"\n {4}value: "Dream"\n {4}value: "Torgersen"\n {2}\}/);
    assert.deepEqual(summary, { schemaFile: file, features: 7 });
  });

  it('imports a schema.json as it is, and lists what a pbtxt held that mlpipe does not keep', async () => {
    const curated: SchemaPayload = {
      version: 1,
      features: [{ name: 'Island', type: 'STRING', domain: { kind: 'string', values: ['Biscoe', 'Dream'] }, minDomainMass: 0.9, comment: 'two islands only' }],
      defaultEnvironments: ['TRAINING', 'SERVING'],
    };
    assert.deepEqual((await imported(await fileWith('curated.json', JSON.stringify(curated, null, 2)))).schema, curated);

    const deprecated = await fileWith('old.pbtxt', 'feature {\n  name: "age"\n  type: INT\n  lifecycle_stage: DEPRECATED\n}\n');
    const { schema, summary } = await imported(deprecated);
    assert.deepEqual(schema.features, [{ name: 'age', type: 'INT' }]);
    assert.deepEqual(summary?.notKept, [`${deprecated}:4:3: feature "age": lifecycle_stage is not kept (mlpipe has no lifecycle stages: the feature is validated)`]);
  });

  it('bad inputs: a missing file, text that does not parse, an unknown field, another extension', async () => {
    const dir = await tempDir('import-schema');
    await rejects(imported(path.join(dir, 'nothing.pbtxt')), /input file not found: .*nothing\.pbtxt/);
    const broken = await fileWith('broken.pbtxt', 'feature {\n  name: "age"\n  type INT\n}\n');
    await rejects(imported(broken), new RegExp(`^${broken}:3:8: expected ":" after field name "type", got "INT"`));
    const unknown = await fileWith('typo.pbtxt', 'feature {\n  name: "age"\n  presense { min_count: 1 }\n}\n');
    await rejects(imported(unknown), new RegExp(`^${unknown}:3:3: unknown field "presense" in tensorflow\\.metadata\\.v0\\.Feature`));
    const json = await fileWith('typo.json', JSON.stringify({ version: 1, features: [{ name: 'age', type: 'INT', presense: { minCount: 1 } }] }));
    await rejects(imported(json), new RegExp(`^${json}: not an mlpipe schema .*: features\\[0\\]\\.presense: Unrecognized key`));
    const badJson = await fileWith('bad.json', '{\n  "version": 1\n  "features": []\n}\n');
    await rejects(imported(badJson), new RegExp(`^${badJson}:3:3: CommaExpected \\(not valid JSON\\)`));
    await rejects(imported(path.join(dir, 'schema.yaml')), /ImportSchemaGen parameters: schemaFile: expected a \.json, \.pbtxt, \.textproto or \.txt file/);
  });
});
