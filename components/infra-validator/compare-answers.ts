import type { Tensor } from '../../onnx/session';
import type { TensorSpec } from '../transform/signature';
import type { Answer } from './wire';

/**
 * The tolerance between the server's answer and in-process onnxruntime's on the same feeds: the
 * server runs the same graph with the same runtime, so only batching may move a float's last bits.
 */
export const ABSOLUTE_TOLERANCE = 1e-6;
export const RELATIVE_TOLERANCE = 1e-6;
export const TOLERANCE_TEXT = `exact for int64 and string outputs; |served − in-process| ≤ ${ABSOLUTE_TOLERANCE} + ${RELATIVE_TOLERANCE}·|in-process| for float32 (NaN equals NaN)`;

export function floatsAgree(served: number, expected: number): boolean {
  if (Number.isNaN(expected) || Number.isNaN(served)) return Number.isNaN(expected) && Number.isNaN(served);
  return Math.abs(served - expected) <= ABSOLUTE_TOLERANCE + RELATIVE_TOLERANCE * Math.abs(expected);
}

const shown = (v: number | string) => (typeof v === 'string' ? JSON.stringify(v) : String(v));

/** Elements compared, and the first difference described (or null): which output, row and values. */
export function compareAnswers(options: { outputs: TensorSpec[]; expected: Record<string, Tensor>; served: Answer; rows: number; firstRow: number }): { elements: number; mismatch: string | null } {
  let elements = 0;
  for (const output of options.outputs) {
    const expected = options.expected[output.name];
    const served = options.served[output.name];
    if (!expected) return { elements, mismatch: `in-process onnxruntime gave no output "${output.name}"` };
    if (!served) return { elements, mismatch: `the server's answer has no output "${output.name}" (it has ${Object.keys(options.served).join(', ') || 'none'})` };
    const values = Array.from(expected.data as ArrayLike<number | bigint | string>, (v) => (typeof v === 'bigint' ? Number(v) : v));
    if (served.length !== values.length) return { elements, mismatch: `output "${output.name}": the server answered ${served.length} values, in-process onnxruntime ${values.length}` };
    const width = values.length / options.rows;
    for (let i = 0; i < values.length; i++) {
      const want = values[i]!;
      const got = served[i]!;
      const same = output.dtype === 'float32' ? floatsAgree(Number(got), Number(want)) : got === want;
      if (!same) return { elements, mismatch: `output "${output.name}", row ${options.firstRow + Math.floor(i / width)}: the server answered ${shown(got)}, in-process onnxruntime ${shown(want)}` };
      elements++;
    }
  }
  return { elements, mismatch: null };
}
