import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { defineExecutor, UserInputError } from '../../dsl/executor';
import { ModelConfigSchema } from '../../serving/model-config';
import { openSession, type Tensor } from '../../onnx/session';
import { listSplits, splitParquetFiles } from '../data/examples-layout';
import { readJsonPayload } from '../data/json-payload';
import { monotonicProgress } from '../data/progress';
import { BLESSED_PROPERTY } from '../evaluator/baseline';
import { servingModelFiles } from '../evaluator/predictions';
import { DEFAULT_MAX_BATCH_SIZE, type ServingSignature } from '../trainer/serving-graph';
import { SERVING_CONFIG_FILE } from '../trainer/payload';
import { compareAnswers, TOLERANCE_TEXT } from './compare-answers';
import { columnFeeds, readEvalColumns, sliceColumns, type EvalColumns } from './eval-columns';
import { EXAMPLE_REQUEST_FILE, exampleRequest } from './example-request';
import { INFRA_BLESSED_MARKER, INFRA_BLESSING_FILE, INFRA_CONFIG_FILE, INFRA_NOT_BLESSED_MARKER, InfraBlessingSchema, type InfraBlessing, type ProtocolCheck } from './payload';
import { startServerProcess, ServerStartError, type ServerProcess } from './server-process';
import { InfraValidator, type InfraValidatorParameters } from './spec';
import { withWarmupRows, writeWarmupFiles } from './warmup-files';
import { grpcInferer, inferHttp, type Answer } from './wire';

/** The candidate's name in the scratch repository. */
const SCRATCH_MODEL = 'candidate';
/** Every protocol's answers for the rows, in batches the server takes, compared with in-process onnxruntime's. */
async function checkAnswers(options: {
  server: ServerProcess;
  signature: ServingSignature;
  expected: Record<string, Tensor>[];
  batches: Array<{ start: number; end: number }>;
  sample: EvalColumns;
  timeoutMs: number;
  signal: AbortSignal;
}): Promise<ProtocolCheck[]> {
  const { signature } = options;
  const grpc = grpcInferer(options.server.grpcAddress);
  try {
    const protocols: Array<{ protocol: ProtocolCheck['protocol']; infer: (columns: EvalColumns['columns']) => Promise<Answer> }> = [
      { protocol: 'http', infer: (columns) => inferHttp({ http: options.server.http, model: SCRATCH_MODEL, inputs: signature.inputs, outputs: signature.outputs, columns, timeoutMs: options.timeoutMs }) },
      { protocol: 'grpc', infer: (columns) => grpc.infer({ model: SCRATCH_MODEL, inputs: signature.inputs, outputs: signature.outputs, columns, timeoutMs: options.timeoutMs }) },
    ];
    const checks: ProtocolCheck[] = [];
    for (const { protocol, infer } of protocols) {
      const check: ProtocolCheck = { protocol, rows: 0, elements: 0, mismatch: null };
      for (const [b, { start, end }] of options.batches.entries()) {
        options.signal.throwIfAborted();
        const served = await infer(sliceColumns(options.sample.columns, start, end)).catch((err: Error) => {
          throw new Error(`the ${protocol} request for rows ${start}..${end - 1} failed: ${err.message}`);
        });
        const compared = compareAnswers({ outputs: signature.outputs, expected: options.expected[b]!, served, rows: end - start, firstRow: start });
        check.rows += end - start;
        check.elements += compared.elements;
        if (compared.mismatch) {
          check.mismatch = compared.mismatch;
          break;
        }
      }
      checks.push(check);
    }
    return checks;
  } finally {
    grpc.close();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

/** Single-row HTTP requests one after another, cycling through the rows: what one user's request waits. */
async function measureLatency(server: ServerProcess, signature: ServingSignature, sample: EvalColumns, params: InfraValidatorParameters, signal: AbortSignal): Promise<NonNullable<InfraBlessing['latencyMs']>> {
  const times: number[] = [];
  for (let i = 0; i < params.latencyRequests; i++) {
    signal.throwIfAborted();
    const row = i % sample.rows;
    const started = performance.now();
    await inferHttp({ http: server.http, model: SCRATCH_MODEL, inputs: signature.inputs, outputs: signature.outputs, columns: sliceColumns(sample.columns, row, row + 1), timeoutMs: params.requestTimeoutMs });
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const round = (ms: number) => Number(ms.toFixed(3));
  return { requests: times.length, p50: round(percentile(times, 0.5)), p99: round(percentile(times, 0.99)), max: round(times[times.length - 1]!) };
}

export const executor = defineExecutor(InfraValidator, async (ctx) => {
  const { parameters: params, signal } = ctx;
  const progress = monotonicProgress(ctx.progress);
  const [examples] = ctx.inputs.examples;
  const [model] = ctx.inputs.model;
  if (!examples || !model) throw new UserInputError('the InfraValidator needs Examples on "examples" and a ServingModel on "model"');
  const split = (await listSplits(examples.localDir, examples.ref.properties)).find((s) => s.name === params.split);
  if (!split) throw new UserInputError(`split "${params.split}" is not in the examples (${examples.localDir})`);
  const served = await servingModelFiles(model.localDir);
  const { signature } = served;
  const config = await readJsonPayload(path.join(model.localDir, SERVING_CONFIG_FILE), ModelConfigSchema, 'InfraValidator serving model config');

  const sample = await readEvalColumns({ rawFiles: await splitParquetFiles(split), inputs: signature.inputs, rows: params.rows, tmpDir: ctx.tmpDir, signal });
  if (sample.rows === 0) throw new UserInputError(`split "${split.name}" has no rows to send to the server`);
  const warmupRows = Math.min(params.warmupRows, sample.rows);
  const { config: servedConfig, files: warmupFiles } = withWarmupRows(config, signature, sample.columns, warmupRows);

  const outDir = ctx.outputDirs.infraBlessing;
  await writeFile(path.join(outDir, INFRA_CONFIG_FILE), `${JSON.stringify(servedConfig, null, 2)}\n`);
  await writeWarmupFiles(outDir, warmupFiles);
  const request = exampleRequest(signature.inputs, sample.columns, sample.rows);
  if (request) await writeFile(path.join(outDir, EXAMPLE_REQUEST_FILE), `${JSON.stringify(request)}\n`);

  // Laid out as the Pusher publishes it, so the server warms the candidate with the same rows.
  const repository = path.join(ctx.tmpDir, 'repo');
  const scratchModel = path.join(repository, SCRATCH_MODEL);
  await mkdir(path.join(scratchModel, '1'), { recursive: true });
  await copyFile(served.model, path.join(scratchModel, '1', 'model.onnx'));
  await writeFile(path.join(scratchModel, INFRA_CONFIG_FILE), JSON.stringify(servedConfig));
  await writeWarmupFiles(scratchModel, warmupFiles);

  const batchSize = config.max_batch_size || DEFAULT_MAX_BATCH_SIZE;
  const batches: Array<{ start: number; end: number }> = [];
  for (let start = 0; start < sample.rows; start += batchSize) batches.push({ start, end: Math.min(sample.rows, start + batchSize) });

  let checks: ProtocolCheck[] = [];
  let latencyMs: InfraBlessing['latencyMs'] = null;
  let failure: string | null = null;
  progress({ fraction: 0.1, message: 'starting the model server' });
  let server: ServerProcess | undefined;
  try {
    server = await startServerProcess({ repository, model: SCRATCH_MODEL, readyTimeoutMs: params.readyTimeoutMs, signal });
    progress({ fraction: 0.4, message: `comparing ${sample.rows} rows over HTTP and gRPC with in-process onnxruntime` });
    const session = await openSession(served.model);
    const expected: Record<string, Tensor>[] = [];
    try {
      for (const { start, end } of batches) expected.push(await session.run(columnFeeds(signature.inputs, sliceColumns(sample.columns, start, end))));
    } finally {
      await session.release();
    }
    checks = await checkAnswers({ server, signature, expected, batches, sample, timeoutMs: params.requestTimeoutMs, signal });
    const wrong = checks.find((c) => c.mismatch);
    if (wrong) failure = `the served model answers differently from in-process onnxruntime over ${wrong.protocol}: ${wrong.mismatch}`;
    else {
      progress({ fraction: 0.7, message: `timing ${params.latencyRequests} single-row HTTP requests` });
      latencyMs = await measureLatency(server, signature, sample, params, signal);
    }
  } catch (err) {
    signal.throwIfAborted();
    if (err instanceof UserInputError) throw err;
    failure = err instanceof ServerStartError ? err.message : `the model server did not answer: ${(err as Error).message}`;
  } finally {
    await server?.stop();
  }

  const blessing: InfraBlessing = InfraBlessingSchema.parse({
    version: 1,
    infraBlessed: failure === null,
    reason: failure ?? `served by mlpipe serve; ${checks.map((c) => `${c.rows} rows over ${c.protocol}`).join(' and ')} equal in-process onnxruntime's answers`,
    model: model.ref.uri,
    tolerance: TOLERANCE_TEXT,
    checks,
    latencyMs,
    warmupRows,
  });
  await writeFile(path.join(outDir, INFRA_BLESSING_FILE), `${JSON.stringify(blessing, null, 2)}\n`);
  await writeFile(path.join(outDir, blessing.infraBlessed ? INFRA_BLESSED_MARKER : INFRA_NOT_BLESSED_MARKER), '');
  progress({ fraction: 1, message: blessing.infraBlessed ? 'infra-blessed' : 'not infra-blessed' });
  return {
    // TFX's InfraBlessing property, the Evaluator's name too: what the Pusher reads.
    properties: { infraBlessing: { [BLESSED_PROPERTY]: blessing.infraBlessed } },
    summary: { verdict: blessing.infraBlessed ? 'infra-blessed' : 'not infra-blessed', reason: blessing.reason, ...(latencyMs ? { p50Ms: latencyMs.p50, p99Ms: latencyMs.p99 } : {}) },
    ...(blessing.infraBlessed ? {} : { block: { reason: `the model is not infra-blessed: ${blessing.reason}` } }),
  };
});
