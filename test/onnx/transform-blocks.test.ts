import assert from 'node:assert/strict';
import { encodeModel, extraOpsetsOf, GraphBuilder, OnnxElementType, tensorValueInfo } from '../../onnx/graph';
import { pruneGraph } from '../../onnx/prune-graph';
import { openSession, Tensor } from '../../onnx/session';
import { crossToBuckets } from '../../onnx/transform-ops/cross';
import { dateParts, datePartsOrMissing } from '../../onnx/transform-ops/date-parts';
import { hashableFloats, hashToBuckets } from '../../onnx/transform-ops/hashing';
import { fillMissingStrings } from '../../onnx/transform-ops/missing-strings';
import { lookupVocabulary, oneHot, vocabularyKeys } from '../../onnx/transform-ops/vocabulary';
import { murmurHash3 } from './murmurhash3';
import { f32, floats, i64, ints, runBlock } from './run-block';

const fr = Math.fround;
const float32Bytes = (v: number): Uint8Array => new Uint8Array(Float32Array.of(v).buffer);
/** The bytes the graph hashes for a number: FP32, every NaN as JS's NaN, -0 as 0. */
const hashOfNumber = (v: number): number => murmurHash3(float32Bytes(Number.isNaN(v) ? NaN : v === 0 ? 0 : v));
const int64Bytes = (v: bigint): Uint8Array => new Uint8Array(BigInt64Array.of(v).buffer);
const crossOf = (ha: number, hb: number, buckets: number): number => murmurHash3(int64Bytes(BigInt(ha) * 65599n + BigInt(hb))) % buckets;

/** FP32 values, some given as bit patterns so that a NaN of another payload and sign can be fed. */
function float32s(values: Array<number | { bits: number }>): Float32Array {
  const view = new DataView(new ArrayBuffer(values.length * 4));
  values.forEach((v, i) => (typeof v === 'number' ? view.setFloat32(i * 4, v, true) : view.setUint32(i * 4, v.bits, true)));
  return new Float32Array(view.buffer);
}

describe('onnx transform blocks for the compiler (run in onnxruntime-node)', () => {
  it("fills missing strings ('') with a value and leaves every other string as it is", async () => {
    const texts = ['Dream', '', ' ', 'naïve 🐧', '', 'MALE'];
    const out = await runBlock(new Tensor('string', texts, [texts.length]), OnnxElementType.STRING, (g, x) => ({
      filled: { source: fillMissingStrings(g, x, 'FEMALE'), elemType: OnnxElementType.STRING, dims: ['batch'] },
    }));
    assert.deepEqual(out.filled, ['Dream', 'FEMALE', ' ', 'naïve 🐧', 'FEMALE', 'MALE']);
  });

  // -0, a NaN of another payload and sign, FP32 neighbours of vocabulary doubles.
  const xs = float32s([3750, 39.1, -0, 0, { bits: 0xffc00001 }, NaN, 5, -7.25, 0.1, 1e30]);

  it('looks numbers up as FP32 (keys_floats): NaN and unseen values take the default or an OOV bucket hashed by their FP32 bytes', async () => {
    // 0.1 and 0.1 + 1e-12 are one FP32 value: one entry, the first keeps its place.
    const vocabulary = [39.1, 3750, 0.1, 0.1 + 1e-12, -7.25];
    assert.deepEqual(vocabularyKeys(vocabulary), [fr(39.1), 3750, fr(0.1), -7.25]);
    const out = await runBlock(new Tensor('float32', xs, [xs.length]), OnnxElementType.FLOAT, (g, x) => ({
      ids: i64(lookupVocabulary(g, x, vocabulary)),
      defaulted: i64(lookupVocabulary(g, x, vocabulary, 0, 9)),
      withOov: i64(lookupVocabulary(g, x, vocabulary, 5)),
      hashable: f32(hashableFloats(g, x)),
    }));
    const keys = [fr(39.1), 3750, fr(0.1), -7.25];
    const ids = Array.from(xs, (v) => keys.indexOf(v));
    assert.deepEqual(ids, [1, 0, -1, -1, -1, -1, -1, 3, 2, -1]);
    assert.deepEqual(ints(out.ids!), ids);
    assert.deepEqual(ints(out.defaulted!), ids.map((id) => (id === -1 ? 9 : id)));
    const withOov = Array.from(xs, (v, i) => (ids[i]! >= 0 ? ids[i]! : 4 + (hashOfNumber(v) % 5)));
    assert.deepEqual(ints(out.withOov!), withOov);
    // -0 and 0 share a bucket; so do the two NaNs.
    assert.equal(withOov[2], withOov[3]);
    assert.equal(withOov[4], withOov[5]);
    const hashable = new Uint32Array(Float32Array.from(floats(out.hashable!)).buffer);
    assert.deepEqual([hashable[2], hashable[4]], [0, 0x7fc00000]);
  });

  it('crosses two strings or two numbers: MurmurHash3 of the INT64 h(a) * 65599 + h(b), mod buckets', async () => {
    const texts = ['Dream', '', 'Biscoe', 'naïve 🐧'];
    const strings = await runBlock(new Tensor('string', texts, [texts.length]), OnnxElementType.STRING, (g, x) => ({
      crossed: i64(crossToBuckets(g, x, fillMissingStrings(g, x, 'none'), 1000)),
      full: i64(crossToBuckets(g, x, x, 2 ** 32)),
    }));
    assert.deepEqual(ints(strings.crossed!), texts.map((t) => crossOf(murmurHash3(t), murmurHash3(t || 'none'), 1000)));
    assert.deepEqual(ints(strings.full!), texts.map((t) => crossOf(murmurHash3(t), murmurHash3(t), 2 ** 32)));
    const numbers = await runBlock(new Tensor('float32', xs, [xs.length]), OnnxElementType.FLOAT, (g, x) => {
      const hashable = hashableFloats(g, x);
      return { crossed: i64(crossToBuckets(g, hashable, hashable, 977)), hashed: i64(hashToBuckets(g, hashable, 2 ** 32)) };
    });
    assert.deepEqual(ints(numbers.hashed!), Array.from(xs, hashOfNumber));
    assert.deepEqual(ints(numbers.crossed!), Array.from(xs, (v) => crossOf(hashOfNumber(v), hashOfNumber(v), 977)));
  });

  it('gives -1 for every date part of a missing instant (INT64 minimum) and the plain parts elsewhere', async () => {
    const missing = -(2n ** 63n);
    const micros = [missing, 0n, -1n, BigInt(Date.parse('1912-06-23T05:00:00Z')) * 1000n, missing, 2n ** 62n / 1000n];
    const out = await runBlock(new Tensor('int64', BigInt64Array.from(micros), [micros.length]), OnnxElementType.INT64, (g, x) => {
      const withMissing = datePartsOrMissing(g, x, missing);
      const plain = dateParts(g, x);
      return {
        year: i64(withMissing.year), month: i64(withMissing.month), day: i64(withMissing.day), dayOfWeek: i64(withMissing.dayOfWeek), hour: i64(withMissing.hour),
        plainYear: i64(plain.year), plainHour: i64(plain.hour),
      };
    });
    const dates = micros.map((us) => new Date(Number(us >= 0n ? us / 1000n : -((-us + 999n) / 1000n))));
    const expect = (part: (d: Date) => number): number[] => dates.map((d, i) => (micros[i] === missing ? -1 : part(d)));
    assert.deepEqual(ints(out.year!), expect((d) => d.getUTCFullYear()));
    assert.deepEqual(ints(out.month!), expect((d) => d.getUTCMonth() + 1));
    assert.deepEqual(ints(out.day!), expect((d) => d.getUTCDate()));
    assert.deepEqual(ints(out.dayOfWeek!), expect((d) => (d.getUTCDay() + 6) % 7));
    assert.deepEqual(ints(out.hour!), expect((d) => d.getUTCHours()));
    assert.deepEqual(ints(out.year!).slice(0, 4), [-1, 1970, 1969, 1912]);
    assert.deepEqual(ints(out.plainYear!).slice(1, 4), [1970, 1969, 1912], 'where nothing is missing the parts are dateParts');
    assert.deepEqual(ints(out.plainHour!).slice(1, 4), ints(out.hour!).slice(1, 4));
  });

  it('never generates a reserved name, passes an input through as an output of its name, and prunes to the outputs asked for', async () => {
    // Inputs named as the builder would name its own values.
    const reserved = ['Identity_0_0', 'const_1', 'Add_2_0', 'Mul_3_0'];
    const g = new GraphBuilder(new Set(reserved));
    const a = g.op('Identity', ['Identity_0_0']);
    const one = g.floatConstant([1], []);
    const sum = g.op('Add', [a, one]);
    const ids = lookupVocabulary(g, 'const_1', ['x', 'y'], 2);
    assert.ok(![a, one, sum, ids].some((n) => reserved.includes(n)), `generated ${[a, one, sum, ids].join(', ')}`);
    const graph = g.build('t', [tensorValueInfo('Identity_0_0', OnnxElementType.FLOAT, ['batch']), tensorValueInfo('const_1', OnnxElementType.STRING, ['batch'])], [
      { name: 'Add_2_0', source: sum, elemType: OnnxElementType.FLOAT, dims: ['batch'] },
      { name: 'Mul_3_0', source: oneHot(g, ids, 4), elemType: OnnxElementType.FLOAT, dims: ['batch', 4] },
      { name: 'const_1', source: 'const_1', elemType: OnnxElementType.STRING, dims: ['batch'] },
    ]);
    assert.ok(!graph.node!.some((n) => n.output!.includes('const_1')), 'the passed-through input has no node');
    const feeds = { Identity_0_0: new Tensor('float32', Float32Array.of(1.5, NaN), [2]), const_1: new Tensor('string', ['y', 'z'], [2]) };
    const run = async (pruned: typeof graph) => {
      const session = await openSession(encodeModel(pruned, { producerName: 'mlpipe-test', extraOpsets: extraOpsetsOf(pruned) }));
      try {
        const names = pruned.input!.map((i) => i.name!);
        const result = await session.run(Object.fromEntries(names.map((n) => [n, feeds[n as keyof typeof feeds]])));
        return Object.fromEntries(Object.entries(result).map(([k, t]) => [k, Array.from(t.data as ArrayLike<unknown>)]));
      } finally {
        await session.release();
      }
    };
    const full = await run(graph);
    const zOov = 2 + (murmurHash3('z') % 2);
    assert.deepEqual(full, { 'Add_2_0': [2.5, NaN], 'Mul_3_0': [0, 1, 0, 0, ...[0, 1, 2, 3].map((c) => (c === zOov ? 1 : 0))], const_1: ['y', 'z'] });

    const numeric = pruneGraph(graph, ['Add_2_0']);
    assert.deepEqual(numeric.input!.map((i) => i.name), ['Identity_0_0']);
    assert.deepEqual(numeric.node!.map((n) => n.opType), ['Identity', 'Add', 'Identity']);
    assert.deepEqual(numeric.initializer!.map((t) => t.name), [one]);
    assert.deepEqual(extraOpsetsOf(numeric), [], 'no domain import for the LabelEncoder and MurmurHash3 it dropped');
    assert.deepEqual(await run(numeric), { 'Add_2_0': [2.5, NaN] });
    const strings = pruneGraph(graph, ['const_1', 'Mul_3_0']);
    assert.deepEqual(strings.input!.map((i) => i.name), ['const_1']);
    assert.deepEqual(await run(strings), { const_1: full.const_1, 'Mul_3_0': full['Mul_3_0'] });
    assert.throws(() => pruneGraph(graph, ['nope']), /no output nope/);
  });
});
