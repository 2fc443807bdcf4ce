import assert from 'node:assert/strict';
import path from 'node:path';
import { canonicalJson } from '../../artifacts/fingerprint';
import { withDuckDb } from '../../components/data/duckdb-session';
import { sqlString } from '../../components/data/sql';
import { AnalyzerValuesSchema, collectAnalyzers, computeAnalyzers } from '../../components/transform/analyzers';
import type { AnalyzerNode, Expression, TransformIr } from '../../components/transform/expression';
import { tempDir } from '../support/tmp';
import { rejects } from '../support/user-input-errors';
import { duckQuery, readParquet } from './parquet-rows';
import { mean, median, popVar, quantileBoundaries, vocabularyOf } from './transform-reference';
import { vegaFile } from './vega-data';

const BEAK = 'Beak Length (mm)';
/** "Tie": apple and pear both 5 times, so their order shows the tie rule (pear before apple). */
const PENGUINS_WITH_TIE =
  `SELECT *, CASE WHEN row_number() OVER () <= 5 THEN 'apple' WHEN row_number() OVER () <= 10 THEN 'pear' ` +
  `WHEN row_number() OVER () <= 11 THEN 'zz' ELSE 'common' END AS "Tie" FROM read_json(${sqlString(vegaFile('penguins.json'))})`;

const feature = (name: string): Expression => ({ op: 'feature', name });
const beakFilledWithMean: Expression = { op: 'fillMissing', input: feature(BEAK), with: { kind: 'mean' }, value: { analyzer: 'mean', of: feature(BEAK) } };

/** One output per analyzer; vocabularyIds holds an analyzer node of any kind, and this module does not check kinds. */
function irOf(analyzers: AnalyzerNode[]): TransformIr {
  return {
    version: 1,
    outputs: analyzers.map((vocabulary, i) => ({
      name: `out${i}`,
      expression: { op: 'vocabularyIds', input: feature('Species'), vocabulary, defaultValue: -1, numOovBuckets: 0 },
      dtype: 'int64',
      shape: { kind: 'scalar' },
    })),
  };
}

const close = (actual: unknown, expected: number) => assert.ok(typeof actual === 'number' && Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${String(actual)} ≠ ${expected}`);

describe('Transform analyzers', () => {
  let file: string;
  let rows: Record<string, unknown>[];
  /** The feature's present values; integer columns come back from DuckDB as bigint. */
  const numbers = (name: string) =>
    rows.flatMap((r) => {
      const v = r[name];
      return typeof v === 'bigint' ? [Number(v)] : typeof v === 'number' && Number.isFinite(v) ? [v] : [];
    });
  const strings = (name: string) => rows.map((r) => r[name]).filter((v): v is string => typeof v === 'string');
  const compute = async (ir: TransformIr) => {
    const dir = await tempDir('analyzers-duck');
    return withDuckDb({ tmpDir: dir, signal: new AbortController().signal }, (s) => computeAnalyzers(s, ir, [file]));
  };

  before(async () => {
    const dir = await tempDir('analyzers');
    file = path.join(dir, 'data-00000.parquet');
    await duckQuery(`COPY (${PENGUINS_WITH_TIE}) TO ${sqlString(file)} (FORMAT parquet)`);
    rows = await readParquet(file);
  });

  it('computes every analyzer once, each equal to a plain TypeScript computation over the same rows', async () => {
    const beak = numbers(BEAK);
    const beakMean = mean(beak);
    const beakFilled = rows.map((r) => (typeof r[BEAK] === 'number' ? (r[BEAK] as number) : beakMean));
    const mass = numbers('Body Mass (g)');
    const flipper = numbers('Flipper Length (mm)');
    const cases: Array<[AnalyzerNode, (v: unknown) => void]> = [
      [{ analyzer: 'mean', of: feature(BEAK) }, (v) => close(v, beakMean)],
      [{ analyzer: 'var', of: feature(BEAK) }, (v) => close(v, popVar(beak))],
      [{ analyzer: 'min', of: feature(BEAK) }, (v) => assert.equal(v, Math.min(...beak))],
      [{ analyzer: 'max', of: feature(BEAK) }, (v) => assert.equal(v, Math.max(...beak))],
      [{ analyzer: 'median', of: feature(BEAK) }, (v) => close(v, median(beak))],
      [{ analyzer: 'quantiles', of: feature(BEAK), numBuckets: 4 }, (v) => assert.deepEqual(v, quantileBoundaries(beak, 4))],
      [{ analyzer: 'quantiles', of: feature(BEAK), numBuckets: 7 }, (v) => assert.deepEqual(v, quantileBoundaries(beak, 7))],
      // A skewed input: repeated boundaries collapse.
      [{ analyzer: 'quantiles', of: feature('Flipper Length (mm)'), numBuckets: 50 }, (v) => assert.deepEqual(v, quantileBoundaries(flipper, 50))],
      [{ analyzer: 'mode', of: feature('Island') }, (v) => assert.equal(v, vocabularyOf(strings('Island'))[0])],
      [{ analyzer: 'vocabulary', of: feature('Species') }, (v) => assert.deepEqual(v, vocabularyOf(strings('Species')))],
      [{ analyzer: 'vocabulary', of: feature('Tie') }, (v) => assert.deepEqual(v, ['common', 'pear', 'apple', 'zz'])],
      [{ analyzer: 'vocabulary', of: feature('Tie'), topK: 2 }, (v) => assert.deepEqual(v, vocabularyOf(strings('Tie'), { topK: 2 }))],
      [{ analyzer: 'vocabulary', of: feature('Tie'), frequencyThreshold: 5 }, (v) => assert.deepEqual(v, ['common', 'pear', 'apple'])],
      // labelIds' classes: lexicographic, whatever the counts.
      [{ analyzer: 'classes', of: feature('Tie') }, (v) => assert.deepEqual(v, ['apple', 'common', 'pear', 'zz'])],
      [{ analyzer: 'classes', of: feature('Species') }, (v) => assert.deepEqual(v, [...new Set(strings('Species'))].sort())],
      [{ analyzer: 'var', of: beakFilledWithMean }, (v) => close(v, popVar(beakFilled))],
      [{ analyzer: 'mean', of: { op: 'log1p', input: feature('Body Mass (g)') } }, (v) => close(v, mean(mass.map(Math.log1p)))],
      [{ analyzer: 'mean', of: { op: 'clip', input: feature('Flipper Length (mm)'), min: 190, max: 200 } }, (v) => close(v, mean(flipper.map((x) => Math.min(200, Math.max(190, x)))))],
      [
        { analyzer: 'quantiles', of: { op: 'fillMissing', input: feature(BEAK), with: { kind: 'constant', value: 0 } }, numBuckets: 100 },
        (v) => assert.deepEqual(v, quantileBoundaries(rows.map((r) => (typeof r[BEAK] === 'number' ? (r[BEAK] as number) : 0)), 100)),
      ],
      [{ analyzer: 'mode', of: { op: 'fillMissing', input: feature('Sex'), with: { kind: 'constant', value: 'unknown' } } }, (v) => assert.equal(v, vocabularyOf(rows.map((r) => (r.Sex as string | null) ?? 'unknown'))[0])],
    ];
    assert.ok(beak.length < rows.length, 'the beak feature has missing values, so fillMissing is exercised');
    const ir = irOf([...cases.map(([node]) => node), cases[0]![0]]);
    assert.equal(collectAnalyzers(ir).length, cases.length, 'the repeated mean and the mean nested in fillMissing are one analyzer');
    const values = AnalyzerValuesSchema.parse(await compute(ir));
    assert.deepEqual(Object.keys(values).sort(), collectAnalyzers(ir).map((u) => u.key).sort());
    for (const [node, check] of cases) check(values[canonicalJson(node)]);
  });

  it('refuses an analyzer over a mapper it cannot translate, naming the output', async () => {
    const ir = irOf([{ analyzer: 'mean', of: { op: 'hashStrings', input: feature('Species'), numBuckets: 3 } }]);
    await rejects(compute(ir), /output "out0": an analyzer reads hashStrings of feature "Species"/);
  });

  it('refuses an analyzer over a feature without a single value, naming the output', async () => {
    const ir = irOf([{ analyzer: 'mean', of: feature('Empty') }]);
    const dir = await tempDir('analyzers-empty');
    const empty = path.join(dir, 'data.parquet');
    await duckQuery(`COPY (SELECT CAST(NULL AS DOUBLE) AS "Empty" FROM range(3)) TO ${sqlString(empty)} (FORMAT parquet)`);
    await rejects(
      withDuckDb({ tmpDir: dir, signal: new AbortController().signal }, (s) => computeAnalyzers(s, ir, [empty])),
      /output "out0": mean of feature "Empty" found no non-missing finite values/,
    );
  });
});
