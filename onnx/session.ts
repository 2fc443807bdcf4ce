import * as ort from 'onnxruntime-node';

export { Tensor } from 'onnxruntime-node';
export type OnnxSession = ort.InferenceSession;
export type OnnxValueMetadata = ort.InferenceSession.ValueMetadata;
export type OnnxFeeds = Record<string, ort.Tensor>;

/** onnxruntime's thread settings (Triton's onnxruntime backend parameters of the same names). */
export interface SessionThreads {
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
}

/**
 * onnxruntime options for every session mlpipe opens. Spinning is off: by default onnxruntime's pool
 * threads busy-wait between runs, which doubles the CPU a server burns between batches and starves the
 * event loop that parses the requests forming the next batch (measured: 1.43 vs 0.74 cores for the
 * same work on the heavy benchmark model, runs about 10% slower without spinning).
 */
export function sessionOptions(threads: SessionThreads = {}): ort.InferenceSession.SessionOptions {
  return {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    extra: { 'session.intra_op.allow_spinning': '0', 'session.inter_op.allow_spinning': '0' },
    ...(threads.intraOpNumThreads !== undefined ? { intraOpNumThreads: threads.intraOpNumThreads } : {}),
    ...(threads.interOpNumThreads !== undefined ? { interOpNumThreads: threads.interOpNumThreads } : {}),
  };
}

/** Opens a model from a local path or from its bytes; rejects with onnxruntime's own message when it cannot. */
export function openSession(model: string | Uint8Array, threads: SessionThreads = {}): Promise<OnnxSession> {
  const options = sessionOptions(threads);
  // Two calls because onnxruntime-node's overloads take a path or bytes, not their union.
  return typeof model === 'string' ? ort.InferenceSession.create(model, options) : ort.InferenceSession.create(model, options);
}
