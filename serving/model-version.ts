import { stat } from 'node:fs/promises';
import { assembleFeeds, splitOutputs } from './batch-assembly';
import { DynamicBatcher, type Dispatched, type SubmitOptions } from './dynamic-batcher';
import { ServingError } from './errors';
import { prepareRequest, type InferRequest, type InferTensor, type PreparedRequest } from './inference-request';
import type { ConfigFileName, ModelConfig } from './model-config';
import { resolveInstances, resolveModel, type ResolvedModel } from './model-signature';
import type { RequestTiming, VersionStatistics } from './serving-metrics';
import { InlineSession } from './inline-session';
import { SessionInstance } from './session-instance';
import { warmupFeeds, type WarmupValues } from './warmup-data';

export interface VersionResult {
  outputs: InferTensor[];
  timing: RequestTiming;
}

export interface LoadVersionOptions {
  model: string;
  version: number;
  config: ModelConfig | undefined;
  /** The file `config` came from, for the errors that name it. */
  configFile: ConfigFileName;
  /** A local path, or the model bytes when the repository is remote. */
  modelData: string | Uint8Array;
  modelFilename: string;
  defaultMaxBatchSize: number;
  stats: VersionStatistics;
  /** Class labels per output, from the label files the model's config names. */
  labels?: ReadonlyMap<string, readonly string[]>;
  /** The contents of the input_data_file files the config's warm-up names, by file name. */
  warmupFiles?: ReadonlyMap<string, Uint8Array>;
}

/** A session that runs batches: in a worker thread, or on the event loop. */
type ModelInstance = Pick<SessionInstance, 'run' | 'close'>;

/** Above either limit a model's sessions stay in worker threads: blocking the event loop would show. */
const EVENT_LOOP_MAX_INFER_MS = 0.5;
const EVENT_LOOP_MAX_MODEL_BYTES = 16 * 1024 * 1024;

/** Times the largest batch the model will see on the probe session (best of three runs). */
async function suitsEventLoop(probe: SessionInstance, resolved: ResolvedModel, modelData: string | Uint8Array): Promise<boolean> {
  const bytes = typeof modelData === 'string' ? (await stat(modelData)).size : modelData.byteLength;
  if (bytes > EVENT_LOOP_MAX_MODEL_BYTES) return false;
  const sample = resolved.warmup[0]!;
  // Random values would make the timing vary; a file's sample is kept, as the model may reject zeros.
  const timed = (values: WarmupValues): WarmupValues => (values.kind === 'random' ? { kind: 'zero' } : values);
  const fullBatch = { ...sample, batchSize: resolved.signature.maxBatchSize, inputs: sample.inputs.map((i) => ({ ...i, values: timed(i.values) })) };
  const outputNames = resolved.signature.outputs.map((o) => o.name);
  let best = Infinity;
  for (let i = 0; i < 3; i++) best = Math.min(best, (await probe.run(warmupFeeds(fullBatch), outputNames)).inferMs);
  return best < EVENT_LOOP_MAX_INFER_MS;
}

/**
 * One loaded model version: its sessions (worker threads, or the event loop for tiny models), its
 * dynamic batcher, and its signature. Created fully warmed up; `unload` drains it before the sessions
 * close.
 */
export class ModelVersion {
  private readonly batcher: DynamicBatcher<PreparedRequest, VersionResult>;
  private readonly outputNames: string[];

  private constructor(
    readonly model: string,
    readonly version: number,
    readonly resolved: ResolvedModel,
    private readonly instances: ModelInstance[],
    private readonly stats: VersionStatistics,
    readonly loadSeconds: number,
    /** True when the sessions run on the server's event loop rather than in worker threads. */
    readonly onEventLoop: boolean,
    /** Class labels per output, for classification requests. */
    readonly labels: ReadonlyMap<string, readonly string[]>,
  ) {
    this.outputNames = resolved.signature.outputs.map((o) => o.name);
    this.batcher = new DynamicBatcher(resolved.scheduling, instances.length, (batch, instance) => this.execute(batch, instance));
  }

  /**
   * Starts the first session in a worker thread to learn the model's signature, decides where the
   * sessions run, starts the rest, and warms every instance up before the version takes traffic.
   */
  static async load(options: LoadVersionOptions): Promise<ModelVersion> {
    const started = performance.now();
    const { model, config, configFile } = options;
    const settings = resolveInstances(model, config, configFile);
    const sessionData = () => ({
      model: typeof options.modelData === 'string' ? options.modelData : options.modelData.slice(),
      ...(settings.intraOpThreads !== undefined ? { intraOpNumThreads: settings.intraOpThreads } : {}),
      ...(settings.interOpThreads !== undefined ? { interOpNumThreads: settings.interOpThreads } : {}),
    });
    const instances: ModelInstance[] = [];
    try {
      const probe = await SessionInstance.start(sessionData());
      instances.push(probe);
      const resolved = resolveModel(model, config, configFile, probe, {
        defaultMaxBatchSize: options.defaultMaxBatchSize,
        modelFilename: options.modelFilename,
      }, options.warmupFiles);
      const onEventLoop =
        settings.sessionThread === 'event_loop' ||
        (settings.sessionThread === 'auto' && (await suitsEventLoop(probe, resolved, options.modelData)));
      // A model small enough for the event loop gains nothing from a thread pool, whose wake-ups cost CPU.
      const inlineData = () => ({ ...sessionData(), intraOpNumThreads: settings.intraOpThreads ?? 1 });
      const start = () => (onEventLoop ? InlineSession.start(inlineData()) : SessionInstance.start(sessionData()));
      if (onEventLoop) {
        instances.length = 0;
        await probe.close();
      }
      const rest = await Promise.allSettled(Array.from({ length: settings.instanceCount - instances.length }, start));
      for (const r of rest) if (r.status === 'fulfilled') instances.push(r.value);
      const failed = rest.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      const outputNames = resolved.signature.outputs.map((o) => o.name);
      for (const sample of resolved.warmup) {
        for (let i = 0; i < sample.count; i++) {
          await Promise.all(instances.map((inst) => inst.run(warmupFeeds(sample), outputNames)));
        }
      }
      return new ModelVersion(
        model,
        options.version,
        resolved,
        instances,
        options.stats,
        (performance.now() - started) / 1000,
        onEventLoop,
        options.labels ?? new Map(),
      );
    } catch (err) {
      await Promise.all(instances.map((i) => i.close()));
      throw err;
    }
  }

  get pending(): number {
    return this.batcher.pending;
  }

  get accepting(): boolean {
    return !this.batcher.isClosed;
  }

  prepare(request: InferRequest): PreparedRequest {
    return prepareRequest(this.model, this.resolved.signature, request);
  }

  submit(prepared: PreparedRequest, options: SubmitOptions): Promise<VersionResult> {
    return this.batcher.submit(prepared, options);
  }

  /** Stops taking requests, lets queued and running ones finish, then closes the sessions. */
  async unload(): Promise<void> {
    await this.batcher.close();
    await Promise.all(this.instances.map((i) => i.close()));
  }

  private async execute(batch: Array<Dispatched<PreparedRequest>>, instance: number): Promise<Array<VersionResult | ServingError>> {
    const t0 = performance.now();
    const requests = batch.map((b) => b.item);
    const batched = this.resolved.signature.maxBatchSize > 0;
    const feeds = assembleFeeds(requests, this.resolved.signature.inputs, batched);
    const t1 = performance.now();
    const { outputs, inferMs } = await this.instances[instance]!.run(feeds, this.outputNames);
    const t2 = performance.now();
    const perRequest = splitOutputs(requests, outputs, this.resolved.signature.outputs);
    const t3 = performance.now();
    const rows = requests.reduce((n, r) => n + r.rows, 0);
    // The rest of t2 - t1 (handing the batch to the session's thread or event-loop turn and back) is
    // in the request duration but in none of Triton's compute phases.
    const inputMs = t1 - t0;
    const outputMs = t3 - t2;
    this.stats.recordExecution(rows, inputMs, inferMs, outputMs);
    return batch.map((b, i) => ({
      outputs: perRequest[i]!,
      timing: { queueMs: b.queuedMs, computeInputMs: inputMs, computeInferMs: inferMs, computeOutputMs: outputMs, rows: b.item.rows },
    }));
  }
}
