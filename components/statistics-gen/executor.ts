import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { defineExecutor, UserInputError } from '../../dsl/executor';
import { withDuckDb } from '../data/duckdb-session';
import { monotonicProgress } from '../data/progress';
import { sqlString } from '../data/sql';
import { listSplits, splitNamesProperty, type SplitLocation } from '../data/examples-layout';
import { computeSplitStatistics } from './feature-statistics';
import { ExampleStatisticsSchema, STATISTICS_FILE_NAME, type SplitStatistics } from './payload';
import { StatisticsGen } from './spec';

async function splitRelationSql(split: SplitLocation): Promise<string> {
  const files = (await readdir(split.dir)).filter((f) => f.endsWith('.parquet')).sort();
  if (files.length === 0) throw new UserInputError(`split "${split.name}" has no Parquet files in ${split.dir}`);
  return `read_parquet([${files.map((f) => sqlString(path.join(split.dir, f))).join(', ')}])`;
}

/** StatisticsGen: an Examples artifact → `statistics.json` (see payload.ts). */
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

  const results: SplitStatistics[] = await withDuckDb({ tmpDir: ctx.tmpDir, signal }, async (db) => {
    const done: SplitStatistics[] = [];
    let rowsRead = 0;
    for (const [i, split] of splits.entries()) {
      const relationSql = await splitRelationSql(split);
      const stats = await computeSplitStatistics(db, {
        name: split.name,
        relationSql,
        columns: await db.columns(relationSql),
        topK: params.topK,
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

  const payload = ExampleStatisticsSchema.parse({
    version: 1,
    conventions: { std: 'population (ddof 0)', distinct: 'exact count of non-null values', topValues: params.topK },
    splits: results,
  });
  await writeFile(path.join(outDir, STATISTICS_FILE_NAME), `${JSON.stringify(payload, null, 2)}\n`);
  return {
    properties: { statistics: { split_names: splitNamesProperty(results.map((s) => s.name)) } },
    summary: { splits: Object.fromEntries(results.map((s) => [s.name, { numExamples: s.numExamples, features: s.features.length }])) },
  };
});
