import type { ClientDisconnect } from './client-disconnect';
import { asServingError, FAILURE_REASON, ServingError } from './errors';
import { checkClassCount, classify } from './classification';
import type { InferRequest, InferResponse, InferTensor } from './inference-request';
import type { ModelRepository, VersionSelector } from './model-repository';
import type { ModelVersion } from './model-version';
import type { TritonConfigView } from './model-signature';
import type { ModelStatisticsJson, ServingMetrics } from './serving-metrics';
import type { SystemSharedMemory } from './shared-memory';

export const SERVER_NAME = 'mlpipe';
export const SERVER_VERSION = '0.1.0';
/** Open Inference Protocol / Triton extensions this server implements, as `GET /v2` lists them. */
export const SERVER_EXTENSIONS = [
  'classification',
  'binary_tensor_data',
  'model_configuration',
  'statistics',
  'model_repository',
  'system_shared_memory',
];

export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

export interface InferCallOptions {
  /** performance.now() when the request arrived, for the request-duration metrics. */
  startedAt: number;
  disconnect?: ClientDisconnect;
}

/**
 * What every protocol front end calls: one implementation of readiness, metadata, configuration,
 * statistics and inference, so REST, gRPC and TF Serving answer alike.
 */
export class InferenceService {
  private shuttingDown = false;

  constructor(
    readonly repository: ModelRepository,
    readonly metrics: ServingMetrics,
    readonly sharedMemory: SystemSharedMemory,
  ) {}

  get live(): boolean {
    return true;
  }

  get ready(): boolean {
    return !this.shuttingDown && this.repository.ready;
  }

  /** Readiness goes false first during shutdown, so load balancers stop sending work. */
  beginShutdown(): void {
    this.shuttingDown = true;
  }

  serverMetadata(): { name: string; version: string; extensions: string[] } {
    return { name: SERVER_NAME, version: SERVER_VERSION, extensions: SERVER_EXTENSIONS };
  }

  modelMetadata(model: string, selector: VersionSelector): ModelMetadata {
    const mv = this.repository.resolve(model, selector);
    const { signature } = mv.resolved;
    const meta = (t: { name: string; datatype: string; dims: number[] }) => ({ name: t.name, datatype: t.datatype, shape: t.dims });
    return {
      name: model,
      versions: this.repository.servingVersions(model).map(String),
      platform: 'onnxruntime_onnx',
      inputs: signature.inputs.map(meta),
      outputs: signature.outputs.map(meta),
    };
  }

  /** Throws not_found for an unknown model; false while the model (or version) is loading or failed. */
  modelReady(model: string, selector: VersionSelector): boolean {
    if (!this.repository.hasModel(model)) throw new ServingError('not_found', `unknown model '${model}'`);
    if (this.shuttingDown) return false;
    try {
      this.repository.resolve(model, selector);
      return true;
    } catch (err) {
      if (err instanceof ServingError && err.kind === 'unavailable') return false;
      throw err;
    }
  }

  modelConfig(model: string, selector: VersionSelector): TritonConfigView {
    return this.repository.resolve(model, selector).resolved.tritonConfig;
  }

  /** Statistics of every serving version of one model, or of all models. */
  modelStatistics(model?: string, version?: number): { model_stats: ModelStatisticsJson[] } {
    if (model !== undefined && !this.repository.hasModel(model)) throw new ServingError('not_found', `unknown model '${model}'`);
    const models = model !== undefined ? [model] : this.repository.modelNames();
    const stats = models.flatMap((m) => {
      const versions = version !== undefined ? [this.repository.resolve(m, { version }).version] : this.repository.servingVersions(m);
      return versions.map((v) => this.metrics.forVersion(m, v).toJson());
    });
    return { model_stats: stats };
  }

  /** Outputs requested with `classification: k` become their top-k classes (Triton's classification extension). */
  private classified(mv: ModelVersion, outputs: InferTensor[], classifications: Record<string, number>): InferTensor[] {
    const batched = mv.resolved.signature.maxBatchSize > 0;
    return outputs.map((o) => {
      const k = classifications[o.name];
      return k === undefined ? o : classify(o, k, batched, mv.labels.get(o.name));
    });
  }

  async infer(model: string, selector: VersionSelector, request: InferRequest, options: InferCallOptions): Promise<InferResponse> {
    if (this.shuttingDown) throw new ServingError('unavailable', 'server is shutting down');
    const mv = this.repository.resolve(model, selector);
    const stats = this.metrics.forVersion(model, mv.version);
    try {
      const prepared = mv.prepare(request);
      if (request.classifications) for (const [name, k] of Object.entries(request.classifications)) checkClassCount(name, k);
      const result = await mv.submit(prepared, { timeoutUs: request.timeoutUs, disconnect: options.disconnect });
      const outputs = request.classifications ? this.classified(mv, result.outputs, request.classifications) : result.outputs;
      stats.recordSuccess(result.timing, performance.now() - options.startedAt);
      return { modelName: model, modelVersion: mv.version, id: request.id, outputs };
    } catch (err) {
      const error = asServingError(err);
      stats.recordFailure(FAILURE_REASON[error.kind], performance.now() - options.startedAt);
      throw error;
    }
  }
}
