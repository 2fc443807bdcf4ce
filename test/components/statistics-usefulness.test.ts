import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { sqlString } from '../../components/data/sql';
import { ExampleStatisticsSchema, STATISTICS_FILE_NAME, type FeatureStatistics } from '../../components/statistics-gen/payload';
import { StatisticsGen } from '../../components/statistics-gen/spec';
import { USEFULNESS_FILE_NAME, UsefulnessSchema, type FeatureUsefulness, type SplitUsefulness } from '../../components/statistics-gen/usefulness/payload';
import { runExecutorForTest, type TestArtifact } from '../support/executor-harness';
import { tempDir } from '../support/tmp';
import { rejects } from '../support/user-input-errors';
import { duckQuery } from './parquet-rows';
import { vegaFile } from './vega-data';

type Row = Record<string, unknown>;

/**
 * Penguins with planted columns: a constant, a row identifier (md5 of the row number, so it carries
 * no order), body mass in kilograms beside grams, a column of noise missing in two rows of three, one whose
 * value holds all but two rows, and the island as a number.
 */
const PLANTED_PENGUINS =
  `SELECT *, 'penguin' AS "Const", md5(row_number() OVER ()::VARCHAR) AS "Id", "Body Mass (g)" / 1000.0 AS "Body Mass (kg)", ` +
  `CASE WHEN row_number() OVER () % 3 = 0 THEN (hash(row_number() OVER ()) % 1000)::DOUBLE END AS "Sparse", ` +
  `CASE WHEN row_number() OVER () <= 2 THEN 'rare' ELSE 'common' END AS "Nearly Const", ` +
  `CASE "Island" WHEN 'Biscoe' THEN 10 WHEN 'Dream' THEN 20 WHEN 'Torgersen' THEN 30 END AS "Island Code" ` +
  `FROM read_json(${sqlString(vegaFile('penguins.json'))})`;

async function examplesOf(name: string, selectSql: string): Promise<{ artifact: TestArtifact; file: string }> {
  const dir = await tempDir(`usefulness-${name}`);
  await mkdir(path.join(dir, 'Split-train'));
  const file = path.join(dir, 'Split-train', 'data-00000.parquet');
  await duckQuery(`COPY (${selectSql}) TO ${sqlString(file)} (FORMAT parquet)`);
  return { artifact: { localDir: dir }, file };
}

async function runWithLabel(artifact: TestArtifact, label: string) {
  const run = await runExecutorForTest(StatisticsGen, { parameters: { label }, inputs: { examples: [artifact] } });
  const dir = run.outputDirs.statistics!;
  const statistics = ExampleStatisticsSchema.parse(JSON.parse(await readFile(path.join(dir, STATISTICS_FILE_NAME), 'utf8')));
  const usefulness = UsefulnessSchema.parse(JSON.parse(await readFile(path.join(dir, USEFULNESS_FILE_NAME), 'utf8')));
  return { statistics: statistics.splits[0]!, usefulness: usefulness.splits[0]!, conventions: usefulness.conventions };
}

// The independent computation: each row's bin as the conventions state it, then counts → entropies.

/** Deciles of the statistics (0.1 … 0.9), each once: x's bin is how many of them are ≤ x. */
function decileBin(stats: FeatureStatistics): (v: unknown) => string {
  const deciles = [...new Set(stats.numeric!.quantiles!.points.filter((p) => [1, 2, 3, 4, 5, 6, 7, 8, 9].some((k) => Math.abs(p.q - k / 10) < 1e-12)).map((p) => p.value))];
  return (v) => (v === null ? 'missing' : Number.isNaN(Number(v)) ? 'nan' : `range ${deciles.filter((e) => e <= Number(v)).length}`);
}

/** The `keep` most frequent values (ties in ascending order), the rest "other". */
function valueBin(rows: Row[], column: string, keep: number): (v: unknown) => string {
  const counts = new Map<string, number>();
  for (const r of rows) if (r[column] !== null) counts.set(String(r[column]), (counts.get(String(r[column])) ?? 0) + 1);
  const kept = new Set([...counts].sort(([a, m], [b, n]) => n - m || (a < b ? -1 : 1)).slice(0, keep).map(([v]) => v));
  return (v) => (v === null ? 'missing' : kept.has(String(v)) ? `value ${String(v)}` : 'other');
}

function entropy(keys: string[]): number {
  const counts = new Map<string, number>();
  for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  return [...counts.values()].reduce((h, n) => h - (n / keys.length) * Math.log2(n / keys.length), 0);
}

/** I(X; Y) = H(X) + H(Y) − H(X, Y) over the rows where the label is present. */
function mutualInformation(rows: Row[], label: string, binLabel: (v: unknown) => string, feature: string, binFeature: (v: unknown) => string): number {
  const labeled = rows.filter((r) => r[label] !== null);
  const xs = labeled.map((r) => binFeature(r[feature]));
  const ys = labeled.map((r) => binLabel(r[label]));
  return entropy(xs) + entropy(ys) - entropy(xs.map((x, i) => `${x}|${ys[i]}`));
}

/** Pearson's r over the rows where both values are present and finite. */
function pearson(rows: Row[], a: string, b: string): { r: number; n: number } {
  const pairs = rows.map((row) => [Number(row[a] ?? NaN), Number(row[b] ?? NaN)] as const).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const mean = (k: 0 | 1) => pairs.reduce((s, p) => s + p[k], 0) / pairs.length;
  const [mx, my] = [mean(0), mean(1)];
  const sum = (f: (p: readonly [number, number]) => number) => pairs.reduce((s, p) => s + f(p), 0);
  const r = sum(([x, y]) => (x - mx) * (y - my)) / Math.sqrt(sum(([x]) => (x - mx) ** 2) * sum(([, y]) => (y - my) ** 2));
  return { r, n: pairs.length };
}

const feature = (split: SplitUsefulness, name: string): FeatureUsefulness => {
  const f = split.features.find((x) => x.name === name);
  assert.ok(f, `${name} in the usefulness payload`);
  return f;
};
const flagKinds = (split: SplitUsefulness, name: string) => feature(split, name).flags.map((f) => f.kind);
const close = (actual: number | null, expected: number, what: string) => assert.ok(actual !== null && Math.abs(actual - expected) < 1e-9, `${what}: ${actual} against ${expected}`);

describe('StatisticsGen usefulness (label)', function () {
  let penguins: { artifact: TestArtifact; rows: Row[] };
  before(async function () {
    const { artifact, file } = await examplesOf('penguins', PLANTED_PENGUINS);
    penguins = { artifact, rows: await duckQuery(`SELECT * FROM read_parquet(${sqlString(file)})`) };
  });

  it('ranks the species-informative measurements above a planted constant and id, flags each planted column with its reason, MI and r as computed over the rows', async function () {
    const { statistics, usefulness: u } = await runWithLabel(penguins.artifact, 'Species');
    const { rows } = penguins;
    assert.equal(u.label.name, 'Species');
    assert.deepEqual(u.label.binning.bins, [
      { kind: 'value', value: 'Adelie', count: 152 },
      { kind: 'value', value: 'Gentoo', count: 124 },
      { kind: 'value', value: 'Chinstrap', count: 68 },
    ]);
    assert.ok(!u.features.some((f) => f.name === 'Species'), 'the label is not ranked');
    assert.deepEqual(
      u.features.map((f) => f.rank),
      u.features.map((_, i) => i + 1),
      'every feature here is single-valued, so all are ranked',
    );

    const rank = (name: string) => feature(u, name).rank!;
    for (const informative of ['Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)']) {
      for (const useless of ['Const', 'Id']) assert.ok(rank(informative) < rank(useless), `${informative} (${rank(informative)}) above ${useless} (${rank(useless)})`);
    }
    assert.equal(feature(u, 'Const').mutualInformation, 0);
    assert.deepEqual(feature(u, 'Const').flags, [{ kind: 'constant', value: 'penguin', reason: 'one value ("penguin") in all 344 present rows' }]);
    assert.deepEqual(feature(u, 'Id').flags, [
      { kind: 'idLike', distinct: 344, count: 344, reason: "344 distinct values in 344 present rows (100%; SchemaGen's idLike rule: ≥ 90% of ≥ 100 rows)" },
    ]);
    assert.deepEqual(flagKinds(u, 'Sparse'), ['mostlyMissing']);
    assert.match(feature(u, 'Sparse').flags[0]!.reason, /^missing in 230 of 344 rows \(66\.9%; flagged at 50%\)$/);
    assert.deepEqual(feature(u, 'Nearly Const').flags, [
      { kind: 'nearConstant', value: 'common', share: 342 / 344, reason: '"common" in 342 of 344 present rows (99.4%; flagged at 99%)' },
    ]);
    // The copy in kilograms, both ways, by r; the island's code, both ways, by its values' one-to-one map.
    for (const [a, b] of [['Body Mass (kg)', 'Body Mass (g)'], ['Body Mass (g)', 'Body Mass (kg)']] as const) {
      assert.deepEqual(feature(u, a).flags, [
        { kind: 'nearDuplicate', of: b, pearson: 1, oneToOne: false, reason: `Pearson r = 1 with "${b}" over 342 rows (flagged at |r| ≥ 0.99)` },
      ]);
    }
    for (const [a, b] of [['Island Code', 'Island'], ['Island', 'Island Code']] as const) {
      assert.deepEqual(feature(u, a).flags, [{ kind: 'nearDuplicate', of: b, pearson: null, oneToOne: true, reason: `its values map one to one onto those of "${b}"` }]);
    }
    for (const clean of ['Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Sex']) assert.deepEqual(feature(u, clean).flags, [], clean);

    // Mutual information, Theil's U and the chance level against counts → entropies in TypeScript.
    const stats = (name: string) => statistics.features.find((f) => f.name === name)!;
    const species = valueBin(rows, 'Species', 100);
    const labelEntropy = entropy(rows.map((r) => species(r.Species)));
    close(u.label.entropy, labelEntropy, 'H(Species)');
    const binners: Record<string, (v: unknown) => string> = {
      'Beak Length (mm)': decileBin(stats('Beak Length (mm)')),
      'Beak Depth (mm)': decileBin(stats('Beak Depth (mm)')),
      'Flipper Length (mm)': decileBin(stats('Flipper Length (mm)')),
      'Body Mass (g)': decileBin(stats('Body Mass (g)')),
      'Body Mass (kg)': decileBin(stats('Body Mass (kg)')),
      Sparse: decileBin(stats('Sparse')),
      Island: valueBin(rows, 'Island', 20),
      'Island Code': valueBin(rows, 'Island Code', 20),
      Sex: valueBin(rows, 'Sex', 20),
      Id: valueBin(rows, 'Id', 20),
      Const: valueBin(rows, 'Const', 20),
      'Nearly Const': valueBin(rows, 'Nearly Const', 20),
    };
    assert.deepEqual(u.features.map((f) => f.name).sort(), Object.keys(binners).sort());
    for (const [name, bin] of Object.entries(binners)) {
      const f = feature(u, name);
      const mi = mutualInformation(rows, 'Species', species, name, bin);
      close(f.mutualInformation, mi, `I(${name}; Species)`);
      close(f.uncertaintyCoefficient, mi / labelEntropy, `U(${name})`);
      close(f.entropy, entropy(rows.map((r) => bin(r[name]))), `H(${name})`);
      const bins = new Set(rows.map((r) => bin(r[name]))).size;
      close(f.chanceLevel, ((bins - 1) * 2) / (2 * 344 * Math.LN2), `chance level of ${name}`);
    }
    const ranking = Object.keys(binners).sort((a, b) => mutualInformation(rows, 'Species', species, b, binners[b]!) - mutualInformation(rows, 'Species', species, a, binners[a]!) || a.localeCompare(b));
    assert.deepEqual(u.features.map((f) => f.name), ranking);
    assert.ok(feature(u, 'Flipper Length (mm)').mutualInformation! > 0.8, 'flipper length tells Gentoo apart');
    const id = feature(u, 'Id');
    assert.ok(id.mutualInformation! < 2 * id.chanceLevel!, `the identifier's ${id.mutualInformation} bits are about what chance gives (${id.chanceLevel})`);

    // The binning stated in the payload is the one counted: Beak Length's cuts are the statistics' deciles.
    const beak = feature(u, 'Beak Length (mm)').binning!;
    assert.equal(beak.method, 'quantiles');
    const deciles = stats('Beak Length (mm)').numeric!.quantiles!.points.filter((p) => p.q > 0 && p.q < 1).map((p) => p.value);
    assert.deepEqual(beak.bins.filter((b) => b.kind === 'range').map((b) => b.high).slice(0, -1), deciles);
    assert.deepEqual(beak.bins.at(-1), { kind: 'missing', count: 2 });
    assert.deepEqual(feature(u, 'Island').binning!.bins.map((b) => (b.kind === 'value' ? b.value : b.kind)), ['Biscoe', 'Dream', 'Torgersen']);
    const idBins = feature(u, 'Id').binning!.bins;
    assert.deepEqual([idBins.length, idBins.at(-1)], [21, { kind: 'other', count: 324 }], 'an identifier keeps 20 values and one other bin');

    // Pearson for every numeric pair, as TypeScript computes it over the rows where both are finite.
    const numeric = ['Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Body Mass (g)', 'Body Mass (kg)', 'Sparse', 'Island Code'];
    assert.deepEqual(u.correlation.features, numeric);
    numeric.forEach((a, i) =>
      numeric.forEach((b, j) => {
        const expected = pearson(rows, a, b);
        close(u.correlation.pearson[i]![j]!, expected.r, `r(${a}, ${b})`);
        assert.equal(u.correlation.rows[i]![j], expected.n, `rows of r(${a}, ${b})`);
      }),
    );
  });

  it('bins a numeric label at its deciles and flags a copy of the label as its near-duplicate', async function () {
    const { statistics, usefulness: u } = await runWithLabel(penguins.artifact, 'Body Mass (g)');
    const { rows } = penguins;
    const stats = (name: string) => statistics.features.find((f) => f.name === name)!;
    assert.equal(u.label.binning.method, 'quantiles');
    assert.equal(u.label.labeled, 342, 'the two penguins without a mass are left out');
    const mass = decileBin(stats('Body Mass (g)'));
    close(feature(u, 'Species').mutualInformation, mutualInformation(rows, 'Body Mass (g)', mass, 'Species', valueBin(rows, 'Species', 20)), 'I(Species; mass)');
    close(feature(u, 'Flipper Length (mm)').mutualInformation, mutualInformation(rows, 'Body Mass (g)', mass, 'Flipper Length (mm)', decileBin(stats('Flipper Length (mm)'))), 'I(flipper; mass)');
    assert.equal(feature(u, 'Body Mass (kg)').rank, 1, 'the copy of the label tells it best');
    assert.deepEqual(flagKinds(u, 'Body Mass (kg)'), ['nearDuplicate']);
    assert.ok(u.correlation.features.includes('Body Mass (g)'), 'a numeric label is in the correlation matrix');
  });

  it('leaves a list feature out of the ranking, saying why, and still flags it', async function () {
    const { artifact } = await examplesOf('list-feature', `SELECT range % 3 AS x, [7.5]::DOUBLE[] AS y FROM range(10)`);
    const { usefulness: u } = await runWithLabel(artifact, 'x');
    assert.deepEqual(u.features, [
      {
        name: 'y',
        type: 'FLOAT',
        rank: null,
        mutualInformation: null,
        uncertaintyCoefficient: null,
        entropy: null,
        chanceLevel: null,
        binning: null,
        notRanked: 'a list of values per row (DOUBLE[])',
        flags: [{ kind: 'constant', value: '7.5', reason: 'one value ("7.5") in all 10 present rows' }],
      },
    ]);
    assert.deepEqual(u.label.binning.bins.map((b) => (b.kind === 'value' ? [b.value, b.count] : b.kind)), [['0', 4], ['1', 3], ['2', 3]], 'a small INT label by value');
  });

  it('refuses a label that is no feature, naming the split and its features, and a list label', async function () {
    await rejects(
      runExecutorForTest(StatisticsGen, { parameters: { label: 'species' }, inputs: { examples: [penguins.artifact] } }),
      /label "species" is not a feature of split "train" \(its features: Species, Island, .*, Island Code\)/,
    );
    const { artifact } = await examplesOf('list-label', `SELECT range % 3 AS x, [range, range + 1]::DOUBLE[] AS y FROM range(10)`);
    await rejects(
      runExecutorForTest(StatisticsGen, { parameters: { label: 'y' }, inputs: { examples: [artifact] } }),
      /label "y" is a list of values per row \(DOUBLE\[\]\) in split "train": a label needs one comparable value per row/,
    );
  });
});
