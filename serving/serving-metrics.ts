import type { FailureReason } from './errors';
import { MetricsRegistry, type Counter, type CounterSeries, type Histogram, type HistogramSeries } from './metrics';

const LATENCY_BUCKETS_S = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

export interface Duration {
  count: number;
  ns: number;
}

/** Triton's statistics extension, one model version (`/v2/models/{m}/stats`, gRPC ModelStatistics). */
export interface ModelStatisticsJson {
  name: string;
  version: string;
  last_inference: number;
  inference_count: number;
  execution_count: number;
  inference_stats: Record<
    'success' | 'fail' | 'queue' | 'compute_input' | 'compute_infer' | 'compute_output' | 'cache_hit' | 'cache_miss',
    Duration
  >;
  batch_stats: Array<{ batch_size: number; compute_input: Duration; compute_infer: Duration; compute_output: Duration }>;
}

/** Where one request's time went, as the batcher measured it (the request's total is added on success). */
export interface RequestTiming {
  queueMs: number;
  computeInputMs: number;
  computeInferMs: number;
  computeOutputMs: number;
  rows: number;
}

interface Families {
  success: Counter;
  failure: Counter;
  inferenceCount: Counter;
  execCount: Counter;
  requestUs: Counter;
  queueUs: Counter;
  computeInputUs: Counter;
  computeInferUs: Counter;
  computeOutputUs: Counter;
  requestHist: Histogram;
  queueHist: Histogram;
  computeHist: Histogram;
  batchHist: Histogram;
  loadFailures: Counter;
}

const msToNs = (ms: number) => Math.round(ms * 1e6);

function duration(): Duration {
  return { count: 0, ns: 0 };
}

function addDuration(d: Duration, ms: number): void {
  d.count++;
  d.ns += msToNs(ms);
}

/**
 * Counters of one model version. They outlive a reload of the same version, so Prometheus counters
 * stay monotonic across hot reloads.
 */
export class VersionStatistics {
  private lastInference = 0;
  private inferenceCount = 0;
  private executionCount = 0;
  private readonly stats: ModelStatisticsJson['inference_stats'] = {
    success: duration(),
    fail: duration(),
    queue: duration(),
    compute_input: duration(),
    compute_infer: duration(),
    compute_output: duration(),
    cache_hit: duration(),
    cache_miss: duration(),
  };
  private readonly batches = new Map<number, { compute_input: Duration; compute_infer: Duration; compute_output: Duration }>();
  private readonly s: {
    success: CounterSeries;
    inferenceCount: CounterSeries;
    execCount: CounterSeries;
    requestUs: CounterSeries;
    queueUs: CounterSeries;
    computeInputUs: CounterSeries;
    computeInferUs: CounterSeries;
    computeOutputUs: CounterSeries;
    requestHist: HistogramSeries;
    queueHist: HistogramSeries;
    computeHist: HistogramSeries;
    batchHist: HistogramSeries;
  };
  private readonly failures = new Map<FailureReason, CounterSeries>();

  constructor(
    readonly model: string,
    readonly version: number,
    private readonly families: Families,
  ) {
    const labels = { model, version: String(version) };
    this.s = {
      success: families.success.labels(labels),
      inferenceCount: families.inferenceCount.labels(labels),
      execCount: families.execCount.labels(labels),
      requestUs: families.requestUs.labels(labels),
      queueUs: families.queueUs.labels(labels),
      computeInputUs: families.computeInputUs.labels(labels),
      computeInferUs: families.computeInferUs.labels(labels),
      computeOutputUs: families.computeOutputUs.labels(labels),
      requestHist: families.requestHist.labels(labels),
      queueHist: families.queueHist.labels(labels),
      computeHist: families.computeHist.labels(labels),
      batchHist: families.batchHist.labels(labels),
    };
  }

  recordSuccess(t: RequestTiming, requestMs: number): void {
    this.lastInference = Date.now();
    this.inferenceCount += t.rows;
    addDuration(this.stats.success, requestMs);
    addDuration(this.stats.queue, t.queueMs);
    addDuration(this.stats.compute_input, t.computeInputMs);
    addDuration(this.stats.compute_infer, t.computeInferMs);
    addDuration(this.stats.compute_output, t.computeOutputMs);
    const s = this.s;
    s.success.inc();
    s.inferenceCount.inc(t.rows);
    s.requestUs.inc(Math.round(requestMs * 1000));
    s.queueUs.inc(Math.round(t.queueMs * 1000));
    s.computeInputUs.inc(Math.round(t.computeInputMs * 1000));
    s.computeInferUs.inc(Math.round(t.computeInferMs * 1000));
    s.computeOutputUs.inc(Math.round(t.computeOutputMs * 1000));
    s.requestHist.observe(requestMs / 1000);
    s.queueHist.observe(t.queueMs / 1000);
  }

  recordFailure(reason: FailureReason, requestMs: number): void {
    addDuration(this.stats.fail, requestMs);
    let series = this.failures.get(reason);
    if (!series) {
      series = this.families.failure.labels({ model: this.model, version: String(this.version), reason });
      this.failures.set(reason, series);
    }
    series.inc();
  }

  recordExecution(batchSize: number, inputMs: number, inferMs: number, outputMs: number): void {
    this.executionCount++;
    this.s.execCount.inc();
    this.s.batchHist.observe(batchSize);
    this.s.computeHist.observe((inputMs + inferMs + outputMs) / 1000);
    let b = this.batches.get(batchSize);
    if (!b) {
      b = { compute_input: duration(), compute_infer: duration(), compute_output: duration() };
      this.batches.set(batchSize, b);
    }
    addDuration(b.compute_input, inputMs);
    addDuration(b.compute_infer, inferMs);
    addDuration(b.compute_output, outputMs);
  }

  toJson(): ModelStatisticsJson {
    return {
      name: this.model,
      version: String(this.version),
      last_inference: this.lastInference,
      inference_count: this.inferenceCount,
      execution_count: this.executionCount,
      inference_stats: structuredClone(this.stats),
      batch_stats: [...this.batches.entries()]
        .sort(([a], [b]) => a - b)
        .map(([batch_size, d]) => ({ batch_size, ...structuredClone(d) })),
    };
  }
}

export interface MetricsSources {
  /** Requests queued or executing, per serving version. */
  pending(): Array<{ model: string; version: number; count: number }>;
  /** Every version the repository knows, with its lifecycle state. */
  states(): Array<{ model: string; version: number; state: string }>;
  /** Seconds each serving version took to load and warm up. */
  loadSeconds(): Array<{ model: string; version: number; seconds: number }>;
}

export const MODEL_STATES = ['LOADING', 'READY', 'UNLOADING', 'FAILED'] as const;

/**
 * Triton's metric names (so existing dashboards work) plus what Triton lacks: latency and batch-size
 * histograms, and each version's load state.
 */
export class ServingMetrics {
  readonly registry = new MetricsRegistry();
  private readonly families: Families;
  private readonly versions = new Map<string, VersionStatistics>();

  constructor(sources: MetricsSources) {
    const r = this.registry;
    this.families = {
      success: r.counter('nv_inference_request_success', 'Number of successful inference requests, all batch sizes'),
      failure: r.counter('nv_inference_request_failure', 'Number of failed inference requests, all batch sizes'),
      inferenceCount: r.counter('nv_inference_count', 'Number of inferences performed (a request of batch size N counts N)'),
      execCount: r.counter('nv_inference_exec_count', 'Number of model executions performed (batches)'),
      requestUs: r.counter('nv_inference_request_duration_us', 'Cumulative inference request duration in microseconds'),
      queueUs: r.counter('nv_inference_queue_duration_us', 'Cumulative inference queuing duration in microseconds'),
      computeInputUs: r.counter('nv_inference_compute_input_duration_us', 'Cumulative compute input duration in microseconds'),
      computeInferUs: r.counter('nv_inference_compute_infer_duration_us', 'Cumulative compute inference duration in microseconds'),
      computeOutputUs: r.counter('nv_inference_compute_output_duration_us', 'Cumulative inference compute output duration in microseconds'),
      requestHist: r.histogram('mlpipe_inference_request_duration_seconds', 'Inference request latency inside the server', LATENCY_BUCKETS_S),
      queueHist: r.histogram('mlpipe_inference_queue_duration_seconds', 'Time a request waited in the batcher queue', LATENCY_BUCKETS_S),
      computeHist: r.histogram('mlpipe_inference_compute_duration_seconds', 'Time one batch execution took (input, infer, output)', LATENCY_BUCKETS_S),
      batchHist: r.histogram('mlpipe_inference_batch_size', 'Rows per model execution', BATCH_SIZE_BUCKETS),
      loadFailures: r.counter('mlpipe_model_load_failures_total', 'Model versions that failed to load or warm up'),
    };
    r.collectedGauge('nv_inference_pending_request_count', 'Instantaneous number of pending requests awaiting execution', () =>
      sources.pending().map((p) => ({ labels: { model: p.model, version: String(p.version) }, value: p.count })),
    );
    r.collectedGauge('mlpipe_model_state', 'Model version lifecycle state (1 for the current state)', () =>
      sources.states().flatMap((s) =>
        MODEL_STATES.map((state) => ({ labels: { model: s.model, version: String(s.version), state }, value: s.state === state ? 1 : 0 })),
      ),
    );
    r.collectedGauge('mlpipe_model_load_duration_seconds', 'Time the serving model version took to load and warm up', () =>
      sources.loadSeconds().map((l) => ({ labels: { model: l.model, version: String(l.version) }, value: l.seconds })),
    );
  }

  forVersion(model: string, version: number): VersionStatistics {
    const key = `${model}\u0000${version}`;
    let v = this.versions.get(key);
    if (!v) {
      v = new VersionStatistics(model, version, this.families);
      this.versions.set(key, v);
    }
    return v;
  }

  recordLoadFailure(model: string, version: number): void {
    this.families.loadFailures.labels({ model, version: String(version) }).inc();
  }

  render(): string {
    return this.registry.render();
  }
}
