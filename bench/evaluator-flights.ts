import { mkdir, readFile, symlink } from 'node:fs/promises';
import path from 'node:path';
import { EVALUATION_FILE, EvaluationSchema } from '../components/evaluator/payload';
import { Evaluator } from '../components/evaluator/spec';
import createPipeline from '../examples/flights/pipeline';
import { runExecutorForTest } from '../test/support/executor-harness';
import { runPipelineNodes } from '../test/support/run-pipeline-nodes';
import { tempDir } from '../test/support/tmp';
import { vegaFile } from '../test/components/vega-data';

/**
 * Evaluator throughput on all of flights-3m.parquet (3 M rows as one eval split) with the flights
 * example's model (trained on a 2% sample, 2 epochs: the model's quality does not change the
 * Evaluator's work): the label the transform derives (delayed, bucketed from the delay, read through
 * the transform graph), slices per origin airport, one threshold; with the bootstrap off, and with it on
 * (100 Poisson resamples), in the same run, so its share of the time shows. Feature importance off in
 * both (it reads a fixed 10,000-row sample). Rows/s are the split's rows over the Evaluator's wall time.
 *
 *   node dist/bench/evaluator-flights.js
 */
async function main(): Promise<void> {
  const definition = createPipeline({ sample: '0.02', epochs: '2' });
  const trainStart = performance.now();
  const runs = await runPipelineNodes(definition, { stopBefore: 'evaluator' });
  const trainSeconds = (performance.now() - trainStart) / 1000;
  const servingModel = runs.get('trainer')!.artifact('servingModel');
  const transformGraph = runs.get('transform')!.artifact('transformGraph');

  const all = await tempDir('evaluator-flights');
  await mkdir(path.join(all, 'Split-eval'));
  await symlink(vegaFile('flights-3m.parquet'), path.join(all, 'Split-eval', 'data-00000.parquet'));

  const evaluate = async (bootstrap: false | { resamples: number; seed: number }) => {
    const start = performance.now();
    const run = await runExecutorForTest(Evaluator, {
      parameters: {
        label: 'delayed',
        slices: ['origin'],
        thresholds: [{ metric: 'roc_auc', value: { lower: 0.5 } }],
        bootstrap,
        featureImportance: false,
        baseline: false,
      },
      inputs: { examples: [all], model: [servingModel], transformGraph: [transformGraph] },
    });
    const seconds = (performance.now() - start) / 1000;
    const evaluation = EvaluationSchema.parse(JSON.parse(await readFile(path.join(run.outputDirs.evaluation!, EVALUATION_FILE), 'utf8')));
    return { seconds, evaluation };
  };
  const plain = await evaluate(false);
  const bootstrapped = await evaluate({ resamples: 100, seed: 0 });
  const rows = plain.evaluation.candidate.slices[0]!.examples;
  const judged = plain.evaluation.candidate.slices.filter((s) => !s.tooSmall).length;
  const auc = bootstrapped.evaluation.candidate.slices[0]!.metrics.roc_auc!;
  const rate = (s: number) => `${(rows / s / 1e6).toFixed(2)} M rows/s`;
  process.stdout.write(
    `flights-3m.parquet as one eval split: ${rows} rows with a label, ${plain.evaluation.candidate.slices.length - 1} origin slices (${judged - 1} of 30 rows or more)\n` +
      `model: examples/flights trained on a 2% sample, 2 epochs (the nodes up to the Trainer: ${trainSeconds.toFixed(1)} s); overall ROC AUC ${auc.value?.toFixed(3)} [${auc.lower?.toFixed(3)}, ${auc.upper?.toFixed(3)}]\n` +
      `Evaluator, no bootstrap:       ${plain.seconds.toFixed(1)} s, ${rate(plain.seconds)}\n` +
      `Evaluator, 100 resamples:      ${bootstrapped.seconds.toFixed(1)} s, ${rate(bootstrapped.seconds)}\n` +
      `the bootstrap's share:         ${(((bootstrapped.seconds - plain.seconds) / bootstrapped.seconds) * 100).toFixed(0)}% of the bootstrapped run (${(bootstrapped.seconds / plain.seconds).toFixed(1)}x the run without it)\n`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
