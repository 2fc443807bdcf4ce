import { MISSING_INSTANT, type TensorSpec } from '../../components/transform/signature';
import { Tensor } from '../../onnx/session';

type Row = Record<string, unknown>;

/** Raw rows as serving feeds: the serving signature's inputs, missing values as signature.ts says. */
export function rawFeeds(inputs: TensorSpec[], rows: Row[]): Record<string, Tensor> {
  return Object.fromEntries(
    inputs.map((spec) => {
      const values = rows.map((r) => r[spec.name]);
      if (spec.dtype === 'float32') return [spec.name, new Tensor('float32', Float32Array.from(values, (v) => (v === null ? NaN : Number(v))), [rows.length])];
      if (spec.dtype === 'string') return [spec.name, new Tensor('string', values.map((v) => (v === null ? '' : String(v))), [rows.length])];
      return [spec.name, new Tensor('int64', BigInt64Array.from(values, (v) => (v === null ? MISSING_INSTANT : BigInt((v as Date).getTime()) * 1000n)), [rows.length])];
    }),
  );
}
