import { halfBitsToNumber, type NumericArray } from './datatypes';
import { ServingError } from './errors';
import type { InferTensor } from './inference-request';

/**
 * Triton's classification extension: an output requested with `classification: k` comes back as a
 * BYTES tensor of the k highest scores per batch row, each "score:index" or, when the output names a
 * label_filename in the model's config, "score:index:label", highest first. Scores print with six decimals.
 */
export function classify(output: InferTensor, k: number, batched: boolean, labels: readonly string[] | undefined): InferTensor {
  checkClassCount(output.name, k);
  if (Array.isArray(output.data)) {
    throw new ServingError('invalid_argument', `output '${output.name}': classification needs a numeric output, not ${output.datatype}`);
  }
  const rows = batched ? (output.shape[0] ?? 1) : 1;
  const classes = rows === 0 ? 0 : output.data.length / rows;
  const top = Math.min(k, classes);
  const data: string[] = [];
  const scores = output.data as NumericArray;
  // FP16 tensors hold raw half-precision bits, which must be decoded before they can be compared.
  const value = output.datatype === 'FP16' ? (i: number) => halfBitsToNumber(scores[i] as number) : (i: number) => Number(scores[i]);
  for (let r = 0; r < rows; r++) {
    const indexes = Array.from({ length: classes }, (_, i) => i);
    const score = (i: number) => value(r * classes + i);
    indexes.sort((a, b) => score(b) - score(a) || a - b);
    for (const i of indexes.slice(0, top)) {
      const label = labels?.[i];
      data.push(`${score(i).toFixed(6)}:${i}${label !== undefined ? `:${label}` : ''}`);
    }
  }
  return { name: output.name, datatype: 'BYTES', shape: batched ? [rows, top] : [top], data };
}

/** A class count of a classification request, checked before the request runs. */
export function checkClassCount(output: string, k: number): void {
  if (!Number.isInteger(k) || k < 1) {
    throw new ServingError('invalid_argument', `output '${output}': classification must be a positive whole number of classes, got ${k}`);
  }
}

/** The lines of a label file: one label per class, in class order. */
export function parseLabels(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}
