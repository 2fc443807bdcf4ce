import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { defineExecutor, UserInputError } from '../../dsl/executor';
import { readJsonPayload, readPayloadText } from '../data/json-payload';
import { splitNamesProperty } from '../data/examples-layout';
import { ExampleStatisticsSchema, STATISTICS_FILE_NAME, type SplitStatistics } from '../statistics-gen/payload';
import { SCHEMA_FILE_NAME } from '../schema-gen/payload';
import { parseSchemaJson } from '../schema-gen/schema-file';
import { ANOMALIES_REPORT_FILE_NAME, renderAnomaliesReport } from '../reports/anomalies-report';
import { usefulnessOf } from '../reports/read-usefulness';
import { severities } from './anomaly-kinds';
import { ANOMALIES_FILE_NAME, ExampleAnomaliesSchema, type Anomaly } from './payload';
import { environmentsOf, validateSplit } from './validate-split';
import { comparisonAnomalies, runComparisons } from './drift/run-comparisons';
import { ExampleValidator, type ExampleValidatorParameters } from './spec';

/** The summary and the gate's reason list anomalies by name; anomalies.json has them all, described. */
const LISTED_ANOMALIES = 25;

function chosenSplits(all: SplitStatistics[], params: ExampleValidatorParameters): SplitStatistics[] {
  const names = all.map((s) => s.name);
  const unknown = [...(params.splits ?? []), ...params.excludeSplits].filter((n) => !names.includes(n));
  if (unknown.length > 0) {
    throw new UserInputError(`ExampleValidator: the statistics have no split ${unknown.map((n) => `"${n}"`).join(', ')} (they have ${names.join(', ')})`);
  }
  const wanted = params.splits ?? names;
  const chosen = all.filter((s) => wanted.includes(s.name) && !params.excludeSplits.includes(s.name));
  if (chosen.length === 0) throw new UserInputError(`ExampleValidator: excludeSplits leaves no split to validate (the statistics have ${names.join(', ')})`);
  return chosen;
}

/** `Island in eval: ENUM_TYPE_UNEXPECTED_STRING_VALUES`: one anomaly on a line of the run's status. */
function shortForm(a: Anomaly): string {
  return `${a.feature ?? 'dataset'} in ${a.split}: ${a.kind}`;
}

function listed(anomalies: Anomaly[]): string[] {
  const shown = anomalies.slice(0, LISTED_ANOMALIES).map(shortForm);
  return anomalies.length > shown.length ? [...shown, `… and ${anomalies.length - shown.length} more in ${ANOMALIES_FILE_NAME}`] : shown;
}

/** ExampleValidator: statistics.json against schema.json → anomalies.json; blocks on an ERROR anomaly. */
export const executor = defineExecutor(ExampleValidator, async (ctx) => {
  const { parameters: params } = ctx;
  const [statistics] = ctx.inputs.statistics;
  const [schemaInput] = ctx.inputs.schema;
  if (!statistics) throw new UserInputError('ExampleValidator needs an ExampleStatistics artifact on its "statistics" input');
  if (!schemaInput) throw new UserInputError('ExampleValidator needs a Schema artifact on its "schema" input');
  const stats = await readJsonPayload(path.join(statistics.localDir, STATISTICS_FILE_NAME), ExampleStatisticsSchema, 'ExampleValidator statistics');
  const schemaFile = path.join(schemaInput.localDir, SCHEMA_FILE_NAME);
  const schema = parseSchemaJson(await readPayloadText(schemaFile, 'ExampleValidator schema'), schemaFile);
  if (params.environment !== undefined) {
    const named = environmentsOf(schema);
    if (named.length > 0 && !named.includes(params.environment)) {
      throw new UserInputError(`ExampleValidator: environment "${params.environment}" is not one the schema names (${named.join(', ')})`);
    }
  }

  const levels = severities(params.severity);
  const splits = chosenSplits(stats.splits, params);
  const results = splits.map((split, i) => {
    const anomalies = validateSplit(schema, split, { environment: params.environment, severities: levels });
    ctx.progress({ fraction: (i + 1) / splits.length, message: `split ${split.name}: ${anomalies.length} anomalies` });
    return { name: split.name, numExamples: split.numExamples, anomalies };
  });
  const span = typeof statistics.ref.properties.span === 'number' ? statistics.ref.properties.span : undefined;
  const compared = await runComparisons(ctx, schema, statistics.localDir, { statistics: stats, span }, splits.map((s) => s.name));
  for (const [split, findings] of compared.findings) {
    let entry = results.find((r) => r.name === split);
    if (!entry) {
      // A skew baseline left out of validation still holds its comparisons' anomalies.
      entry = { name: split, numExamples: stats.splits.find((s) => s.name === split)!.numExamples, anomalies: [] };
      results.push(entry);
    }
    entry.anomalies.push(...comparisonAnomalies(findings, split, levels));
  }
  const payload = ExampleAnomaliesSchema.parse({
    version: 1,
    ...(params.environment !== undefined ? { environment: params.environment } : {}),
    severities: levels,
    splits: results,
    ...(params.skew || params.drift ? { comparisons: compared.comparisons, datasetComparisons: compared.datasetComparisons, comparisonNotes: compared.notes } : {}),
  });
  await writeFile(path.join(ctx.outputDirs.anomalies, ANOMALIES_FILE_NAME), `${JSON.stringify(payload, null, 2)}\n`);
  await writeFile(path.join(ctx.outputDirs.anomalies, ANOMALIES_REPORT_FILE_NAME), renderAnomaliesReport(payload, { statistics: stats, usefulness: await usefulnessOf(statistics.localDir, 'ExampleValidator') }));

  const all = results.flatMap((s) => s.anomalies);
  const errors = all.filter((a) => a.severity === 'ERROR');
  const warnings = all.filter((a) => a.severity === 'WARNING');
  return {
    properties: { anomalies: { split_names: splitNamesProperty(results.map((s) => s.name)), errors: errors.length, warnings: warnings.length } },
    summary: {
      splits: Object.fromEntries(
        results.map((s) => [s.name, { numExamples: s.numExamples, errors: s.anomalies.filter((a) => a.severity === 'ERROR').length, warnings: s.anomalies.filter((a) => a.severity === 'WARNING').length }]),
      ),
      ...(errors.length > 0 ? { errors: listed(errors) } : {}),
      ...(warnings.length > 0 ? { warnings: listed(warnings) } : {}),
      ...(compared.notes.length > 0 ? { comparisonNotes: compared.notes } : {}),
    },
    ...(errors.length > 0 ? { block: { reason: `${errors.length} ERROR ${errors.length === 1 ? 'anomaly' : 'anomalies'}: ${listed(errors).join('; ')}` } } : {}),
  };
});
