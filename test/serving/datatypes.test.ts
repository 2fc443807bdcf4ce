import assert from 'node:assert/strict';
import {
  halfBitsToNumber,
  numberToHalfBits,
  SUPPORTED_DATATYPES,
  tensorDataFromJson,
  tensorDataFromRaw,
  tensorDataToJson,
  tensorDataToRaw,
} from '../../serving/datatypes';
import { ServingError } from '../../serving/errors';

const samples: Record<string, unknown[]> = {
  BOOL: [true, false],
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
  UINT64: [0, 2 ** 53],
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
  INT64: [-(2 ** 53), 2 ** 53],
  FP16: [0.5, -65504],
  FP32: [1.5, -3.25],
  FP64: [0.1, -1e300],
  BYTES: ['héllo', ''],
};

describe('serving: tensor datatypes', () => {
  it('round-trips every datatype onnxruntime-node carries through JSON and raw encodings', () => {
    assert.deepEqual([...SUPPORTED_DATATYPES].sort(), Object.keys(samples).sort());
    for (const datatype of SUPPORTED_DATATYPES) {
      const values = samples[datatype]!;
      const data = tensorDataFromJson(datatype, values, values.length, datatype);
      assert.deepEqual(JSON.parse(tensorDataToJson(datatype, data)), values, `${datatype} JSON`);
      const raw = tensorDataToRaw(datatype, data);
      const back = tensorDataFromRaw(datatype, raw, values.length, datatype);
      assert.deepEqual(JSON.parse(tensorDataToJson(datatype, back)), values, `${datatype} raw`);
    }
  });

  it('accepts nested (per-dimension) JSON data as well as flat', () => {
    const data = tensorDataFromJson('INT32', [[1, 2], [3, 4]], 4, 'x');
    assert.deepEqual([...(data as Int32Array)], [1, 2, 3, 4]);
  });

  it('converts FP16 exactly for representable values and rounds to nearest even', () => {
    for (const v of [0, 1, -2, 2 ** -14, 1023 * 2 ** -24, 65504, 2 ** -24]) assert.equal(halfBitsToNumber(numberToHalfBits(v)), v);
    assert.equal(halfBitsToNumber(numberToHalfBits(1 + 2 ** -11)), 1);
    assert.equal(halfBitsToNumber(numberToHalfBits(1e6)), Infinity);
    assert.ok(Number.isNaN(halfBitsToNumber(numberToHalfBits(NaN))));
  });

  it('names the tensor, the element and what was expected when data is wrong', () => {
    const bad = (fn: () => unknown, pattern: RegExp) =>
      assert.throws(fn, (e: unknown) => e instanceof ServingError && e.kind === 'invalid_argument' && pattern.test(e.message));
    bad(() => tensorDataFromJson('INT8', [1, 300], 2, "input 'x'"), /input 'x': element 1 is number 300, expected an integer in \[-128, 127\]/);
    bad(() => tensorDataFromJson('FP32', [1, 'a'], 2, "input 'x'"), /element 1 is string "a", expected a number/);
    bad(() => tensorDataFromJson('BOOL', [1], 1, "input 'x'"), /element 0 is number 1, expected true or false/);
    bad(() => tensorDataFromJson('FP32', [1, 2, 3], 4, "input 'x'"), /shape needs 4 elements but data has 3/);
    bad(() => tensorDataFromRaw('FP32', Buffer.alloc(6), 2, "input 'x'"), /shape needs 8 bytes of FP32 but got 6/);
    bad(() => tensorDataFromRaw('BYTES', Buffer.from([9, 0, 0, 0, 65]), 1, "input 's'"), /element 0 claims 9 bytes past the end/);
    bad(() => tensorDataFromRaw('BOOL', Buffer.from([2]), 1, "input 'b'"), /BOOL element 0 is byte 2, expected 0 or 1/);
  });
});
