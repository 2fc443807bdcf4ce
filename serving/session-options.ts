import type { InferenceSession } from 'onnxruntime-node';
import type { SessionWorkerData } from './session-protocol';

/**
 * onnxruntime options for every session. Spinning is off: by default onnxruntime's pool threads
 * busy-wait between runs, which doubles the CPU a server burns between batches and starves the
 * event loop that parses the requests forming the next batch (measured: 1.43 vs 0.74 cores for the
 * same work on the heavy benchmark model, runs about 10% slower without spinning).
 */
export function ortSessionOptions(data: SessionWorkerData): InferenceSession.SessionOptions {
  return {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    extra: { 'session.intra_op.allow_spinning': '0', 'session.inter_op.allow_spinning': '0' },
    ...(data.intraOpNumThreads !== undefined ? { intraOpNumThreads: data.intraOpNumThreads } : {}),
    ...(data.interOpNumThreads !== undefined ? { interOpNumThreads: data.interOpNumThreads } : {}),
  };
}
