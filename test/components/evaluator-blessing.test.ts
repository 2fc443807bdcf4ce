import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { UserInputError } from '../../dsl/executor';
import { bootstrapIntervals, BootstrapOptionsSchema, type WeightedMetrics } from '../../components/evaluator/bootstrap';
import type { MetricValue, SliceKey, SliceResult } from '../../components/evaluator/payload';
import { poissonCounts } from '../../components/evaluator/poisson';
import { groupSlices, MAX_SLICES_PER_SPEC, type SliceValue } from '../../components/evaluator/slices';
import { checkThresholdSlices, judge, NO_THRESHOLDS_VERDICT, ThresholdSchema, ThresholdsSchema, type Difference } from '../../components/evaluator/thresholds';
import { seededUint32 } from '../../components/trainer/seeded-random';
import { withDuckDb } from '../../components/data/duckdb-session';
import { sqlString } from '../../components/data/sql';
import { tempDir } from '../support/tmp';
import { vegaFile } from './vega-data';

/** Standard normal draws (Box–Muller over the seeded uniform stream). */
function normals(n: number, seed: number): Float64Array {
  const next = seededUint32(seed, 0);
  const uniform = () => (next() + 0.5) / 2 ** 32;
  return Float64Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()));
}

const weightedMean = (x: Float64Array): WeightedMetrics => (w) => {
  let sw = 0;
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    sw += w[i]!;
    s += w[i]! * x[i]!;
  }
  return { mean: sw > 0 ? s / sw : null };
};

/** Mean squared error of predictions over rows, at per-row weights. */
const weightedMse = (labels: number[], predictions: number[]): WeightedMetrics => (w) => {
  let sw = 0;
  let s = 0;
  for (let i = 0; i < labels.length; i++) {
    sw += w[i]!;
    s += w[i]! * (labels[i]! - predictions[i]!) ** 2;
  }
  return { mse: sw > 0 ? s / sw : null };
};

const all = (n: number) => Uint32Array.from({ length: n }, (_, i) => i);
const options = (o: Partial<{ resamples: number; seed: number; confidence: number }> = {}) => BootstrapOptionsSchema.parse(o);

interface Penguin {
  Island: string;
  Sex: string | null;
  'Flipper Length (mm)': number | null;
  'Body Mass (g)': number | null;
}

/**
 * Body mass from flipper length over the penguins that have both: least squares (good), and the same line
 * with its slope 3% off (slightly worse: within the noise) or 20% off (worse).
 */
async function penguinRegressions(): Promise<{ mass: number[]; good: number[]; slightlyWorse: number[]; worse: number[] }> {
  const rows = (JSON.parse(await readFile(vegaFile('penguins.json'), 'utf8')) as Penguin[]).filter((p) => p['Flipper Length (mm)'] !== null && p['Body Mass (g)'] !== null);
  const x = rows.map((p) => p['Flipper Length (mm)']!);
  const y = rows.map((p) => p['Body Mass (g)']!);
  const mx = x.reduce((a, b) => a + b) / x.length;
  const my = y.reduce((a, b) => a + b) / y.length;
  const slope = x.reduce((a, xi, i) => a + (xi - mx) * (y[i]! - my), 0) / x.reduce((a, xi) => a + (xi - mx) ** 2, 0);
  const line = (factor: number) => x.map((xi) => my + factor * slope * (xi - mx));
  return { mass: y, good: line(1), slightlyWorse: line(1.03), worse: line(1.2) };
}

describe('Evaluator blessing: Poisson bootstrap', function () {
  it('draws Poisson(1) counts: mean and variance 1, each count as often as e⁻¹/k!, the same counts for the same (seed, resample)', function () {
    const n = 1_000_000;
    const counts = poissonCounts(7, 3, new Uint8Array(n));
    const frequency = new Float64Array(16);
    let sum = 0;
    let squares = 0;
    for (const k of counts) {
      frequency[k]!++;
      sum += k;
      squares += k * k;
    }
    const mean = sum / n;
    assert.ok(Math.abs(mean - 1) < 0.005, `mean ${mean}`);
    assert.ok(Math.abs(squares / n - mean ** 2 - 1) < 0.01, `variance ${squares / n - mean ** 2}`);
    let factorial = 1;
    for (let k = 0; k <= 5; k++) {
      if (k > 0) factorial *= k;
      const p = Math.exp(-1) / factorial;
      const standardError = Math.sqrt((p * (1 - p)) / n);
      assert.ok(Math.abs(frequency[k]! / n - p) < 5 * standardError, `P(${k}) = ${frequency[k]! / n}, expected ${p}`);
    }
    assert.deepEqual(poissonCounts(7, 3, new Uint8Array(n)), counts);
    assert.notDeepEqual(poissonCounts(7, 4, new Uint8Array(n)), counts);
    assert.notDeepEqual(poissonCounts(8, 3, new Uint8Array(n)), counts);
  });

  it('gives a mean the interval of its normal approximation (mean ± 1.96 s/√n), the same for the same seed', async function () {
    const x = normals(400, 11).map((z) => 10 + 2 * z);
    const run = (seed: number) => bootstrapIntervals({ rowCount: x.length, slices: [{ rows: all(x.length), candidate: weightedMean(x) }], bootstrap: options({ resamples: 1000, seed }) });
    const [result] = await run(1);
    const mean = x.reduce((a, b) => a + b) / x.length;
    const sd = Math.sqrt(x.reduce((a, b) => a + (b - mean) ** 2, 0) / (x.length - 1));
    const halfWidth = (1.96 * sd) / Math.sqrt(x.length);
    const got = result!.candidate.mean!;
    assert.ok(Math.abs(got.value! - mean) < 1e-12, 'the point estimate is the plain mean');
    assert.ok(Math.abs(got.lower! - (mean - halfWidth)) < 0.12 * halfWidth, `lower ${got.lower} vs ${mean - halfWidth}`);
    assert.ok(Math.abs(got.upper! - (mean + halfWidth)) < 0.12 * halfWidth, `upper ${got.upper} vs ${mean + halfWidth}`);
    assert.deepEqual((await run(1))[0], result);
    assert.notDeepEqual((await run(2))[0], result);
  });

  it('covers the true mean about 95% of the time over 200 samples of N(0, 1)', async function () {
    let covered = 0;
    const trials = 200;
    for (let t = 0; t < trials; t++) {
      const x = normals(100, 1000 + t);
      const [result] = await bootstrapIntervals({ rowCount: x.length, slices: [{ rows: all(x.length), candidate: weightedMean(x) }], bootstrap: options({ resamples: 200, seed: t }) });
      const { lower, upper } = result!.candidate.mean!;
      if (lower! <= 0 && 0 <= upper!) covered++;
    }
    // Binomial(200, 0.95) lies in [180, 197] with probability > 0.998; the percentile interval runs a little narrow at n = 100.
    assert.ok(covered >= 178 && covered <= 198, `covered ${covered} of ${trials}`);
  });

  it('pairs candidate and baseline: the paired interval of the MSE difference is far narrower than independent resamples give', async function () {
    const { mass, good, worse } = await penguinRegressions();
    const rows = all(mass.length);
    const bootstrap = options({ resamples: 300, seed: 5 });
    const [paired] = await bootstrapIntervals({ rowCount: mass.length, slices: [{ rows, candidate: weightedMse(mass, good), baseline: weightedMse(mass, worse) }], bootstrap });
    const [independent] = await bootstrapIntervals({ rowCount: mass.length, slices: [{ rows, candidate: weightedMse(mass, worse) }], bootstrap: { ...bootstrap, seed: 6 } });
    const c = paired!.candidate.mse!;
    const b = paired!.baseline!.mse!;
    const d = paired!.difference!.mse!;
    assert.equal(d.value, c.value! - b.value!);
    assert.ok(d.value! < 0, 'least squares has the lower MSE');
    const pairedWidth = d.upper! - d.lower!;
    // Independent resamples: the difference's spread adds the two models' spreads.
    const unpairedWidth = Math.hypot(c.upper! - c.lower!, independent!.candidate.mse!.upper! - independent!.candidate.mse!.lower!);
    assert.ok(pairedWidth < 0.4 * unpairedWidth, `paired ${pairedWidth} vs unpaired ${unpairedWidth}`);
    assert.ok(d.upper! < 0, `the improvement is significant when paired: [${d.lower}, ${d.upper}]`);
    assert.ok(c.value! - b.value! > -(unpairedWidth / 2), 'and would not be when unpaired');
  });
});

describe('Evaluator blessing: slices', function () {
  let penguins: Penguin[];
  before(async function () {
    penguins = JSON.parse(await readFile(vegaFile('penguins.json'), 'utf8')) as Penguin[];
  });

  it('groups penguins per island and per island × sex as DuckDB counts them; slices under minSliceSize are tooSmall', async function () {
    const columns = new Map<string, SliceValue[]>([
      ['Island', penguins.map((p) => p.Island)],
      ['Sex', penguins.map((p) => p.Sex)],
    ]);
    const slices = groupSlices({ rowCount: penguins.length, columns, specs: ['Island', ['Island', 'Sex']], minSliceSize: 30 });
    const expected = await withDuckDb({ tmpDir: await tempDir('slices'), signal: new AbortController().signal }, async (db) => {
      const from = `read_json(${sqlString(vegaFile('penguins.json'))})`;
      const island = (await db.query(`SELECT Island, count(*)::INTEGER AS n FROM ${from} GROUP BY Island ORDER BY Island`)).getRowObjectsJS();
      const cross = (await db.query(`SELECT Island, Sex, count(*)::INTEGER AS n FROM ${from} GROUP BY ALL ORDER BY Island, Sex NULLS LAST`)).getRowObjectsJS();
      return [
        { key: {}, n: penguins.length },
        ...island.map((r) => ({ key: { Island: r.Island as string }, n: r.n as number })),
        ...cross.map((r) => ({ key: { Island: r.Island as string, Sex: r.Sex as string | null }, n: r.n as number })),
      ];
    });
    assert.deepEqual(
      slices.map((s) => ({ key: s.key, n: s.rows.length })),
      expected,
    );
    for (const s of slices) {
      assert.equal(s.tooSmall, s.rows.length < 30, JSON.stringify(s.key));
      for (const row of s.rows) for (const [f, v] of Object.entries(s.key)) assert.equal(penguins[row]![f as 'Island' | 'Sex'], v);
    }
    assert.deepEqual(
      slices.filter((s) => s.tooSmall).map((s) => s.key),
      [
        { Island: 'Biscoe', Sex: '.' },
        { Island: 'Biscoe', Sex: null },
        { Island: 'Dream', Sex: null },
        { Island: 'Torgersen', Sex: 'FEMALE' },
        { Island: 'Torgersen', Sex: 'MALE' },
        { Island: 'Torgersen', Sex: null },
      ],
    );
  });

  it('orders numbers ascending before strings, null last, reads NaN as null, and refuses unknown features and continuous ones', function () {
    const columns = new Map<string, SliceValue[]>([['v', [3, 'b', null, 1, NaN, 'a', 3]]]);
    const slices = groupSlices({ rowCount: 7, columns, specs: ['v'], minSliceSize: 1 });
    assert.deepEqual(
      slices.map((s) => [s.key, [...s.rows]]),
      [
        [{}, [0, 1, 2, 3, 4, 5, 6]],
        [{ v: 1 }, [3]],
        [{ v: 3 }, [0, 6]],
        [{ v: 'a' }, [5]],
        [{ v: 'b' }, [1]],
        [{ v: null }, [2, 4]],
      ],
    );
    assert.throws(() => groupSlices({ rowCount: 7, columns, specs: ['island'], minSliceSize: 1 }), (e: Error) => e instanceof UserInputError && /"island" is not a column of the eval split \(the slicing features read are v\)/.test(e.message));
    const n = MAX_SLICES_PER_SPEC + 1;
    assert.throws(
      () => groupSlices({ rowCount: n, columns: new Map([['delay', Array.from({ length: n }, (_, i) => i / 10)]]), specs: ['delay'], minSliceSize: 1 }),
      (e: Error) => e instanceof UserInputError && e.message.includes(`delay gives ${n} slices, more than ${MAX_SLICES_PER_SPEC}`),
    );
  });
});

/** A slice's result as the Evaluator reports it, with the metrics given as value or [value, lower, upper]. */
function slice(key: SliceKey, examples: number, metrics: Record<string, number | null | [number, number, number]>, minSliceSize = 30): SliceResult {
  const values: Record<string, MetricValue> = {};
  for (const [m, v] of Object.entries(metrics)) values[m] = Array.isArray(v) ? { value: v[0], lower: v[1], upper: v[2] } : { value: v };
  return { slice: key, examples, tooSmall: examples < minSliceSize, metrics: examples < minSliceSize ? {} : values };
}

const thresholds = (t: unknown[]) => ThresholdsSchema.parse(t);
const judged = (t: unknown[], candidate: SliceResult[], baseline: SliceResult[] | null, differences: Difference[] = [], confidence: number | null = 0.95) =>
  judge({ thresholds: thresholds(t), candidate, baseline, differences, minSliceSize: 30, confidence });

describe('Evaluator blessing: thresholds', function () {
  const candidate = [slice({}, 1000, { accuracy: 0.93, log_loss: 0.21 }), slice({ island: 'Biscoe' }, 400, { accuracy: 0.95, roc_auc: null }), slice({ island: 'Torgersen' }, 12, { accuracy: 1 })];
  const baseline = [slice({}, 1000, { accuracy: 0.9, log_loss: 0.25 }), slice({ island: 'Biscoe' }, 400, { accuracy: 0.96 })];

  it('blesses when every value and change threshold holds, and lists each check with its value, baseline and reason', function () {
    const j = judged(
      [
        { metric: 'accuracy', value: { lower: 0.9 }, change: { direction: 'higherIsBetter', absolute: 0 } },
        { metric: 'log_loss', change: { direction: 'lowerIsBetter', relative: -0.1 } },
      ],
      candidate,
      baseline,
    );
    assert.equal(j.verdict, 'blessed');
    assert.equal(j.blessed, true);
    assert.deepEqual(
      j.checks.map((c) => [c.metric, c.kind, c.value, c.baselineValue, c.passed, c.reason]),
      [
        ['accuracy', 'value', 0.93, undefined, true, 'accuracy on overall = 0.93 within [0.9, +∞]'],
        ['accuracy', 'change', 0.93, 0.9, true, 'accuracy on overall: 0.93 vs baseline 0.9, change +0.03 ≥ absolute slack 0 (higher is better)'],
        ['log_loss', 'change', 0.21, 0.25, true, 'log_loss on overall: 0.21 vs baseline 0.25, change -0.04, relative change -0.16 ≤ relative slack -0.1 (lower is better)'],
      ],
    );
  });

  it('does not bless when a value threshold fails, and names the failure in the verdict', function () {
    const j = judged([{ metric: 'accuracy', value: { lower: 0.95 } }], candidate, baseline);
    assert.equal(j.blessed, false);
    assert.equal(j.verdict, 'not blessed: accuracy on overall = 0.93 < lower bound 0.95');
  });

  it('does not bless when a change threshold fails on a slice although overall improves', function () {
    const j = judged([{ metric: 'accuracy', slice: { island: 'Biscoe' }, change: { direction: 'higherIsBetter', absolute: 0 } }], candidate, baseline);
    assert.equal(j.blessed, false);
    assert.equal(j.verdict, 'not blessed: accuracy on island = Biscoe: 0.95 vs baseline 0.96, change -0.01 < absolute slack 0 (higher is better)');
  });

  it('does not bless on the significance option when the paired interval does not clear the slack, although the point estimate does', async function () {
    const { mass, good, slightlyWorse, worse } = await penguinRegressions();
    const rows = all(mass.length);
    const judgeMse = async (baselinePredictions: number[], significant: boolean) => {
      const [result] = await bootstrapIntervals({ rowCount: mass.length, slices: [{ rows, candidate: weightedMse(mass, good), baseline: weightedMse(mass, baselinePredictions) }], bootstrap: options({ resamples: 300, seed: 9 }) });
      const j = judge({
        thresholds: thresholds([{ metric: 'mse', change: { direction: 'lowerIsBetter', absolute: 0, significant } }]),
        candidate: [{ slice: {}, examples: mass.length, tooSmall: false, metrics: result!.candidate }],
        baseline: [{ slice: {}, examples: mass.length, tooSmall: false, metrics: result!.baseline! }],
        differences: [{ slice: {}, metrics: result!.difference! }],
        minSliceSize: 30,
        confidence: 0.95,
      });
      return { j, difference: result!.difference!.mse! };
    };
    // Least squares against a slope 3% off: a lower MSE, by less than the noise.
    const plain = await judgeMse(slightlyWorse, false);
    assert.ok(plain.difference.value! < 0 && plain.difference.upper! > 0, JSON.stringify(plain.difference));
    assert.equal(plain.j.verdict, 'blessed');
    const significant = await judgeMse(slightlyWorse, true);
    assert.equal(significant.j.blessed, false);
    assert.deepEqual(significant.j.checks[0]!.interval, { lower: plain.difference.lower, upper: plain.difference.upper });
    assert.match(significant.j.verdict, /^not blessed: mse on overall: .* clears absolute slack 0, but not significantly: the paired 95% interval of the change is \[-\d.*, \+\d.*\] and its upper bound \+\d.* > absolute slack 0$/);
    // Against a slope 20% off the improvement is real, and the same option passes.
    const real = await judgeMse(worse, true);
    assert.equal(real.j.verdict, 'blessed', real.j.checks[0]!.reason);
    assert.match(real.j.checks[0]!.reason, /significantly: the paired 95% interval of the change is \[-\d.*, -\d.*\], its upper bound clears the slack$/);
  });

  it('does not bless with no thresholds configured, and says so', function () {
    const j = judged([], candidate, baseline);
    assert.deepEqual(j, { checks: [], blessed: false, verdict: NO_THRESHOLDS_VERDICT });
    assert.equal(j.verdict, 'not blessed: no thresholds configured');
  });

  it('judges a first model (no baseline) by its value thresholds only: change thresholds are skipped with the reason', function () {
    const t = [{ metric: 'accuracy', value: { lower: 0.9 }, change: { direction: 'higherIsBetter', absolute: 0.01, significant: true } }];
    const j = judged(t, candidate, null);
    assert.equal(j.verdict, 'blessed');
    assert.deepEqual(
      j.checks.map((c) => [c.kind, c.passed, c.skipped]),
      [
        ['value', true, undefined],
        ['change', true, true],
      ],
    );
    assert.equal(j.checks[1]!.reason, 'accuracy on overall: change threshold skipped, there is no baseline (a first model is judged by value thresholds only)');
    assert.equal(judged([{ ...t[0], value: { lower: 0.95 } }], candidate, null).verdict, 'not blessed: accuracy on overall = 0.93 < lower bound 0.95');
    // Whatever the candidate's slice holds: a change threshold has nothing to compare with.
    const onUndefined = judged([{ metric: 'roc_auc', slice: { island: 'Biscoe' }, change: { direction: 'higherIsBetter', absolute: 0 } }], candidate, null);
    assert.deepEqual([onUndefined.verdict, onUndefined.checks[0]!.skipped], ['blessed', true]);
  });

  it('holds at exactly the bound (inclusive), value and change alike', function () {
    const exact = [slice({}, 100, { accuracy: 0.75, mae: 0.25 })];
    const before = [slice({}, 100, { accuracy: 0.5, mae: 0.5 })];
    const j = judged(
      [
        { metric: 'accuracy', value: { lower: 0.75, upper: 0.75 }, change: { direction: 'higherIsBetter', absolute: 0.25, relative: 0.5 } },
        { metric: 'mae', change: { direction: 'lowerIsBetter', absolute: -0.25, relative: -0.5 } },
      ],
      exact,
      before,
    );
    assert.equal(j.verdict, 'blessed', j.checks.map((c) => c.reason).join('\n'));
    assert.equal(judged([{ metric: 'accuracy', value: { upper: 0.7499999 } }], exact, before).blessed, false);
    assert.equal(judged([{ metric: 'mae', change: { direction: 'lowerIsBetter', absolute: -0.2500001 } }], exact, before).blessed, false);
  });

  it('fails a relative change from a baseline of 0 (undefined), while an absolute one is judged', function () {
    const candidateZero = [slice({}, 100, { mae: 0.3 })];
    const baselineZero = [slice({}, 100, { mae: 0 })];
    const relative = judged([{ metric: 'mae', change: { direction: 'lowerIsBetter', relative: 0.1 } }], candidateZero, baselineZero);
    assert.equal(relative.verdict, 'not blessed: mae on overall: 0.3 vs baseline 0, change +0.3: the relative change from a baseline of 0 is undefined, so the relative slack 0.1 cannot hold');
    assert.equal(judged([{ metric: 'mae', change: { direction: 'lowerIsBetter', absolute: 0.5 } }], candidateZero, baselineZero).verdict, 'blessed');
    // A negative baseline does not flip the direction: R² from -0.5 to -0.25 is a relative improvement of +50%.
    const r2 = judged([{ metric: 'r2', change: { direction: 'higherIsBetter', relative: 0.5 } }], [slice({}, 100, { r2: -0.25 })], [slice({}, 100, { r2: -0.5 })]);
    assert.equal(r2.verdict, 'blessed', r2.checks[0]!.reason);
  });

  it('fails a threshold on a named slice that is too small or missing, or a metric that is undefined or unknown; skips too-small slices of eachSliceOf', function () {
    const reasons = (t: unknown[]) => judged(t, candidate, baseline).checks.map((c) => [c.passed, c.skipped ?? false, c.reason]);
    assert.deepEqual(reasons([{ metric: 'accuracy', slice: { island: 'Torgersen' }, value: { lower: 0.5 } }]), [
      [false, false, 'accuracy on island = Torgersen: the slice has 12 examples, fewer than minSliceSize 30, so its metrics are not computed and the threshold cannot hold'],
    ]);
    assert.deepEqual(reasons([{ metric: 'accuracy', slice: { island: 'Dream' }, value: { lower: 0.5 } }]), [[false, false, "accuracy on island = Dream: the slice is not in the candidate's eval rows"]]);
    assert.deepEqual(reasons([{ metric: 'roc_auc', slice: { island: 'Biscoe' }, value: { lower: 0.5 } }]), [[false, false, "roc_auc on island = Biscoe: the candidate's roc_auc is undefined on this slice"]]);
    assert.deepEqual(reasons([{ metric: 'acuracy', value: { lower: 0.5 } }]), [[false, false, 'acuracy on overall: the candidate has no metric "acuracy" (its metrics are accuracy, log_loss)']]);
    assert.deepEqual(reasons([{ metric: 'roc_auc', slice: { island: 'Biscoe' }, change: { direction: 'higherIsBetter', absolute: 0 } }])[0]![0], false);
    const each = judged([{ metric: 'accuracy', eachSliceOf: 'island', value: { lower: 0.9 }, change: { direction: 'higherIsBetter', absolute: -0.02 } }], candidate, baseline);
    assert.equal(each.verdict, 'blessed');
    assert.deepEqual(
      each.checks.map((c) => [c.slice, c.kind, c.passed, c.skipped ?? false]),
      [
        [{ island: 'Biscoe' }, 'value', true, false],
        [{ island: 'Biscoe' }, 'change', true, false],
        [{ island: 'Torgersen' }, 'value', true, true],
        [{ island: 'Torgersen' }, 'change', true, true],
      ],
    );
    assert.equal(each.checks[2]!.reason, 'accuracy on island = Torgersen: not judged, the slice has 12 examples, fewer than minSliceSize 30');
  });

  it('fails a significance option when the bootstrap is off', function () {
    const j = judged([{ metric: 'accuracy', change: { direction: 'higherIsBetter', absolute: 0, significant: true } }], candidate, baseline, [], null);
    assert.equal(j.verdict, 'not blessed: accuracy on overall: 0.93 vs baseline 0.9, change +0.03 clears absolute slack 0, but its significance cannot be judged: the bootstrap is off');
  });

  it('refuses thresholds that cannot mean anything, naming what is missing', function () {
    const message = (t: unknown) => {
      const parsed = ThresholdSchema.safeParse(t);
      assert.equal(parsed.success, false, JSON.stringify(t));
      return parsed.error!.issues.map((i) => i.message).join('; ');
    };
    assert.match(message({ metric: 'accuracy' }), /needs a value threshold, a change threshold or both/);
    assert.match(message({ metric: 'accuracy', value: {} }), /needs a lower bound, an upper bound or both/);
    assert.match(message({ metric: 'accuracy', value: { lower: 0.9, upper: 0.8 } }), /lower bound must not exceed its upper bound/);
    assert.match(message({ metric: 'accuracy', change: { direction: 'higherIsBetter' } }), /needs an absolute slack, a relative slack or both/);
    assert.match(message({ metric: 'accuracy', change: { direction: 'up', absolute: 0 } }), /higherIsBetter/);
    assert.match(message({ metric: 'accuracy', slice: { island: 'Biscoe' }, eachSliceOf: 'island', value: { lower: 0 } }), /one slice or eachSliceOf a spec, not both/);
    assert.throws(
      () => checkThresholdSlices(thresholds([{ metric: 'accuracy', value: { lower: 0 } }, { metric: 'accuracy', slice: { Sex: 'MALE', Island: 'Dream' }, value: { lower: 0 } }]), ['Island']),
      (e: Error) => e instanceof UserInputError && e.message === 'thresholds[1] (accuracy): no slice spec slices on Sex × Island; add ["Sex","Island"] to slices (the slices are "Island")',
    );
    checkThresholdSlices(thresholds([{ metric: 'accuracy', eachSliceOf: ['Sex', 'Island'], value: { lower: 0 } }]), [['Island', 'Sex']]);
  });
});
