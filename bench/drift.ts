import { readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { ANOMALIES_FILE_NAME, ExampleAnomaliesSchema } from '../components/example-validator/payload';
import { ExampleValidator } from '../components/example-validator/spec';
import { ExampleGen } from '../components/example-gen/spec';
import { SchemaGen } from '../components/schema-gen/spec';
import { PARTIAL_STATISTICS_FILE_NAME } from '../components/statistics-gen/partial-statistics';
import { StatisticsGen } from '../components/statistics-gen/spec';
import { runExecutorForTest } from '../test/support/executor-harness';
import { vegaFile } from '../test/components/vega-data';

/**
 * ExampleValidator with every skew measure (L-infinity, JSD, PSI, normalised Wasserstein, KS, chi-square
 * on each feature) on flights-3m.parquet's train vs eval (ExampleGen's hash split, 2:1), beside
 * StatisticsGen's time on the same Examples in the same run, and ExampleValidator without skew (the
 * schema checks alone). The measures read statistics.json and partial_statistics.json (exact value
 * counts), never the rows. Each timed step runs twice and the faster run counts (the machine is
 * shared). Also prints whether the defaults fired on this random re-split of 3 M rows.
 *
 *   node dist/bench/drift.js
 */
const RUNS = 2;

async function best<T>(fn: () => Promise<T>): Promise<{ seconds: number; result: T }> {
  let out: { seconds: number; result: T } | undefined;
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint();
    const result = await fn();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (!out || seconds < out.seconds) out = { seconds, result };
  }
  return out!;
}

async function main(): Promise<void> {
  const examples = await runExecutorForTest(ExampleGen, { parameters: { input: vegaFile('flights-3m.parquet') } });
  const statisticsRun = await best(() => runExecutorForTest(StatisticsGen, { inputs: { examples: [examples.artifact('examples')] } }));
  const statistics = statisticsRun.result.artifact('statistics');
  const schema = (await runExecutorForTest(SchemaGen, { inputs: { statistics: [statistics] } })).artifact('schema');
  const validate = (withSkew: boolean) => () =>
    runExecutorForTest(ExampleValidator, { parameters: withSkew ? { skew: { baseline: 'train', compare: ['eval'] } } : {}, inputs: { statistics: [statistics], schema: [schema] } });
  const plain = await best(validate(false));
  const skew = await best(validate(true));

  const payload = ExampleAnomaliesSchema.parse(JSON.parse(await readFile(path.join(skew.result.outputDirs.anomalies!, ANOMALIES_FILE_NAME), 'utf8')));
  const rows = Object.fromEntries(payload.splits.map((s) => [s.name, s.numExamples]));
  const partialBytes = (await stat(path.join(statistics.localDir, PARTIAL_STATISTICS_FILE_NAME))).size;
  const fired = payload.splits.flatMap((s) => s.anomalies).filter((a) => a.kind.startsWith('COMPARATOR_'));
  const value = (m: { value: number | null; pValue?: number }) => `${m.value === null ? 'n/a' : Number(m.value.toPrecision(3))}${m.pValue !== undefined ? ` (p ${Number(m.pValue.toPrecision(3))})` : ''}`;
  const measured = payload.comparisons!.map(
    (c) => `  ${c.feature} (${c.type}): ${Object.entries(c.measures).map(([name, m]) => `${name} ${value(m)} [${m.source}]`).join(', ')}`,
  );
  const s = (x: number) => `${x.toFixed(2)} s`;
  process.stdout.write(
    `flights-3m.parquet through ExampleGen: train ${rows.train} rows, eval ${rows.eval} rows; partial_statistics.json ${(partialBytes / 1e6).toFixed(1)} MB\n` +
      `StatisticsGen (train and eval):                       ${s(statisticsRun.seconds)}\n` +
      `ExampleValidator, schema checks only:                 ${s(plain.seconds)}\n` +
      `ExampleValidator with skew train vs eval, all measures: ${s(skew.seconds)} (${(skew.seconds / statisticsRun.seconds).toFixed(3)}x StatisticsGen; the measures alone ${s(skew.seconds - plain.seconds)})\n` +
      `measures, train vs eval:\n${measured.join('\n')}\n` +
      `comparator anomalies on this random re-split with SchemaGen's default thresholds: ${fired.length === 0 ? 'none' : fired.map((a) => `${a.feature} ${a.kind}`).join(', ')}\n`,
  );
  await rm(examples.outputDirs.examples!, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
