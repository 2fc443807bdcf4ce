import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { defineExecutor, UserInputError } from '../../dsl/executor';
import { withDuckDb } from '../data/duckdb-session';
import { monotonicProgress } from '../data/progress';
import { sqlString } from '../data/sql';
import { listSplits, spanProperties, splitNamesProperty, splitParquetFiles, type SplitLocation } from '../data/examples-layout';
import { finalizeStatistics } from './finalize';
import {
  PARTIAL_STATISTICS_FILE_NAME,
  TOP_SUMMARY_SIZE,
  VALUE_COUNT_CAP,
  type PartialSplit,
  type PartialStatistics,
} from './partial-statistics';
import { ExampleStatisticsSchema, STATISTICS_FILE_NAME } from './payload';
import { DDSKETCH_RELATIVE_ACCURACY } from './sketches/ddsketch';
import { HLL_METHOD } from './sketches/hyperloglog';
import { StatisticsGen } from './spec';
import { writeTfdvExport } from './tfdv-export';
import { renderStatisticsReport, STATISTICS_REPORT_FILE_NAME } from '../reports/statistics-report';
import { computeSplitPartial } from './statistics-sql';
import { writeUsefulness } from './usefulness/usefulness';
import type { Usefulness } from './usefulness/payload';

/** DuckDB spills its hash tables to the executor's scratch space beyond this, so memory stays bounded whatever the input. */
const DUCKDB_MEMORY_LIMIT = '512MB';

async function splitRelationSql(split: SplitLocation): Promise<string> {
  return `read_parquet([${(await splitParquetFiles(split)).map(sqlString).join(', ')}])`;
}

/**
 * StatisticsGen: an Examples artifact → `statistics.json` (payload.ts) and the mergeable state it was
 * finalized from, `partial_statistics.json` (partial-statistics.ts).
 */
export const executor = defineExecutor(StatisticsGen, async (ctx) => {
  const { parameters: params, signal } = ctx;
  const progress = monotonicProgress(ctx.progress);
  const [examples] = ctx.inputs.examples;
  if (!examples) throw new UserInputError('StatisticsGen needs an Examples artifact on its "examples" input');
  const outDir = ctx.outputDirs.statistics;

  const all = await listSplits(examples.localDir, examples.ref.properties);
  const unknown = params.excludeSplits.filter((name) => !all.some((s) => s.name === name));
  if (unknown.length > 0) {
    throw new UserInputError(`excludeSplits names splits the examples do not have: ${unknown.join(', ')} (they have ${all.map((s) => s.name).join(', ')})`);
  }
  const splits = all.filter((s) => !params.excludeSplits.includes(s.name));

  const results: PartialSplit[] = await withDuckDb({ tmpDir: ctx.tmpDir, signal }, async (db) => {
    await db.query(`SET memory_limit = ${sqlString(DUCKDB_MEMORY_LIMIT)}`);
    const done: PartialSplit[] = [];
    let rowsRead = 0;
    for (const [i, split] of splits.entries()) {
      const stats = await computeSplitPartial(db, {
        name: split.name,
        relationSql: await splitRelationSql(split),
        weightFeature: params.weightFeature,
        slices: params.slices,
        valueCountCap: VALUE_COUNT_CAP,
        topSummarySize: TOP_SUMMARY_SIZE,
        onProgress: (p) =>
          progress({
            fraction: (i + p.fraction) / splits.length,
            message: `statistics of split ${split.name}`,
            counters: { rowsRead: rowsRead + p.rowsProcessed },
          }),
      });
      rowsRead += stats.numExamples;
      done.push(stats);
      progress({ fraction: (i + 1) / splits.length, message: `statistics of split ${split.name} done`, counters: { rowsRead } });
    }
    return done;
  });

  // Built by typed code: readers of the file (mergers) parse it with PartialStatisticsSchema.
  const partial: PartialStatistics = {
    version: 1,
    conventions: {
      valueCountCap: VALUE_COUNT_CAP,
      topSummarySize: TOP_SUMMARY_SIZE,
      ddsketchRelativeAccuracy: DDSKETCH_RELATIVE_ACCURACY,
      hyperLogLog: HLL_METHOD,
      weightFeature: params.weightFeature ?? null,
      slices: params.slices,
    },
    splits: results,
  };
  const payload = ExampleStatisticsSchema.parse(finalizeStatistics(partial, params));
  await writeFile(path.join(outDir, PARTIAL_STATISTICS_FILE_NAME), JSON.stringify(partial));
  await writeFile(path.join(outDir, STATISTICS_FILE_NAME), `${JSON.stringify(payload, null, 2)}\n`);
  await writeTfdvExport(outDir, payload);
  let usefulness: Usefulness | undefined;
  if (params.label !== undefined) {
    const relations = await Promise.all(splits.map(async (s) => ({ name: s.name, relationSql: await splitRelationSql(s) })));
    usefulness = await writeUsefulness(outDir, { label: params.label, statistics: payload, relations, tmpDir: ctx.tmpDir, memoryLimit: DUCKDB_MEMORY_LIMIT, signal, progress });
  }
  await writeFile(path.join(outDir, STATISTICS_REPORT_FILE_NAME), renderStatisticsReport(payload, { usefulness }));
  return {
    properties: { statistics: { split_names: splitNamesProperty(results.map((s) => s.name)), ...spanProperties(examples.ref.properties) } },
    summary: { splits: Object.fromEntries(results.map((s) => [s.name, { numExamples: s.numExamples, features: s.features.length }])) },
  };
});
