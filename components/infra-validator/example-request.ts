import { z } from 'zod';
import { MISSING_INSTANT, type TensorSpec } from '../transform/signature';
import type { InputColumn } from './eval-columns';

/**
 * A real raw row the model was validated with, in TF Serving's REST row format
 * (`{"instances": [{"<feature>": value}]}`, which `mlpipe serve` takes at `/v1/models/<m>:predict`):
 * the request `mlpipe models show` and `mlpipe run --serve` print as a ready-to-paste `curl`. Features
 * read as a person would type them, where OIP v2 would need a tensor object per input.
 */
export const EXAMPLE_REQUEST_FILE = 'example_request.json';

export const ExampleRequestSchema = z
  .object({ instances: z.array(z.record(z.string(), z.union([z.number(), z.string()]))).length(1) })
  .strict();
export type ExampleRequest = z.infer<typeof ExampleRequestSchema>;

function isMissing(column: InputColumn, row: number): boolean {
  const value = column[row]!;
  if (typeof value === 'string') return value === '';
  if (typeof value === 'bigint') return value === MISSING_INSTANT;
  return Number.isNaN(value);
}

/** The shortest decimal that reads back as the same float32: 39.1, not 39.099998474121094. */
function shortestFloat32(value: number): number {
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}

/**
 * The first row with every feature present (JSON has no NaN, and a row with a hole explains the
 * model badly); undefined when every sampled row misses one, or an instant would not fit a JSON number.
 */
export function exampleRequest(inputs: TensorSpec[], columns: InputColumn[], rows: number): ExampleRequest | undefined {
  for (let row = 0; row < rows; row++) {
    if (columns.some((column) => isMissing(column, row))) continue;
    const instance: Record<string, number | string> = {};
    for (const [k, input] of inputs.entries()) {
      const value = columns[k]![row]!;
      if (typeof value === 'bigint') {
        if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) return undefined;
        instance[input.name] = Number(value);
      } else instance[input.name] = typeof value === 'number' ? shortestFloat32(value) : value;
    }
    return { instances: [instance] };
  }
  return undefined;
}

/** The one-line command that sends `request` to a server's TF Serving REST endpoint for `model`. */
export function curlCommand(httpUrl: string, model: string, request: ExampleRequest): string {
  const body = JSON.stringify(request).replace(/'/g, `'\\''`);
  return `curl -s ${httpUrl}/v1/models/${model}:predict -d '${body}'`;
}
