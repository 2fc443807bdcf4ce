import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { defineExecutor, UserInputError, type ExecutorContext } from '../../dsl/executor';
import { exportLayersModel } from '../../onnx/tfjs-export/export-layers-model';
import { splitDirName } from '../data/examples-layout';
import { readJsonPayload, readPayloadText } from '../data/json-payload';
import { localInputFiles } from '../example-gen/s3-input';
import { SCHEMA_FILE_NAME } from '../schema-gen/payload';
import { parseSchemaJson } from '../schema-gen/schema-file';
import { SERVING_GRAPH_FILE, SIGNATURE_FILE, TransformSignatureSchema, type TransformSignature } from '../transform/signature';
import { TrainerCheckpointStateSchema } from './checkpoint-files';
import { METRICS_FILE, MODEL_FILE, SERVING_CONFIG_FILE, SERVING_MODEL_FILE, SERVING_SIGNATURE_FILE, TRAINING_FILE } from './payload';
import { runTrainingScript } from './run-script';
import { buildServingModel } from './serving-graph';
import { MODULE_KEY, Trainer } from './spec';
import { runTypeScriptTrainer } from './train-runtime';

/** The log of the user's own program, published with the model. */
export const SCRIPT_LOG_FILE = 'training-script.log';

type TrainerContext = ExecutorContext<typeof Trainer.spec>;

interface Trained {
  /** Per epoch: `epoch` and the metrics the training reported. */
  metrics: Array<Record<string, number>>;
  epochsRun: number[];
  training: Record<string, unknown>;
}

/** The TypeScript `train(args)`: trained here, exported to ONNX from the returned LayersModel. */
async function trainModule(ctx: TrainerContext, data: TrainingData): Promise<Trained> {
  const set = ctx.resolved.files[MODULE_KEY];
  if (!set) throw new UserInputError('the Trainer ran without its resolved module: run the pipeline again');
  const local = await localInputFiles(set, { sources: ctx.s3Sources, dir: ctx.tmpDir, signal: ctx.signal, progress: ctx.progress });
  const result = await runTypeScriptTrainer({
    modulePath: path.join(local.root, local.files[0]!.path),
    params: ctx.parameters,
    trainDir: data.trainDir,
    evalDir: data.evalDir,
    schema: data.schema,
    signature: data.signature,
    checkpointDir: ctx.checkpointDir,
    resumeState: ctx.resumeState,
    checkpoint: (state) => ctx.checkpoint(state),
    tmpDir: ctx.tmpDir,
    progress: ctx.progress,
    signal: ctx.signal,
  });
  const exported = exportLayersModel(result.model);
  await writeFile(path.join(ctx.outputDirs.model, MODEL_FILE), exported.bytes);
  result.model.dispose();
  return {
    metrics: result.metrics,
    epochsRun: result.epochsRun,
    training: { kind: 'module', backend: result.backend, backendReason: result.reason, modelInputs: exported.inputs, modelOutputs: exported.outputs },
  };
}

/** The user's own program (run-script.ts's contract): it writes model.onnx itself. */
async function trainScript(ctx: TrainerContext, data: TrainingData): Promise<Trained> {
  const params = ctx.parameters;
  const command = params.command!;
  const resumedFrom = TrainerCheckpointStateSchema.safeParse(ctx.resumeState);
  const result = await runTrainingScript({
    command,
    cwd: params.cwd,
    trainDir: data.trainDir,
    evalDir: data.evalDir,
    schemaFile: data.schemaFile,
    transformSignatureFile: data.signatureFile,
    hyperparameters: params.hyperparameters,
    epochs: params.epochs,
    batchSize: params.batchSize,
    seed: params.seed,
    label: params.label,
    outputDir: ctx.outputDirs.model,
    checkpointDir: ctx.checkpointDir,
    tmpDir: ctx.tmpDir,
    logFile: path.join(ctx.outputDirs.model, SCRIPT_LOG_FILE),
    signal: ctx.signal,
    onProgress: ({ epoch, metrics }) =>
      ctx.progress({
        ...(epoch !== undefined ? { fraction: Math.min(1, epoch / params.epochs), message: `epoch ${epoch} of ${params.epochs}` } : {}),
        counters: metrics,
      }),
    onCheckpointReady: ({ epoch }) => ctx.checkpoint({ trainer: 1, epoch: epoch ?? 0 }),
  });
  const metrics = result.progress.filter((p) => p.epoch !== undefined).map((p) => ({ epoch: p.epoch!, ...p.metrics }));
  return {
    metrics,
    epochsRun: metrics.map((m) => m.epoch),
    training: { kind: 'command', command, checkpointsSaved: result.checkpointsSaved, ...(resumedFrom.success ? { resumedAfterEpoch: resumedFrom.data.epoch } : {}) },
  };
}

interface TrainingData {
  trainDir: string;
  evalDir: string;
  schema: ReturnType<typeof parseSchemaJson>;
  schemaFile: string;
  signature: TransformSignature;
  signatureFile: string;
  transformServing: Uint8Array;
}

async function trainingData(ctx: TrainerContext): Promise<TrainingData> {
  const [examples] = ctx.inputs.examples;
  const [graph] = ctx.inputs.transformGraph;
  const [schemaInput] = ctx.inputs.schema;
  if (!examples || !graph || !schemaInput) throw new UserInputError('the Trainer needs transformed Examples, a TransformGraph and a Schema on its inputs');
  const signatureFile = path.join(graph.localDir, SIGNATURE_FILE);
  const schemaFile = path.join(schemaInput.localDir, SCHEMA_FILE_NAME);
  return {
    trainDir: path.join(examples.localDir, splitDirName(ctx.parameters.trainSplit)),
    evalDir: path.join(examples.localDir, splitDirName(ctx.parameters.evalSplit)),
    schema: parseSchemaJson(await readPayloadText(schemaFile, 'Trainer schema'), schemaFile),
    schemaFile,
    signature: await readJsonPayload(signatureFile, TransformSignatureSchema, 'Trainer transform signature'),
    signatureFile,
    transformServing: await readFile(path.join(graph.localDir, SERVING_GRAPH_FILE)),
  };
}

/**
 * Trainer: trains (a TypeScript module or the user's program), writes the Model artifact (`model.onnx`,
 * `metrics.json`, `training.json`, the logs) and the ServingModel (`serving.onnx`: the transform's
 * serving graph in front of the model, its `signature.json` and a `config.json` for `mlpipe serve`).
 */
export const executor = defineExecutor(Trainer, async (ctx) => {
  const params = ctx.parameters;
  const data = await trainingData(ctx);
  const isClassifier = data.signature.labels.some((l) => l.output === params.label);
  if (!isClassifier && !data.signature.training.outputs.some((o) => o.name === params.label)) {
    throw new UserInputError(`label "${params.label}" is no output of the transform (it has ${data.signature.training.outputs.map((o) => o.name).join(', ')})`);
  }
  const trained = params.module !== undefined ? await trainModule(ctx, data) : await trainScript(ctx, data);

  const modelDir = ctx.outputDirs.model;
  const modelBytes = await readFile(path.join(modelDir, MODEL_FILE));
  const serving = buildServingModel({
    transformServing: data.transformServing,
    transformSignature: data.signature,
    model: modelBytes,
    label: params.label,
    inputMode: params.inputMode ?? (params.module !== undefined ? 'byName' : 'concat'),
    ...(params.scores ? { scores: params.scores } : {}),
    ...(params.scoresOutput ? { scoresOutput: params.scoresOutput } : {}),
  });
  const servingDir = ctx.outputDirs.servingModel;
  await writeFile(path.join(servingDir, SERVING_MODEL_FILE), serving.bytes);
  await writeFile(path.join(servingDir, SERVING_SIGNATURE_FILE), `${JSON.stringify(serving.signature, null, 2)}\n`);
  await writeFile(path.join(servingDir, SERVING_CONFIG_FILE), `${JSON.stringify(serving.config, null, 2)}\n`);
  await writeFile(path.join(modelDir, METRICS_FILE), `${JSON.stringify(trained.metrics, null, 2)}\n`);
  await writeFile(path.join(modelDir, TRAINING_FILE), `${JSON.stringify({ ...trained.training, epochsRun: trained.epochsRun }, null, 2)}\n`);

  const last = trained.metrics.at(-1);
  const { modelInputs: _inputs, modelOutputs: _outputs, ...brief } = trained.training;
  return {
    properties: {
      model: { label: params.label, task: serving.signature.task },
      servingModel: { label: params.label, task: serving.signature.task },
    },
    summary: {
      ...brief,
      epochsRun: trained.epochsRun.length > 0 ? `${trained.epochsRun[0]}..${trained.epochsRun.at(-1)}` : 'none',
      ...(last ? { lastEpoch: Object.fromEntries(Object.entries(last).map(([k, v]) => [k, Number(v.toPrecision(4))])) } : {}),
    },
  };
});
