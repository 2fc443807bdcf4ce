import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { defineExecutor, UserInputError } from '../../dsl/executor';
import { withDuckDb } from '../data/duckdb-session';
import { listSplits, spanProperties, splitDirName, splitNamesProperty, splitParquetFiles } from '../data/examples-layout';
import { monotonicProgress } from '../data/progress';
import { sqlString } from '../data/sql';
import { SCHEMA_FILE_NAME } from '../schema-gen/payload';
import { parseSchemaJson } from '../schema-gen/schema-file';
import { readPayloadText } from '../data/json-payload';
import { computeAnalyzers } from './analyzers';
import { checkTransform } from './check';
import { compileTransform } from './compile-graph';
import { graphInputs, inputSelectList } from './graph-columns';
import { materializeSplit } from './materialize';
import { analyzersFile } from './payload';
import { ANALYZERS_FILE, SERVING_GRAPH_FILE, SIGNATURE_FILE, TRANSFORM_GRAPH_FILE } from './signature';
import { Transform } from './spec';

/** The IR as the node's parameters carried it, beside the graph: the artifact alone says what was compiled. */
export const TRANSFORM_IR_FILE = 'transform_ir.json';

/** Share of the progress bar the analyzer pass takes; materialising the splits takes the rest. */
const ANALYZE_SHARE = 0.2;

/**
 * Transform: checks the IR against the Schema (before reading any row), runs the analyzers over the
 * analyzed split with DuckDB, compiles the graph, writes the TransformGraph artifact, then runs every
 * split through the compiled graph (materialize.ts) into TransformedExamples, in the Examples layout.
 */
export const executor = defineExecutor(Transform, async (ctx) => {
  const { parameters: params, signal } = ctx;
  const progress = monotonicProgress(ctx.progress);
  const [examples] = ctx.inputs.examples;
  const [schemaInput] = ctx.inputs.schema;
  if (!examples || !schemaInput) throw new UserInputError('Transform needs an Examples artifact on "examples" and a Schema on "schema"');
  const schemaFile = path.join(schemaInput.localDir, SCHEMA_FILE_NAME);
  const schema = parseSchemaJson(await readPayloadText(schemaFile, 'Transform schema'), schemaFile);
  const signatures = checkTransform(params.transform, schema);

  const splits = await listSplits(examples.localDir, examples.ref.properties);
  const analyzed = splits.find((s) => s.name === params.analyzeSplit);
  if (!analyzed) throw new UserInputError(`analyzeSplit "${params.analyzeSplit}" is not a split of the examples (they have ${splits.map((s) => s.name).join(', ')})`);
  const unknown = params.excludeSplits.filter((name) => !splits.some((s) => s.name === name));
  if (unknown.length > 0) throw new UserInputError(`excludeSplits names splits the examples do not have: ${unknown.join(', ')} (they have ${splits.map((s) => s.name).join(', ')})`);

  const analyzedFiles = await splitParquetFiles(analyzed);
  const started = performance.now();
  const { values, rows } = await withDuckDb({ tmpDir: ctx.tmpDir, signal }, async (db) => {
    // The analyzers read the columns as the Parquet files type them and the graph as the Schema does;
    // a column whose type disagrees with the Schema is named here, before either reads a row.
    const inputs = graphInputs(signatures.training.inputs, schema);
    for (const file of analyzedFiles) inputSelectList(file, await db.columns(`read_parquet(${sqlString(file)})`), inputs);
    const counted = await db.query(`SELECT count(*)::BIGINT AS n FROM read_parquet([${analyzedFiles.map(sqlString).join(', ')}])`);
    const found = await computeAnalyzers(db, params.transform, analyzedFiles, (p) =>
      progress({ fraction: ANALYZE_SHARE * p.fraction, message: `analyzers over split ${analyzed.name}`, counters: { rowsAnalyzed: p.rowsProcessed } }),
    );
    return { values: found, rows: Number(counted.getRowObjectsJS()[0]!.n) };
  });
  const analyzeSeconds = (performance.now() - started) / 1000;

  const compiled = compileTransform(params.transform, values, schema);
  const graphDir = ctx.outputDirs.transformGraph;
  await writeFile(path.join(graphDir, TRANSFORM_GRAPH_FILE), compiled.training);
  await writeFile(path.join(graphDir, SERVING_GRAPH_FILE), compiled.serving);
  await writeFile(path.join(graphDir, SIGNATURE_FILE), `${JSON.stringify(compiled.signature, null, 2)}\n`);
  await writeFile(path.join(graphDir, ANALYZERS_FILE), `${JSON.stringify(analyzersFile(params.transform, values, analyzed.name, rows), null, 2)}\n`);
  await writeFile(path.join(graphDir, TRANSFORM_IR_FILE), `${JSON.stringify(params.transform, null, 2)}\n`);
  progress({ fraction: ANALYZE_SHARE, message: `graph compiled: ${compiled.signature.training.outputs.length} outputs from ${compiled.signature.training.inputs.length} features` });

  const materialised = splits.filter((s) => !params.excludeSplits.includes(s.name));
  const inputs = await Promise.all(materialised.map(async (split) => ({ split, files: await splitParquetFiles(split) })));
  const rowsPerSplit: Record<string, number> = {};
  const materialiseStarted = performance.now();
  for (const [i, { split, files }] of inputs.entries()) {
    const outDir = path.join(ctx.outputDirs.transformedExamples, splitDirName(split.name));
    await mkdir(outDir, { recursive: true });
    const done = await materializeSplit({
      model: compiled.training,
      signature: compiled.signature.training,
      inputFiles: files,
      outDir,
      tmpDir: ctx.tmpDir,
      signal,
      onProgress: ({ rows: n, totalRows }) =>
        progress({
          fraction: ANALYZE_SHARE + ((1 - ANALYZE_SHARE) * (i + (totalRows > 0 ? n / totalRows : 1))) / inputs.length,
          message: `transforming split ${split.name}`,
          counters: { rowsTransformed: Object.values(rowsPerSplit).reduce((a, b) => a + b, 0) + n },
        }),
    });
    rowsPerSplit[split.name] = done.rows;
  }
  const materialiseSeconds = (performance.now() - materialiseStarted) / 1000;
  const totalRows = Object.values(rowsPerSplit).reduce((a, b) => a + b, 0);
  progress({ fraction: 1, message: `${totalRows} rows transformed` });

  const span = spanProperties(examples.ref.properties);
  return {
    properties: {
      transformGraph: { analyzed_split: analyzed.name, ...span },
      transformedExamples: { split_names: splitNamesProperty(materialised.map((s) => s.name)), ...span },
    },
    summary: {
      outputs: compiled.signature.training.outputs.map((o) => o.name),
      servingInputs: compiled.signature.serving.inputs.map((i) => i.name),
      analyzed: { split: analyzed.name, rows, seconds: round(analyzeSeconds) },
      rowsPerSplit,
      rowsPerSecond: materialiseSeconds > 0 ? Math.round(totalRows / materialiseSeconds) : undefined,
    },
  };
});

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
