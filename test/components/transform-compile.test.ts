import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { canonicalJson } from '../../artifacts/fingerprint';
import { withDuckDb } from '../../components/data/duckdb-session';
import { sqlString } from '../../components/data/sql';
import type { SchemaPayload } from '../../components/schema-gen/payload';
import { computeAnalyzers, type AnalyzerValues } from '../../components/transform/analyzers';
import { compileTransform, type CompiledTransform } from '../../components/transform/compile-graph';
import {
  applyBuckets,
  bucketize,
  clip,
  cross,
  dayOfWeek,
  fillMissing,
  hashStrings,
  hour,
  labelIds,
  log1p,
  month,
  scaleByMinMax,
  scaleTo01,
  scaleToZScore,
  transform,
  vocabulary,
  year,
} from '../../components/transform/dsl';
import type { TransformIr } from '../../components/transform/expression';
import { MISSING_INSTANT, TransformSignatureSchema } from '../../components/transform/signature';
import { ComponentError } from '../../dsl/executor';
import { decodeModel } from '../../onnx/graph';
import { openSession, Tensor, type OnnxFeeds } from '../../onnx/session';
import { murmurHash3 } from '../onnx/murmurhash3';
import { tempDir } from '../support/tmp';
import { throwsUserInputError as refuses } from '../support/user-input-errors';
import { duckQuery } from './parquet-rows';
import { mean, median, popVar, quantileBoundaries, vocabularyOf } from './transform-reference';
import { vegaFile } from './vega-data';
import { BEAK, DEPTH, FLIPPER, MASS, PENGUINS_SCHEMA } from './penguins-schema';

const STRINGS = ['Species', 'Island', 'Sex'];

/** penguins.json's schema with `label: 'Species'`, plus the instant each penguin was observed. */
const SCHEMA: SchemaPayload = { ...PENGUINS_SCHEMA, features: [...PENGUINS_SCHEMA.features, { name: 'Observed', type: 'TEMPORAL' }] };
const KINDS = {
  Species: 'string',
  Island: 'string',
  [BEAK]: 'number',
  [DEPTH]: 'number',
  [FLIPPER]: 'number',
  [MASS]: 'number',
  Sex: 'string',
  Observed: 'timestamp',
} as const;

/** A raw row as a caller holds it: null for missing, numbers as doubles, `Observed` in INT64 microseconds. */
type Row = Record<string, string | number | bigint | null>;
const instantOf = (r: Row): bigint => (typeof r.Observed === 'bigint' ? r.Observed : MISSING_INSTANT);

/** Every op of the DSL; shared subexpressions (fillMissing of Sex, the date parts of Observed) on purpose. */
const IR: TransformIr = transform(
  ({ f }) => ({
    'bill z': scaleToZScore(f[BEAK]),
    'bill 01': scaleTo01(f[BEAK]),
    depth: scaleByMinMax(fillMissing(f[DEPTH], 'median'), { outputMin: -1, outputMax: 1 }),
    'log mass': log1p(f[MASS]),
    'clipped flipper': clip(f[FLIPPER], { min: 190, max: 220 }),
    'clipped flipper z': scaleToZScore(clip(f[FLIPPER], { min: 190, max: 220 })),
    'mass filled': fillMissing(f[MASS], 'mean'),
    'mass filled 7': fillMissing(f[MASS], { constant: 7 }),
    'beak buckets': bucketize(f[BEAK], 4),
    'flipper buckets': applyBuckets(f[FLIPPER], [190, 200, 210]),
    island: vocabulary(f.Island).oneHot(),
    'island ids': vocabulary(f.Island, { numOovBuckets: 2 }).ids(),
    'island top 2': vocabulary(f.Island, { topK: 2 }).ids(),
    'island oov one-hot': vocabulary(f.Island, { numOovBuckets: 2 }).oneHot(),
    sex: fillMissing(f.Sex, 'mode'),
    'sex or unknown': fillMissing(f.Sex, { constant: 'unknown' }),
    'sex ids': vocabulary(fillMissing(f.Sex, { constant: 'unknown' }), { topK: 2, defaultValue: 7 }).ids(),
    'mass ids': vocabulary(f[MASS], { topK: 20, numOovBuckets: 3 }).ids(),
    'flipper ids': vocabulary(f[FLIPPER], { frequencyThreshold: 10 }).ids(),
    'island hash': hashStrings(f.Island, 5),
    'island x sex': cross(f.Island, f.Sex, 50),
    'island x flipper': cross(f.Island, f[FLIPPER], 1000),
    year: year(f.Observed),
    month: month(f.Observed),
    'day of week': dayOfWeek(f.Observed),
    hour: hour(f.Observed),
    'hour buckets': applyBuckets(hour(f.Observed), [6, 12, 18]),
    // Passed through: under its own name, under another, and named as a builder-generated value would be.
    [BEAK]: f[BEAK],
    'island raw': f.Island,
    Observed: f.Observed,
    const_1: f[DEPTH],
    species: labelIds(f.Species),
    'species given': labelIds(f.Species, { classes: ['Gentoo', 'Adelie'] }),
  }),
  KINDS,
);

const fr = Math.fround;
const MICROS_PER_HOUR = 3_600_000_000n;

// ---- TFT's semantics in plain TypeScript (doubles; FP32 where the graph computes in FP32) ----

const numberOf = (v: unknown): number => (typeof v === 'number' ? v : NaN);
const stringOf = (v: unknown): string => (typeof v === 'string' ? v : '');
const present = (rows: Row[], name: string): number[] => rows.map((r) => numberOf(r[name])).filter(Number.isFinite);
const floatBytes = (v: number): Uint8Array => new Uint8Array(Float32Array.of(Number.isNaN(v) ? NaN : v === 0 ? 0 : v).buffer);
const hashOf = (v: string | number): number => murmurHash3(typeof v === 'string' ? v : floatBytes(v));
const crossOf = (a: string | number, b: string | number, buckets: number): number =>
  murmurHash3(new Uint8Array(BigInt64Array.of(BigInt(hashOf(a)) * 65599n + BigInt(hashOf(b))).buffer)) % buckets;
const bucketOf = (x: number, boundaries: number[]): number => (Number.isNaN(x) ? boundaries.length : boundaries.filter((b) => fr(b) <= x).length);
function idOf<T extends string | number>(x: T, vocabulary: T[], options: { numOovBuckets?: number; defaultValue?: number } = {}): number {
  const id = vocabulary.indexOf(x);
  if (id >= 0) return id;
  return options.numOovBuckets ? vocabulary.length + (hashOf(x) % options.numOovBuckets) : (options.defaultValue ?? -1);
}
const oneHotOf = (id: number, width: number): number[] => Array.from({ length: width }, (_, c) => (c === id ? 1 : 0));
function utcDate(micros: bigint): Date {
  const ms = micros >= 0n ? micros / 1000n : -((-micros + 999n) / 1000n);
  return new Date(Number(ms));
}

/** Each output's expected elements (row-major for one-hot), from the train rows' statistics. */
function expectedOutputs(train: Row[], rows: Row[]): Record<string, Array<number | string | bigint>> {
  const col = (name: string): number[] => rows.map((r) => fr(numberOf(r[name])));
  const beak = col(BEAK);
  const depth = col(DEPTH);
  const flipper = col(FLIPPER);
  const mass = col(MASS);
  const island = rows.map((r) => stringOf(r.Island));
  const sex = rows.map((r) => stringOf(r.Sex));
  const species = rows.map((r) => stringOf(r.Species));
  const present32 = (name: string): number[] => present(train, name);
  const zScore = (xs: number[], stats: number[]) => {
    const sd = Math.sqrt(popVar(stats));
    return xs.map((x) => fr(fr(x - fr(mean(stats))) / fr(sd)));
  };
  const minMax = (xs: number[], stats: number[], lo: number, hi: number) => {
    const [min, max] = [Math.min(...stats), Math.max(...stats)];
    return xs.map((x) => fr(fr(fr(fr(x - fr(min)) / fr(max - min)) * fr(hi - lo)) + fr(lo)));
  };
  const clipped = flipper.map((x) => (Number.isNaN(x) ? x : Math.min(220, Math.max(190, x))));
  const depthMedian = median(present32(DEPTH));
  const depthFilled = depth.map((x) => (Number.isNaN(x) ? fr(depthMedian) : x));
  const presentStrings = (name: string, fill?: string): string[] =>
    train.map((r) => stringOf(r[name]) || fill || '').filter((s) => s !== '');
  const islands = vocabularyOf(presentStrings('Island'));
  const sexes = vocabularyOf(presentStrings('Sex', 'unknown'), { topK: 2 });
  const masses = vocabularyOf(present32(MASS), { topK: 20 }).map(fr);
  const flippers = vocabularyOf(present32(FLIPPER), { frequencyThreshold: 10 }).map(fr);
  const classes = [...new Set(presentStrings('Species'))].sort();
  const instants = rows.map(instantOf);
  const part = (of: (d: Date) => number) => instants.map((us) => (us === MISSING_INSTANT ? -1 : of(utcDate(us))));
  const hours = part((d) => d.getUTCHours());
  return {
    'bill z': zScore(beak, present32(BEAK)),
    'bill 01': minMax(beak, present32(BEAK), 0, 1),
    depth: minMax(depthFilled, present32(DEPTH).concat(train.filter((r) => r[DEPTH] === null).map(() => depthMedian)), -1, 1),
    'clipped flipper': clipped,
    'clipped flipper z': zScore(clipped, present32(FLIPPER).map((x) => Math.min(220, Math.max(190, x)))),
    'mass filled': mass.map((x) => (Number.isNaN(x) ? fr(mean(present32(MASS))) : x)),
    'mass filled 7': mass.map((x) => (Number.isNaN(x) ? 7 : x)),
    'beak buckets': beak.map((x) => bucketOf(x, quantileBoundaries(present32(BEAK), 4))),
    'flipper buckets': flipper.map((x) => bucketOf(x, [190, 200, 210])),
    island: island.flatMap((s) => oneHotOf(idOf(s, islands), islands.length)),
    'island ids': island.map((s) => idOf(s, islands, { numOovBuckets: 2 })),
    'island top 2': island.map((s) => idOf(s, islands.slice(0, 2))),
    'island oov one-hot': island.flatMap((s) => oneHotOf(idOf(s, islands, { numOovBuckets: 2 }), islands.length + 2)),
    sex: sex.map((s) => s || vocabularyOf(presentStrings('Sex'))[0]!),
    'sex or unknown': sex.map((s) => s || 'unknown'),
    'sex ids': sex.map((s) => idOf(s || 'unknown', sexes, { defaultValue: 7 })),
    'mass ids': mass.map((x) => idOf(x, masses, { numOovBuckets: 3 })),
    'flipper ids': flipper.map((x) => idOf(x, flippers)),
    'island hash': island.map((s) => murmurHash3(s) % 5),
    'island x sex': island.map((s, i) => crossOf(s, sex[i]!, 50)),
    'island x flipper': island.map((s, i) => crossOf(s, flipper[i]!, 1000)),
    year: part((d) => d.getUTCFullYear()),
    month: part((d) => d.getUTCMonth() + 1),
    'day of week': part((d) => (d.getUTCDay() + 6) % 7),
    hour: hours,
    'hour buckets': hours.map((h) => bucketOf(h, [6, 12, 18])),
    [BEAK]: beak,
    'island raw': island,
    Observed: instants,
    const_1: depth,
    species: species.map((s) => classes.indexOf(s)),
    'species given': species.map((s) => ['Gentoo', 'Adelie'].indexOf(s)),
  };
}

/** The graph's feeds (signature.ts): FP32 with NaN, '' for a missing string, INT64 micros or MISSING_INSTANT. */
function feedsOf(rows: Row[], inputs: string[]): OnnxFeeds {
  const feeds: OnnxFeeds = {};
  for (const name of inputs) {
    if (name === 'Observed') feeds[name] = new Tensor('int64', BigInt64Array.from(rows, instantOf), [rows.length]);
    else if (STRINGS.includes(name)) feeds[name] = new Tensor('string', rows.map((r) => stringOf(r[name])), [rows.length]);
    else feeds[name] = new Tensor('float32', Float32Array.from(rows, (r) => numberOf(r[name])), [rows.length]);
  }
  return feeds;
}

async function runGraph(model: Uint8Array, feeds: OnnxFeeds): Promise<Record<string, Array<number | string | bigint>>> {
  const session = await openSession(model, { intraOpNumThreads: 1 });
  try {
    const result = await session.run(feeds);
    return Object.fromEntries(Object.entries(result).map(([name, t]) => [name, Array.from(t.data as ArrayLike<number | string | bigint>)]));
  } finally {
    await session.release();
  }
}

/** The parts of a decoded model the tests look at. */
function graphOf(model: Uint8Array) {
  const graph = decodeModel(model).graph!;
  return {
    inputs: graph.input!.map((i) => i.name!),
    outputs: graph.output!.map((o) => o.name!),
    nodes: graph.node!.map((n) => ({ name: n.name!, opType: n.opType!, input: n.input!, json: JSON.stringify(n) })),
    initializers: graph.initializer!,
  };
}

/** INT64 elements as numbers where exact, so they compare with the TypeScript numbers (the missing instant stays a bigint). */
const plain = (xs: Array<number | string | bigint>): Array<number | string | bigint> =>
  xs.map((x) => (typeof x === 'bigint' && Number.isSafeInteger(Number(x)) ? Number(x) : x));

describe('Transform compiler: one ONNX graph, a serving graph pruned from it, both run in onnxruntime-node', () => {
  let train: Row[];
  let rows: Row[];
  let values: AnalyzerValues;
  let compiled: CompiledTransform;
  let trainingOut: Record<string, Array<number | string | bigint>>;

  before(async () => {
    const penguins = JSON.parse(await readFile(vegaFile('penguins.json'), 'utf8')) as Array<Record<string, string | number | null>>;
    const start = BigInt(Date.UTC(2007, 10, 11)) * 1000n;
    // '' is a missing string in the graph, so the analyzers must leave it out: here it is the most frequent
    // island and sex, which a vocabulary's topK or a mode counting it would show.
    const planted = penguins.slice(0, 170).map((p) => ({ ...p, Island: '', Sex: '' }));
    train = [...penguins, ...planted].map((p, i) => ({ ...p, Observed: start + BigInt(i) * 26_017_123_457n }));
    const dir = await tempDir('transform-compile');
    const json = path.join(dir, 'train.ndjson');
    const parquet = path.join(dir, 'data-00000.parquet');
    await writeFile(json, train.map(({ Observed: _, ...r }) => JSON.stringify(r)).join('\n'));
    const columns = `{Species: 'VARCHAR', Island: 'VARCHAR', "${BEAK}": 'DOUBLE', "${DEPTH}": 'DOUBLE', "${FLIPPER}": 'BIGINT', "${MASS}": 'BIGINT', Sex: 'VARCHAR'}`;
    await duckQuery(`COPY (SELECT * FROM read_json(${sqlString(json)}, format = 'newline_delimited', columns = ${columns})) TO ${sqlString(parquet)} (FORMAT parquet)`);
    values = await withDuckDb({ tmpDir: dir, signal: new AbortController().signal }, (s) => computeAnalyzers(s, IR, [parquet]));

    const beakBoundaries = quantileBoundaries(present(train, BEAK), 4);
    const unseen: Row[] = [
      // Unseen categories and a label no class has; values far outside the training range.
      { Species: 'Emperor', Island: 'Atlantis', [BEAK]: 1e6, [DEPTH]: -1e6, [FLIPPER]: 0, [MASS]: -1, Sex: 'UNKNOWN', Observed: -1n },
      // Everything missing.
      { Species: null, Island: null, [BEAK]: null, [DEPTH]: null, [FLIPPER]: null, [MASS]: null, Sex: null, Observed: null },
      // A beak exactly on a quantile boundary, the top flipper boundary, an hour on a bucket boundary, before 1900's leap rule.
      { Species: 'Gentoo', Island: 'Biscoe', [BEAK]: beakBoundaries[1]!, [DEPTH]: 15, [FLIPPER]: 210, [MASS]: -5, Sex: 'FEMALE', Observed: BigInt(Date.UTC(1900, 2, 1, 12)) * 1000n },
      { Species: 'Adelie', Island: 'Dream', [BEAK]: -0, [DEPTH]: Infinity, [FLIPPER]: 190, [MASS]: 1e30, Sex: 'MALE', Observed: BigInt(Date.UTC(1969, 11, 31, 23, 59)) * 1000n },
      { Species: '', Island: '', [BEAK]: -Infinity, [DEPTH]: 0.1, [FLIPPER]: 220.5, [MASS]: 3750, Sex: '', Observed: 12n * MICROS_PER_HOUR },
    ];
    rows = [...train, ...unseen];
    compiled = compileTransform(IR, values, SCHEMA);
    trainingOut = await runGraph(compiled.training, feedsOf(rows, compiled.signature.training.inputs.map((i) => i.name)));
  });

  it('computes every output as plain TypeScript does with TFT semantics, element for element', () => {
    const expected = expectedOutputs(train, rows);
    assert.deepEqual(Object.keys(trainingOut).sort(), IR.outputs.map((o) => o.name).sort());
    for (const output of IR.outputs) {
      if (output.name === 'log mass') continue;
      assert.deepEqual(plain(trainingOut[output.name]!), plain(expected[output.name]!), `output "${output.name}"`);
    }
    // onnxruntime's logf is allowed one FP32 ulp from the correctly rounded logarithm (the only tolerance here).
    const masses = rows.map((r) => fr(numberOf(r[MASS])));
    trainingOut['log mass']!.forEach((got, i) => {
      const want = fr(Math.log(fr(masses[i]! + 1)));
      const ok = Number.isFinite(want) ? Math.abs((got as number) - want) <= Math.abs(want) * 2 ** -23 : Object.is(got, want);
      assert.ok(ok, `log mass of row ${i}: ${String(got)}, expected ${want}`);
    });
  });

  it("encodes the semantics a wrong implementation would miss: OOV one-hot all zeros, a value on a boundary in the upper bucket, NaN in the last, -1 for a missing instant or an unknown label", () => {
    const at = (output: string, row: number, width = 1) => plain(trainingOut[output]!.slice(row * width, (row + 1) * width));
    const [atlantis, missing, onBoundary, negativeZero, emptyStrings] = [0, 1, 2, 3, 4].map((i) => train.length + i) as [number, number, number, number, number];
    assert.deepEqual(at('island', atlantis, 3), [0, 0, 0], "an unseen island one-hot encodes as all zeros, not as the last class");
    assert.deepEqual(at('island', missing, 3), [0, 0, 0]);
    assert.deepEqual(at('island', emptyStrings, 3), [0, 0, 0], "'' is missing, never an island of its own");
    assert.deepEqual(at('beak buckets', onBoundary), [2], 'the second quantile boundary opens bucket 2');
    assert.deepEqual(at('beak buckets', missing), [quantileBoundaries(present(train, BEAK), 4).length], 'NaN goes to len(boundaries)');
    assert.deepEqual(at('flipper buckets', onBoundary), [3], 'at or above the last boundary: len(boundaries)');
    assert.deepEqual(at('hour buckets', onBoundary), [2]);
    assert.deepEqual(at('hour buckets', emptyStrings), [2], 'hour 12 of 1970-01-01');
    assert.deepEqual([at('year', missing), at('hour', missing), at('hour buckets', missing)], [[-1], [-1], [0]]);
    assert.deepEqual([at('year', atlantis), at('month', atlantis), at('day of week', atlantis)], [[1969], [12], [2]], 'one microsecond before 1970: a Wednesday');
    assert.deepEqual([at('species', atlantis), at('species', missing), at('species', emptyStrings), at('species given', negativeZero)], [[-1], [-1], [-1], [1]]);
    assert.deepEqual(at('sex ids', atlantis), [7], 'defaultValue for an unseen value without OOV buckets');
    assert.deepEqual(at('mass filled 7', missing), [7]);
    assert.deepEqual([at('sex', missing), at('sex', emptyStrings)], [['MALE'], ['MALE']], 'missing filled with the mode (MALE 168 times, FEMALE 165, 170 missing as \'\')');
  });

  it('prunes the serving graph to the model features: no label input or output, the shared outputs identical', async () => {
    const serving = graphOf(compiled.serving);
    const training = graphOf(compiled.training);
    assert.ok(training.inputs.includes('Species') && !serving.inputs.includes('Species'), 'the label is a training input only');
    assert.deepEqual(serving.outputs, IR.outputs.map((o) => o.name).filter((n) => !n.startsWith('species')));
    const servingOut = await runGraph(compiled.serving, feedsOf(rows, serving.inputs));
    assert.deepEqual(Object.keys(servingOut).sort(), [...serving.outputs].sort());
    for (const [name, data] of Object.entries(servingOut)) assert.deepEqual(data, trainingOut[name], `serving output "${name}"`);
    assert.ok(serving.nodes.length < training.nodes.length);
    // Both files are the one built graph: every serving node is the training node of the same name.
    const trainingNodes = new Map(training.nodes.map((n) => [n.name, n.json]));
    for (const node of serving.nodes) assert.equal(node.json, trainingNodes.get(node.name));
  });

  it('builds a subexpression once however many outputs use it', () => {
    const graph = graphOf(compiled.training);
    const unknownConstant = graph.initializers.find((t) => t.dataType === 8 && Buffer.from(t.stringData![0]!).toString() === 'unknown')!;
    const fills = graph.nodes.filter((n) => n.opType === 'Where' && n.input.includes(unknownConstant.name!));
    assert.equal(fills.length, 1, "fillMissing(Sex, 'unknown'): one Where for the output and the vocabulary lookup");
    const missingInstantChecks = graph.nodes.filter((n) => n.opType === 'Equal' && n.input.includes('Observed'));
    assert.equal(missingInstantChecks.length, 1, 'one missing-instant test for five date-part outputs');
  });

  it('writes the signature: raw inputs by dtype, outputs with their widths, the label mappings', () => {
    const signature = TransformSignatureSchema.parse(compiled.signature);
    const dtypeOf = (name: string) => (name === 'Observed' ? 'int64' : STRINGS.includes(name) ? 'string' : 'float32');
    const trainingInputs = [BEAK, DEPTH, MASS, FLIPPER, 'Island', 'Sex', 'Observed', 'Species'];
    assert.deepEqual(
      [...signature.training.inputs].sort((a, b) => (a.name < b.name ? -1 : 1)),
      trainingInputs.sort().map((name) => ({ name, dtype: dtypeOf(name), shape: [-1] })),
    );
    assert.deepEqual(signature.serving.inputs.map((i) => i.name), signature.training.inputs.map((i) => i.name).filter((n) => n !== 'Species'));
    assert.deepEqual(
      signature.training.outputs.map((o) => [o.name, o.dtype, o.shape]),
      IR.outputs.map((o) => [o.name, o.dtype, o.shape.kind === 'scalar' ? [-1] : [-1, o.name === 'island' ? 3 : 5]]),
    );
    assert.deepEqual(signature.serving.outputs, signature.training.outputs.filter((o) => !o.name.startsWith('species')));
    assert.deepEqual(signature.labels, [
      { output: 'species', feature: 'Species', classes: ['Adelie', 'Chinstrap', 'Gentoo'] },
      { output: 'species given', feature: 'Species', classes: ['Gentoo', 'Adelie'] },
    ]);
    assert.deepEqual(
      decodeModel(compiled.training).opsetImport.map((o) => [o.domain, Number(o.version)]),
      [['', 13], ['ai.onnx.ml', 2], ['com.microsoft', 1]],
    );
  });

  it('refuses an output named as an input it changes, a transform of labels only, bad classes and a one-hot of anything but vocabulary ids', () => {
    const compile = (ir: TransformIr) => () => compileTransform(ir, values, SCHEMA);
    // Refused when the transform is built (no schema needed), and by the compiler for an IR built otherwise.
    refuses(
      () => transform(({ f }) => ({ Island: vocabulary(f.Island).ids() }), KINDS),
      /^output "Island" has the name of the input feature "Island" but is vocabularyIds/,
    );
    const island: TransformIr = { version: 1, outputs: [{ ...transform(({ f }) => ({ x: vocabulary(f.Island).ids() }), KINDS).outputs[0]!, name: 'Island' }] };
    refuses(
      compile(island),
      /^output "Island" has the name of the input feature "Island" but is vocabularyIds of feature "Island", not that feature unchanged; a graph names each value once, so give the output another name \(e\.g\. "Island vocabularyIds"\)$/,
    );
    refuses(() => transform(({ f }) => ({ [MASS]: fillMissing(f[MASS], { constant: 0 }) }), KINDS), /^output "Body Mass \(g\)" has the name of the input feature/);
    refuses(compile(transform(({ f }) => ({ species: labelIds(f.Species) }), KINDS)), /only labelIds outputs; the serving graph needs at least one model feature/);
    const withClasses = (classes: string[]) => transform(({ f }) => ({ island: vocabulary(f.Island).ids(), species: labelIds(f.Species, { classes }) }), KINDS);
    refuses(compile(withClasses(['Adelie', ''])), /output "species": labelIds classes must be distinct and non-empty \(''/);
    refuses(compile(withClasses(['Adelie', 'Adelie'])), /output "species": labelIds classes must be distinct/);
    const oneHotBuckets: TransformIr = { version: 1, outputs: [{ ...IR.outputs.find((o) => o.name === 'flipper buckets')!, dtype: 'float32', shape: { kind: 'oneHot' } }] };
    refuses(compile(oneHotBuckets), /output "flipper buckets": a one-hot output encodes vocabulary ids, got applyBuckets of feature "Flipper Length \(mm\)"/);
    refuses(compile(transform(({ f }) => ({ x: scaleToZScore(f.Nope as never) }))), /output "x" reads feature "Nope", which the schema lacks/);
  });

  it('refuses analyzer values that do not fit the transform: missing (naming the analyzer), of the wrong type, an empty vocabulary', () => {
    const ir = transform(({ f }) => ({ bill: scaleToZScore(f[BEAK]), island: vocabulary(f.Island, { frequencyThreshold: 2 }).oneHot() }), KINDS);
    const meanKey = canonicalJson({ analyzer: 'mean', of: { op: 'feature', name: BEAK } });
    const vocabularyKey = canonicalJson({ analyzer: 'vocabulary', of: { op: 'feature', name: 'Island' }, frequencyThreshold: 2 });
    const { [meanKey]: _, ...withoutMean } = values;
    assert.throws(
      () => compileTransform(ir, withoutMean, SCHEMA),
      (err: Error) => err instanceof ComponentError && /^analyzer mean of feature "Beak Length \(mm\)" \(output "bill"\) has no value/.test(err.message),
    );
    assert.throws(
      () => compileTransform(ir, { ...values, [meanKey]: 'forty', [vocabularyKey]: ['Biscoe'] }, SCHEMA),
      (err: Error) => err instanceof ComponentError && /analyzer mean of feature "Beak Length \(mm\)" \(output "bill"\) is "forty", not the number it should be/.test(err.message),
    );
    refuses(() => compileTransform(ir, { ...values, [vocabularyKey]: [] }, SCHEMA), /output "island": the vocabulary of feature "Island" is empty in the analyzed split/);
  });
});
