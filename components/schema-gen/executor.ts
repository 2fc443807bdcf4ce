import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { defineExecutor, UserInputError, type ExecutorContext } from '../../dsl/executor';
import { readJsonPayload } from '../data/json-payload';
import { localInputFiles } from '../example-gen/s3-input';
import { ExampleStatisticsSchema, STATISTICS_FILE_NAME, type ExampleStatistics, type SplitStatistics } from '../statistics-gen/payload';
import { inferSchema } from './infer-schema';
import type { SchemaPayload } from './payload';
import { parseSchemaJson, writeSchemaArtifact } from './schema-file';
import { FROZEN_FROM_PROPERTY, FROZEN_KEY, INFERRED_BY_PROPERTY, SchemaGen, type SchemaGenParameters } from './spec';

function chosenSplits(statistics: ExampleStatistics, params: SchemaGenParameters): SplitStatistics[] {
  const have = statistics.splits.map((s) => s.name);
  const named = params.splits === 'all' ? have : params.splits;
  const unknown = [...named, ...params.excludeSplits].filter((name) => !have.includes(name));
  if (unknown.length > 0) throw new UserInputError(`the statistics have no split ${unknown.join(', ')} (they have ${have.join(', ')}): check splits and excludeSplits`);
  const chosen = statistics.splits.filter((s) => named.includes(s.name) && !params.excludeSplits.includes(s.name));
  if (chosen.length === 0) throw new UserInputError(`excludeSplits leaves none of the splits ${named.join(', ')} to infer the schema from`);
  return chosen;
}

/** The schema a frozen node passes on, as its resolve step found and keyed it. */
async function frozenSchema(ctx: ExecutorContext<typeof SchemaGen.spec>): Promise<{ schema: SchemaPayload; uri: string } | undefined> {
  const set = ctx.resolved.files[FROZEN_KEY];
  const artifact = ctx.resolved.artifacts[FROZEN_KEY]?.[0];
  if (!set || !artifact) return undefined;
  const local = await localInputFiles(set, { sources: ctx.s3Sources, dir: ctx.tmpDir, signal: ctx.signal, progress: ctx.progress });
  const file = path.join(local.root, local.files[0]!.path);
  return { schema: parseSchemaJson(await readFile(file, 'utf8'), `${artifact.uri}/${path.basename(file)}`), uri: artifact.uri };
}

/** SchemaGen: ExampleStatistics → schema.json and schema.pbtxt (see infer-schema.ts), or the frozen schema unchanged. */
export const executor = defineExecutor(SchemaGen, async (ctx) => {
  const outDir = ctx.outputDirs.schema;
  const frozen = await frozenSchema(ctx);
  if (frozen) {
    const warnings = await writeSchemaArtifact(outDir, frozen.schema);
    ctx.progress({ fraction: 1, message: `passed on the frozen schema ${frozen.uri}` });
    const properties: Record<string, string> = { [FROZEN_FROM_PROPERTY]: frozen.uri };
    return {
      properties: { schema: properties },
      summary: { frozenFrom: frozen.uri, features: frozen.schema.features.length, ...(warnings.length > 0 ? { pbtxtWarnings: warnings } : {}) },
    };
  }

  const [input] = ctx.inputs.statistics;
  if (!input) throw new UserInputError('SchemaGen needs an ExampleStatistics artifact on its "statistics" input');
  const params = ctx.parameters;
  const statistics = await readJsonPayload(path.join(input.localDir, STATISTICS_FILE_NAME), ExampleStatisticsSchema, 'SchemaGen statistics');
  const splits = chosenSplits(statistics, params);
  ctx.progress({ fraction: 0.5, message: `inferring the schema from split(s) ${splits.map((s) => s.name).join(', ')}` });
  const { schema, notes } = inferSchema(splits, {
    maxStringDomainSize: params.maxStringDomainSize,
    inferNumericBounds: params.inferNumericBounds,
    label: params.label,
    datasetConstraints: params.datasetConstraints,
  });
  const warnings = await writeSchemaArtifact(outDir, schema);
  const annotated = (a: 'idLike' | 'freeText') => schema.features.filter((f) => f.annotations?.includes(a)).map((f) => f.name);
  ctx.progress({ fraction: 1, message: `schema of ${schema.features.length} features inferred` });
  const properties: Record<string, string> = { [INFERRED_BY_PROPERTY]: ctx.nodeId };
  return {
    properties: { schema: properties },
    summary: {
      inferredFrom: splits.map((s) => s.name),
      features: schema.features.length,
      vocabularies: schema.features.filter((f) => f.domain?.kind === 'string').map((f) => f.name),
      idLike: annotated('idLike'),
      freeText: annotated('freeText'),
      ...(notes.length > 0 ? { notes } : {}),
      ...(warnings.length > 0 ? { pbtxtWarnings: warnings } : {}),
    },
  };
});
