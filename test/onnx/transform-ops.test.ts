import assert from 'node:assert/strict';
import { GraphBuilder, OnnxElementType } from '../../onnx/graph';
import { Tensor } from '../../onnx/session';
import { applyBuckets } from '../../onnx/transform-ops/buckets';
import { dateParts } from '../../onnx/transform-ops/date-parts';
import { hashToBuckets } from '../../onnx/transform-ops/hashing';
import { clip, fillMissing, log1p, scaleByMinMax, scaleToZScore } from '../../onnx/transform-ops/numeric';
import { lookupVocabulary, oneHot, OUT_OF_VOCABULARY } from '../../onnx/transform-ops/vocabulary';
import { murmurHash3 } from './murmurhash3';
import { f32, floats, i64, ints, runBlock } from './run-block';

const fr = Math.fround;

describe('onnx transform ops (run in onnxruntime-node)', () => {
  const xs = [0, 1.5, -2, NaN, 1e30, -Infinity, Infinity, 3.25, -1, 0.1, -7.75].map(fr);
  const floatInput = (): Tensor => new Tensor('float32', Float32Array.from(xs), [xs.length]);

  it('scales (z-score, min-max), log1p, clips and fills FP32 with NaN kept missing unless filled', async () => {
    const out = await runBlock(floatInput(), OnnxElementType.FLOAT, (g, x) => ({
      z: f32(scaleToZScore(g, x, { mean: 1.25, stdDev: 0.5 })),
      zConstant: f32(scaleToZScore(g, x, { mean: 1.25, stdDev: 0 })),
      unit: f32(scaleByMinMax(g, x, { min: -2, max: 3.25 })),
      symmetric: f32(scaleByMinMax(g, x, { min: -2, max: 3.25 }, { min: -1, max: 1 })),
      minMaxConstant: f32(scaleByMinMax(g, x, { min: 4, max: 4 })),
      log1p: f32(log1p(g, x)),
      clipped: f32(clip(g, x, { min: -1, max: 2 })),
      filled: f32(fillMissing(g, x, 7)),
    }));
    assert.deepEqual(floats(out.z!), xs.map((v) => fr(fr(v - 1.25) / 0.5)));
    assert.deepEqual(floats(out.zConstant!), xs.map((v) => fr(v - 1.25)));
    assert.deepEqual(floats(out.unit!), xs.map((v) => fr(fr(fr(v + 2) / 5.25) * 1) + 0));
    assert.deepEqual(floats(out.symmetric!), xs.map((v) => fr(fr(fr(fr(v + 2) / 5.25) * 2) - 1)));
    assert.deepEqual(floats(out.minMaxConstant!), xs.map((v) => (Number.isNaN(v) ? NaN : 0.5)));
    assert.deepEqual(floats(out.clipped!), xs.map((v) => (Number.isNaN(v) ? NaN : Math.min(2, Math.max(-1, v)))));
    assert.deepEqual(floats(out.filled!), xs.map((v) => (Number.isNaN(v) ? 7 : v)));
    // Log is onnxruntime's logf, allowed one FP32 ulp from the correctly rounded logarithm.
    floats(out.log1p!).forEach((got, i) => {
      const want = fr(Math.log(fr(xs[i]! + 1)));
      if (!Number.isFinite(want)) assert.ok(Object.is(got, want), `log1p(${xs[i]}) = ${got}, expected ${want}`);
      else assert.ok(Math.abs(got - want) <= Math.abs(want) * 2 ** -23, `log1p(${xs[i]}) = ${got}, expected ${want}`);
    });
    assert.ok(Number.isNaN(floats(out.log1p!)[2]!) && floats(out.log1p!)[8] === -Infinity, 'log1p(-2) is NaN and log1p(-1) is -Infinity');
  });

  it("applies buckets as TFT's apply_buckets: count of boundaries ≤ v, len(boundaries) at or above the last and for NaN", async () => {
    const boundaries = [-1, 0, 2.5, 10];
    const values = [-5, -1, -0.5, 0, 2.4999, 2.5, 10, 11, NaN, -Infinity, Infinity, -0].map(fr);
    const out = await runBlock(new Tensor('float32', Float32Array.from(values), [values.length]), OnnxElementType.FLOAT, (g, x) => ({
      bucket: i64(applyBuckets(g, x, boundaries)),
    }));
    const expected = values.map((v) => (Number.isNaN(v) ? boundaries.length : boundaries.filter((b) => b <= v).length));
    assert.deepEqual(ints(out.bucket!), expected);
    assert.deepEqual(expected, [0, 1, 1, 2, 2, 3, 4, 4, 4, 0, 4, 2]);
    assert.throws(() => applyBuckets(new GraphBuilder(), 'x', [1, 1]), /strictly ascending/);
  });

  const islands = ['Dream', 'Biscoe', 'Torgersen', '', 'unseen', 'biscoe', 'Zürich', 'Dream'];
  const stringInput = (): Tensor => new Tensor('string', islands, [islands.length]);
  const vocabulary = ['Biscoe', 'Dream', 'Torgersen', ''];

  it("looks a vocabulary up with -1 for unknown and '' (missing) strings, OOV buckets by MurmurHash3, one-hot all zeros for -1", async () => {
    const out = await runBlock(stringInput(), OnnxElementType.STRING, (g, x) => {
      const ids = lookupVocabulary(g, x, vocabulary);
      const withOov = lookupVocabulary(g, x, vocabulary, 3);
      return {
        ids: i64(ids),
        withOov: i64(withOov),
        oneHot: { source: oneHot(g, ids, 3), elemType: OnnxElementType.FLOAT, dims: ['batch', 3] },
        oneHotOov: { source: oneHot(g, withOov, 6), elemType: OnnxElementType.FLOAT, dims: ['batch', 6] },
      };
    });
    const known = ['Biscoe', 'Dream', 'Torgersen'];
    const ids = islands.map((s) => known.indexOf(s));
    assert.deepEqual(ints(out.ids!), ids);
    assert.deepEqual(ids, [1, 0, 2, OUT_OF_VOCABULARY, OUT_OF_VOCABULARY, OUT_OF_VOCABULARY, OUT_OF_VOCABULARY, 1]);
    const withOov = islands.map((s, i) => (ids[i]! >= 0 ? ids[i]! : 3 + (murmurHash3(s) % 3)));
    assert.deepEqual(ints(out.withOov!), withOov);
    const encode = (id: number, depth: number): number[] => Array.from({ length: depth }, (_, c) => (c === id ? 1 : 0));
    assert.deepEqual(floats(out.oneHot!), ids.flatMap((id) => encode(id, 3)));
    assert.deepEqual(floats(out.oneHotOov!), withOov.flatMap((id) => encode(id, 6)));
    assert.deepEqual(floats(out.oneHot!).slice(9, 12), [0, 0, 0], "'' one-hot encodes as all zeros");
  });

  it('hashes strings into buckets with com.microsoft.MurmurHash3, equal to MurmurHash3 x86 32-bit over UTF-8', async () => {
    // Published vectors of the reference implementation, so the TypeScript hash is checked on its own too.
    assert.equal(murmurHash3('', 0), 0);
    assert.equal(murmurHash3('', 1), 0x514e28b7);
    assert.equal(murmurHash3('The quick brown fox jumps over the lazy dog', 0), 0x2e4ff723);
    const texts = ['', 'a', 'ab', 'abc', 'abcd', 'abcde', '日本語', 'naïve 🐧', ...islands];
    const out = await runBlock(new Tensor('string', texts, [texts.length]), OnnxElementType.STRING, (g, x) => ({
      buckets: i64(hashToBuckets(g, x, 1000)),
      seeded: i64(hashToBuckets(g, x, 2 ** 32, 42)),
    }));
    assert.deepEqual(ints(out.buckets!), texts.map((t) => murmurHash3(t) % 1000));
    assert.deepEqual(ints(out.seeded!), texts.map((t) => murmurHash3(t, 42)));
  });

  it('takes year, month, day, weekday (Monday 0) and hour from INT64 microseconds, as JS Date in UTC', async () => {
    const fixed = [
      '1970-01-01T00:00:00.000Z', '1969-12-31T23:59:59.999Z', '1900-02-28T23:00:00.000Z', '1900-03-01T00:00:00.000Z',
      '2000-02-29T12:30:00.000Z', '2000-03-01T00:00:00.000Z', '2023-12-31T23:59:59.999Z', '2024-01-01T00:00:00.000Z',
      '2024-02-29T23:59:59.999Z', '2100-03-01T05:00:00.000Z', '1600-02-29T01:00:00.000Z', '0001-01-01T00:00:00.000Z',
      '9999-12-31T23:59:59.999Z', '1582-10-15T00:00:00.000Z', '1969-01-01T00:00:00.000Z',
    ].map((iso) => BigInt(Date.parse(iso)) * 1000n);
    let seed = 12345;
    const random = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const [first, last] = [Date.parse('0001-01-01T00:00:00Z'), Date.parse('9999-12-31T23:59:59Z')];
    const sampled = Array.from({ length: 2000 }, () => BigInt(Math.floor(first + random() * (last - first))) * 1000n + BigInt(Math.floor(random() * 1000)));
    const micros = [...fixed, -1n, 1n, ...sampled];
    const out = await runBlock(new Tensor('int64', BigInt64Array.from(micros), [micros.length]), OnnxElementType.INT64, (g, x) => {
      const parts = dateParts(g, x);
      return { year: i64(parts.year), month: i64(parts.month), day: i64(parts.day), dayOfWeek: i64(parts.dayOfWeek), hour: i64(parts.hour) };
    });
    const dates = micros.map((us) => new Date(Number(us >= 0n ? us / 1000n : -((-us + 999n) / 1000n))));
    assert.deepEqual(ints(out.year!), dates.map((d) => d.getUTCFullYear()));
    assert.deepEqual(ints(out.month!), dates.map((d) => d.getUTCMonth() + 1));
    assert.deepEqual(ints(out.day!), dates.map((d) => d.getUTCDate()));
    assert.deepEqual(ints(out.dayOfWeek!), dates.map((d) => (d.getUTCDay() + 6) % 7));
    assert.deepEqual(ints(out.hour!), dates.map((d) => d.getUTCHours()));
    // 1970-01-01 was a Thursday (weekday() 3); 2024-02-29 a Thursday; 1969-12-31 a Wednesday.
    assert.deepEqual(ints(out.dayOfWeek!).slice(0, 2), [3, 2]);
    assert.deepEqual(ints(out.dayOfWeek!)[8], 3);
  });

  it('builds graphs whose generated names never collide and imports only the domains its nodes use', () => {
    const g = new GraphBuilder();
    const a = g.op('Identity', ['x']);
    const b = g.op('Identity', ['x']);
    const c = g.floatConstant([1]);
    assert.equal(new Set([a, b, c]).size, 3);
    assert.deepEqual(g.extraOpsets(), []);
    lookupVocabulary(g, 'x', ['a'], 2);
    assert.deepEqual(g.extraOpsets(), [{ domain: 'ai.onnx.ml', version: 2 }, { domain: 'com.microsoft', version: 1 }]);
    assert.throws(() => g.op('Foo', ['x'], [], 'example.domain'), /no opset version chosen for domain 'example.domain'/);
  });
});
