import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { defineExecutor, UserInputError, type ExecutorContext } from '../../dsl/executor';
import { withDuckDb } from '../data/duckdb-session';
import { listSplits, splitParquetFiles } from '../data/examples-layout';
import { monotonicProgress } from '../data/progress';
import { readJsonPayload } from '../data/json-payload';
import { sqlIdentifier, sqlString } from '../data/sql';
import { localInputFiles } from '../example-gen/s3-input';
import { renderEvaluationReport } from '../reports/evaluation-report';
import { ServingSignatureSchema } from '../trainer/serving-graph';
import { BASELINE_KEY, BASELINE_MODEL_KEY, BASELINE_SIGNATURE_KEY, BLESSED_PROPERTY, MODEL_CONTENT_PROPERTY, MODEL_URI_PROPERTY } from './baseline';
import { bootstrapIntervals, differenceOf, type BootstrapSlice, type SliceIntervals, type WeightedMetrics } from './bootstrap';
import { permutationImportance } from './feature-importance';
import { classificationReport, evaluateClassification, prepareClassification } from './metrics/classification';
import type { MetricValues } from './metrics/inputs';
import { evaluateRegression, prepareRegression } from './metrics/regression';
import { aucMethod } from './metrics/score-groups';
import { BLESSING_FILE, EVALUATION_FILE, EVALUATION_REPORT_FILE, EvaluationSchema, type Evaluation, type MetricValue, type ModelResult, type SliceResult } from './payload';
import { predictSplit, readEvaluationRows, scoresOutput, servingModelFiles, transformLabels, type EvaluationRows, type ServingModelFiles } from './predictions';
import { SIGNATURE_FILE, TRANSFORM_GRAPH_FILE, TransformSignatureSchema } from '../transform/signature';
import { groupSlices, specFeatures, type SliceRows } from './slices';
import { Evaluator } from './spec';
import { judge } from './thresholds';

/** TFX's marker files in a ModelBlessing, for tools that look for them. */
const BLESSED_MARKER = 'BLESSED';
const NOT_BLESSED_MARKER = 'NOT_BLESSED';

type EvaluatorContext = ExecutorContext<typeof Evaluator.spec>;

interface Candidate {
  uri: string;
  contentHash: string;
  served: ServingModelFiles;
}

/** The baseline the resolve step found, with its files local; undefined for a first model. */
async function baselineOf(ctx: EvaluatorContext): Promise<Candidate | undefined> {
  const ref = ctx.resolved.artifacts[BASELINE_KEY]?.[0];
  const modelSet = ctx.resolved.files[BASELINE_MODEL_KEY];
  const signatureSet = ctx.resolved.files[BASELINE_SIGNATURE_KEY];
  if (!ref || !modelSet || !signatureSet) return undefined;
  const local = async (set: typeof modelSet, dir: string) => {
    const files = await localInputFiles(set, { sources: ctx.s3Sources, dir: path.join(ctx.tmpDir, dir), signal: ctx.signal, progress: ctx.progress });
    return path.join(files.root, files.files[0]!.path);
  };
  const signatureFile = await local(signatureSet, 'baseline-signature');
  return {
    uri: ref.uri,
    contentHash: ref.contentHash,
    served: { model: await local(modelSet, 'baseline-model'), signature: await readJsonPayload(signatureFile, ServingSignatureSchema, 'Evaluator baseline signature') },
  };
}

/**
 * With a TransformGraph wired and `label` one of its labelIds outputs, the class ids the transform
 * gives each raw row (transformLabels); undefined when the label is a raw column.
 */
async function derivedLabels(ctx: EvaluatorContext, rawFiles: string[], classes: string[] | undefined): Promise<string[] | undefined> {
  const [graph] = ctx.inputs.transformGraph;
  if (!graph) return undefined;
  const signature = await readJsonPayload(path.join(graph.localDir, SIGNATURE_FILE), TransformSignatureSchema, 'Evaluator transform signature');
  const mapping = signature.labels.find((l) => l.output === ctx.parameters.label);
  if (!mapping) return undefined;
  if (JSON.stringify(mapping.classes) !== JSON.stringify(classes)) {
    throw new UserInputError(`label "${ctx.parameters.label}": the transform's classes ${JSON.stringify(mapping.classes)} are not the serving model's ${JSON.stringify(classes)}`);
  }
  const outDir = path.join(ctx.tmpDir, 'labels');
  await mkdir(outDir, { recursive: true });
  return transformLabels({
    transformGraph: await readFile(path.join(graph.localDir, TRANSFORM_GRAPH_FILE)),
    signature,
    label: ctx.parameters.label,
    inputFiles: rawFiles,
    outDir,
    tmpDir: ctx.tmpDir,
    signal: ctx.signal,
  });
}

/** The class names of the split's first rows from the derived label ids ('' for -1). */
async function firstLabels(ctx: EvaluatorContext, files: string[], rows: number, classes: string[]): Promise<string[]> {
  const sql = `SELECT CAST(${sqlIdentifier(ctx.parameters.label)} AS INTEGER) AS id FROM read_parquet([${files.map(sqlString).join(', ')}]) LIMIT ${rows}`;
  const ids = await withDuckDb({ tmpDir: ctx.tmpDir, signal: ctx.signal }, async (db) => (await db.query(sql)).getRowObjectsJS());
  return ids.map((r) => classes[Number(r.id)] ?? '');
}

/** A model's metrics over one slice's rows, as a function of the rows' weights (what the bootstrap resamples). */
function sliceMetrics(rows: EvaluationRows, scores: Float32Array, slice: Uint32Array, classification: boolean, exactAucLimit: number): { metrics: WeightedMetrics; report?: ReturnType<typeof classificationReport> } {
  const width = rows.width;
  const picked = new Float32Array(slice.length * width);
  slice.forEach((row, j) => picked.set(scores.subarray(row * width, row * width + width), j * width));
  const weights = rows.weights ? Float64Array.from(slice, (row) => rows.weights![row]!) : undefined;
  if (classification) {
    const labels = Int32Array.from(slice, (row) => (rows.labels as Int32Array)[row]!);
    const prepared = prepareClassification({ labels, scores: picked, k: width, ...(weights ? { weights } : {}) }, { exactAucLimit });
    return { metrics: (w) => evaluateClassification(prepared, w), report: slice.length === rows.rows ? classificationReport(prepared) : undefined };
  }
  const labels = Float64Array.from(slice, (row) => (rows.labels as Float64Array)[row]!);
  const prepared = prepareRegression({ labels, predictions: picked, ...(weights ? { weights } : {}) });
  return { metrics: (w) => evaluateRegression(prepared, w) };
}

/** Point estimates only, when the bootstrap is off: each metric at the examples' own weights. */
function pointsOnly(slices: Array<BootstrapSlice & { weights: Float64Array }>): SliceIntervals[] {
  const values = (m: MetricValues): Record<string, MetricValue> => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, { value: v }]));
  return slices.map((s) => {
    const candidate = s.candidate(s.weights);
    const baseline = s.baseline?.(s.weights);
    return { candidate: values(candidate), baseline: baseline ? values(baseline) : null, difference: baseline ? values(differenceOf(candidate, baseline)) : null };
  });
}

export const executor = defineExecutor(Evaluator, async (ctx) => {
  const { parameters: params, signal } = ctx;
  const progress = monotonicProgress(ctx.progress);
  const [examples] = ctx.inputs.examples;
  const [model] = ctx.inputs.model;
  if (!examples || !model) throw new UserInputError('the Evaluator needs Examples on "examples" and a ServingModel on "model"');
  const split = (await listSplits(examples.localDir, examples.ref.properties)).find((s) => s.name === params.split);
  if (!split) throw new UserInputError(`split "${params.split}" is not in the examples (${examples.localDir})`);
  const rawFiles = await splitParquetFiles(split);

  const candidate: Candidate = { uri: model.ref.uri, contentHash: model.ref.contentHash, served: await servingModelFiles(model.localDir) };
  const { signature } = candidate.served;
  const classification = signature.task === 'classification';
  let baseline = await baselineOf(ctx);
  let baselineNote: string | undefined;
  if (baseline && (baseline.served.signature.task !== signature.task || JSON.stringify(baseline.served.signature.classes) !== JSON.stringify(signature.classes))) {
    baselineNote = `the baseline ${baseline.uri} predicts other ${classification ? 'classes' : 'targets'}, so it is not compared`;
    baseline = undefined;
  }
  const models = baseline ? [candidate, baseline] : [candidate];

  const predictionFiles: string[][] = [];
  for (const [i, m] of models.entries()) {
    const outDir = path.join(ctx.tmpDir, `predictions-${i}`);
    await mkdir(outDir, { recursive: true });
    predictionFiles.push(
      await predictSplit({
        served: m.served,
        inputFiles: rawFiles,
        outDir,
        tmpDir: ctx.tmpDir,
        signal,
        onProgress: (p) => progress({ fraction: (0.4 * (i + p.rows / Math.max(1, p.totalRows))) / models.length, message: `${i === 0 ? 'candidate' : 'baseline'} predicting split ${split.name}`, counters: { rows: p.rows } }),
      }),
    );
  }

  const labelIdFiles = await derivedLabels(ctx, rawFiles, signature.classes);
  const sliceFeatures = [...new Set(params.slices.flatMap(specFeatures))];
  const numericSlices = await withDuckDb({ tmpDir: ctx.tmpDir, signal }, async (db) => {
    const columns = await db.columns(`read_parquet([${rawFiles.map(sqlString).join(', ')}])`);
    for (const needed of [...(labelIdFiles ? [] : [params.label]), ...(params.weightFeature ? [params.weightFeature] : []), ...sliceFeatures]) {
      if (!columns.some((c) => c.name === needed)) throw new UserInputError(`split "${split.name}" has no column "${needed}" (its columns: ${columns.map((c) => c.name).join(', ')})`);
    }
    return new Set(columns.filter((c) => ['INT', 'FLOAT', 'BOOL'].includes(c.kind)).map((c) => c.name));
  });
  const width = classification ? signature.classes!.length : 1;
  const rows = await readEvaluationRows({
    rawFiles,
    predictionFiles,
    width,
    scoresColumn: scoresOutput(signature),
    plan: { label: params.label, ...(labelIdFiles ? { labelIdFiles } : {}), classes: signature.classes, weightFeature: params.weightFeature, sliceFeatures, numericSlices },
    signal,
  });
  if (rows.rows === 0) throw new UserInputError(`split "${split.name}" has no row with a label "${params.label}" the model knows (${rows.leftOut.missingLabel} missing, ${rows.leftOut.unknownClass} of unknown classes)`);
  progress({ fraction: 0.45, message: `${rows.rows} rows scored; metrics per slice` });

  const groups: SliceRows[] = groupSlices({ rowCount: rows.rows, columns: rows.sliceValues, specs: params.slices, minSliceSize: params.minSliceSize });
  const judged = groups.filter((g) => !g.tooSmall);
  const prepared = judged.map((g) => models.map((_, m) => sliceMetrics(rows, rows.scores[m]!, g.rows, classification, params.exactAucLimit)));
  const bootstrapSlices = judged.map((g, s) => ({
    rows: g.rows,
    candidate: prepared[s]![0]!.metrics,
    ...(baseline ? { baseline: prepared[s]![1]!.metrics } : {}),
    weights: rows.weights ? Float64Array.from(g.rows, (r) => rows.weights![r]!) : new Float64Array(g.rows.length).fill(1),
  }));
  const intervals =
    params.bootstrap === false
      ? pointsOnly(bootstrapSlices)
      : await bootstrapIntervals({
          rowCount: rows.rows,
          ...(rows.weights ? { exampleWeights: rows.weights } : {}),
          slices: bootstrapSlices,
          bootstrap: params.bootstrap,
          signal,
          onProgress: (p) => progress({ fraction: 0.45 + (0.4 * p.resamples) / p.of, message: `bootstrap resample ${p.resamples} of ${p.of}` }),
        });

  const sliceResult = (m: 0 | 1) => (group: SliceRows): SliceResult => {
    const s = judged.indexOf(group);
    const weight = rows.weights ? group.rows.reduce((sum, r) => sum + rows.weights![r]!, 0) : undefined;
    const base = { slice: group.key, examples: group.rows.length, ...(weight !== undefined ? { weight } : {}), tooSmall: group.tooSmall };
    if (s < 0) return { ...base, metrics: {} };
    const metrics = m === 0 ? intervals[s]!.candidate : intervals[s]!.baseline!;
    const report = prepared[s]![m]!.report;
    if (!report) return { ...base, metrics };
    // Curves keyed by class name: what the report titles them with.
    const byName = (curves: typeof report.roc) => Object.fromEntries(Object.entries(curves).map(([id, curve]) => [signature.classes?.[Number(id)] ?? id, curve]));
    return { ...base, metrics, confusionMatrix: report.confusionMatrix, roc: byName(report.roc), pr: byName(report.pr), calibration: report.calibration };
  };
  const candidateSlices = groups.map(sliceResult(0));
  const baselineSlices = baseline ? groups.map(sliceResult(1)) : null;
  const differences = baseline ? judged.map((g, s) => ({ slice: g.key, metrics: intervals[s]!.difference! })) : [];
  const judgement = judge({
    thresholds: params.thresholds,
    candidate: candidateSlices,
    baseline: baselineSlices,
    differences,
    minSliceSize: params.minSliceSize,
    confidence: params.bootstrap === false ? null : params.bootstrap.confidence,
  });

  let importance: Evaluation['featureImportance'] = [];
  if (params.featureImportance !== false) {
    progress({ fraction: 0.9, message: 'permutation feature importance' });
    const classIds = new Map((signature.classes ?? []).map((c, i) => [c, i]));
    const metric = classification ? 'accuracy' : 'rmse (lower)';
    const found = await permutationImportance({
      model: candidate.served.model,
      inputs: signature.inputs,
      rawFiles,
      label: labelIdFiles ? await firstLabels(ctx, labelIdFiles, params.featureImportance.maxRows, signature.classes!) : params.label,
      output: scoresOutput(signature),
      ...params.featureImportance,
      signal,
      score: (labels, outputs) => {
        let right = 0;
        let squared = 0;
        let counted = 0;
        labels.forEach((label, i) => {
          if (classification) {
            const id = classIds.get(label);
            if (id === undefined) return;
            let best = 0;
            for (let c = 1; c < width; c++) if (outputs[i * width + c]! > outputs[i * width + best]!) best = c;
            right += best === id ? 1 : 0;
          } else {
            const y = Number(label);
            if (label === '' || !Number.isFinite(y)) return;
            squared += (outputs[i]! - y) ** 2;
          }
          counted++;
        });
        if (counted === 0) return null;
        return classification ? right / counted : -Math.sqrt(squared / counted);
      },
    });
    importance = found.map((f) => ({ ...f, metric }));
  }

  const modelResult = (m: Candidate, slices: SliceResult[]): ModelResult => ({ uri: m.uri, contentHash: m.contentHash, slices });
  const evaluation: Evaluation = EvaluationSchema.parse({
    version: 1,
    task: signature.task,
    label: params.label,
    ...(signature.classes ? { classes: signature.classes } : {}),
    split: split.name,
    weightFeature: params.weightFeature ?? null,
    auc: aucMethod(rows.rows, params.exactAucLimit),
    bootstrap: params.bootstrap === false ? null : { method: 'poisson', ...params.bootstrap },
    candidate: modelResult(candidate, candidateSlices),
    baseline: baseline && baselineSlices ? modelResult(baseline, baselineSlices) : null,
    differences,
    checks: judgement.checks,
    blessed: judgement.blessed,
    verdict: judgement.verdict,
    featureImportance: importance,
  });

  const evaluationDir = ctx.outputDirs.evaluation;
  await writeFile(path.join(evaluationDir, EVALUATION_FILE), `${JSON.stringify(evaluation, null, 2)}\n`);
  await writeFile(path.join(evaluationDir, EVALUATION_REPORT_FILE), renderEvaluationReport(evaluation));
  const blessingDir = ctx.outputDirs.blessing;
  const blessing = { blessed: judgement.blessed, verdict: judgement.verdict, model: candidate.uri, baseline: baseline?.uri ?? null, checks: judgement.checks };
  await writeFile(path.join(blessingDir, BLESSING_FILE), `${JSON.stringify(blessing, null, 2)}\n`);
  await writeFile(path.join(blessingDir, judgement.blessed ? BLESSED_MARKER : NOT_BLESSED_MARKER), '');
  progress({ fraction: 1, message: judgement.verdict });

  const overall = candidateSlices[0]!.metrics;
  const headline = classification ? ['accuracy', 'roc_auc', 'log_loss'] : ['rmse', 'mae', 'r2'];
  const blessedProperties = { [BLESSED_PROPERTY]: judgement.blessed, [MODEL_URI_PROPERTY]: candidate.uri, [MODEL_CONTENT_PROPERTY]: candidate.contentHash };
  return {
    properties: { evaluation: { ...blessedProperties }, blessing: blessedProperties },
    summary: {
      verdict: judgement.verdict,
      rows: rows.rows,
      ...(rows.leftOut.missingLabel + rows.leftOut.unknownClass > 0 ? { leftOut: rows.leftOut } : {}),
      baseline: baseline?.uri ?? baselineNote ?? 'none (a first model: value thresholds only)',
      metrics: Object.fromEntries(headline.filter((h) => overall[h]).map((h) => [h, Number((overall[h]!.value ?? NaN).toPrecision(4))])),
      checks: `${judgement.checks.filter((c) => c.passed).length} of ${judgement.checks.length} passed`,
    },
    ...(judgement.blessed ? {} : { block: { reason: `the model is ${judgement.verdict} (see ${EVALUATION_REPORT_FILE})` } }),
  };
});
