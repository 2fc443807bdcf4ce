import assert from 'node:assert/strict';
import { mlpLayers, mulberry32, type MlpSpec } from '../../bench/serving/models';

/** Tolerance against onnxruntime's float32 arithmetic; different rows or weights differ by far more. */
export const TOLERANCE = 1e-5;

/**
 * The MLP that bench/serving/models.ts builds, computed without onnxruntime: Gemm, ReLU and a final
 * softmax in float64 over the float32 weights, each layer's output rounded to float32 as onnxruntime
 * stores it, so that a value overflowing float32 becomes infinite here as it does there. Returns a
 * function from flat row-major input rows to their flat probabilities.
 */
export function mlpReference(spec: MlpSpec): (rows: ArrayLike<number>) => number[] {
  const layers = mlpLayers(spec);
  return (rows) => {
    assert.equal(rows.length % spec.inputDim, 0, `${rows.length} values are not whole rows of ${spec.inputDim}`);
    const out: number[] = [];
    for (let start = 0; start < rows.length; start += spec.inputDim) {
      let x = Array.from({ length: spec.inputDim }, (_, i) => Math.fround(rows[start + i]!));
      for (const [index, { fanIn, fanOut, weights, bias }] of layers.entries()) {
        const y = Array.from({ length: fanOut }, (_, j) => {
          let sum = bias[j]!;
          for (let i = 0; i < fanIn; i++) sum += x[i]! * weights[i * fanOut + j]!;
          return Math.fround(index + 1 < layers.length ? Math.max(sum, 0) : sum);
        });
        x = y;
      }
      const max = Math.max(...x);
      const exps = x.map((v) => Math.exp(v - max));
      const total = exps.reduce((a, b) => a + b, 0);
      out.push(...exps.map((e) => e / total));
    }
    return out;
  };
}

/** `count` different rows, so that answers given to the wrong request or row do not pass for right ones. */
export function distinctRows(count: number, inputDim: number, seed: number): number[][] {
  const random = mulberry32(seed);
  return Array.from({ length: count }, () => Array.from({ length: inputDim }, () => Math.round((random() * 8 - 2) * 1000) / 1000));
}

/**
 * Asserts that `actual` (what a client decoded from an answer) holds `expected` within TOLERANCE.
 * JSON carries NaN as null, so a null stands for the NaN that infinite inputs lead to.
 */
export function assertClose(actual: ArrayLike<number | null>, expected: readonly number[], what: string, tolerance = TOLERANCE): void {
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} values, expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i]!;
    const ok = Number.isNaN(e) ? a === null || Number.isNaN(a) : typeof a === 'number' && Math.abs(a - e) <= tolerance;
    if (!ok) assert.fail(`${what}: element ${i} is ${a}, expected ${e} (all: [${Array.from(actual).join(', ')}] vs [${expected.join(', ')}])`);
  }
}

/** The float32 values of a raw little-endian tensor, as in binary HTTP bodies and gRPC raw contents. */
export function float32s(raw: Buffer): number[] {
  return Array.from(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length)));
}
