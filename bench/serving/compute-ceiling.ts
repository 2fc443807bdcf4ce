import { openSession, Tensor } from '../../onnx/session';
import { percentile } from '../stats';
import { buildMlpModel, mulberry32, type MlpSpec } from './models';

export interface ComputeCeiling {
  rowsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * (a): session.run on batches of 64 rows in this process, as fast as it goes, with onnxruntime's
 * default threads (one per core) or, for the CPU budget, with the given number of threads.
 */
export async function computeCeiling(
  spec: MlpSpec,
  durationMs: number,
  intraOpNumThreads?: number,
): Promise<ComputeCeiling> {
  const session = await openSession(buildMlpModel(spec), intraOpNumThreads ? { intraOpNumThreads } : {});
  const random = mulberry32(7);
  const input = new Tensor('float32', new Float32Array(64 * spec.inputDim).map(() => random()), [64, spec.inputDim]);
  for (let i = 0; i < 5; i++) await session.run({ input });
  const times: number[] = [];
  const started = performance.now();
  while (performance.now() - started < durationMs) {
    const t0 = performance.now();
    await session.run({ input });
    times.push(performance.now() - t0);
  }
  const seconds = (performance.now() - started) / 1000;
  await session.release();
  return { rowsPerSecond: (times.length * 64) / seconds, p50Ms: percentile(times, 50), p99Ms: percentile(times, 99) };
}
