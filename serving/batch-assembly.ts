import { createTensorData, ortTypeOf, type NumericArray, type TensorData } from './datatypes';
import { ServingError } from './errors';
import type { InferTensor, PreparedRequest } from './inference-request';
import type { TensorSpec } from './model-signature';
import type { WireTensor } from './session-protocol';

function concat(parts: readonly TensorData[], spec: TensorSpec): TensorData {
  if (Array.isArray(parts[0])) return ([] as string[]).concat(...(parts as string[][]));
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = createTensorData(spec.datatype, total) as NumericArray;
  let offset = 0;
  for (const p of parts as NumericArray[]) {
    (out as Float32Array).set(p as Float32Array, offset);
    offset += p.length;
  }
  return out;
}

/** One feed per model input: the requests' rows stacked along the batch dimension. */
export function assembleFeeds(requests: readonly PreparedRequest[], inputs: readonly TensorSpec[], batched: boolean): WireTensor[] {
  const first = requests[0]!;
  if (requests.length === 1) {
    return first.inputs.map((t) => ({ name: t.name, type: ortTypeOf(t.datatype), dims: t.shape, data: t.data }));
  }
  if (!batched) throw new ServingError('internal', 'an unbatched model received more than one request in a batch');
  const rows = requests.reduce((n, r) => n + r.rows, 0);
  return first.inputs.map((t, i) => {
    const spec = inputs.find((s) => s.name === t.name)!;
    return {
      name: t.name,
      type: ortTypeOf(t.datatype),
      dims: [rows, ...t.shape.slice(1)],
      data: concat(
        requests.map((r) => r.inputs[i]!.data),
        spec,
      ),
    };
  });
}

function sliceRows(data: TensorData, from: number, to: number): TensorData {
  return Array.isArray(data) ? data.slice(from, to) : (data as Float32Array).subarray(from, to);
}

/** Each request's share of the batch outputs, restricted to the outputs it asked for. */
export function splitOutputs(
  requests: readonly PreparedRequest[],
  outputs: readonly WireTensor[],
  outputSpecs: readonly TensorSpec[],
): InferTensor[][] {
  const byName = (name: string) => outputs.find((o) => o.name === name)!;
  const tensorOf = (o: WireTensor, shape: number[], data: TensorData): InferTensor => ({
    name: o.name,
    datatype: outputSpecs.find((s) => s.name === o.name)!.datatype,
    shape,
    data,
  });
  if (requests.length === 1) {
    return [requests[0]!.outputNames.map((n) => byName(n)).map((o) => tensorOf(o, o.dims, o.data))];
  }
  const totalRows = requests.reduce((n, r) => n + r.rows, 0);
  for (const o of outputs) {
    if (o.dims[0] !== totalRows) {
      throw new ServingError('internal', `output '${o.name}' has ${o.dims[0]} rows for a batch of ${totalRows}: the model does not batch along dimension 0`);
    }
  }
  let row = 0;
  return requests.map((r) => {
    const start = row;
    row += r.rows;
    return r.outputNames.map((n) => {
      const o = byName(n);
      const perRow = o.dims.slice(1).reduce((a, b) => a * b, 1);
      return tensorOf(o, [r.rows, ...o.dims.slice(1)], sliceRows(o.data, start * perRow, (start + r.rows) * perRow));
    });
  });
}
