import assert from 'node:assert/strict';
import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { sqlString } from '../../components/data/sql';
import { ExampleGen } from '../../components/example-gen/spec';
import { ExampleValidator } from '../../components/example-validator/spec';
import { ANOMALIES_FILE_NAME, ExampleAnomaliesSchema, type ExampleAnomalies } from '../../components/example-validator/payload';
import { ANOMALIES_REPORT_FILE_NAME } from '../../components/reports/anomalies-report';
import { renderStatisticsReport, STATISTICS_REPORT_FILE_NAME } from '../../components/reports/statistics-report';
import { SchemaGen } from '../../components/schema-gen/spec';
import { ExampleStatisticsSchema, STATISTICS_FILE_NAME } from '../../components/statistics-gen/payload';
import { StatisticsGen } from '../../components/statistics-gen/spec';
import { USEFULNESS_FILE_NAME, UsefulnessSchema, type Usefulness } from '../../components/statistics-gen/usefulness/payload';
import { runExecutorForTest } from '../support/executor-harness';
import { chromiumExecutable } from '../support/test-tools';
import { tempDir } from '../support/tmp';
import { rejects } from '../support/user-input-errors';
import { openTestDb } from './example-validator-statistics';
import { keepScreenshot, launchChromium, openReport, type OpenedReport } from './report-browser';
import { vegaFile } from './vega-data';

/** A row of a feature block as the page shows it: the split's name and the figures' text. */
interface ShownRow {
  split: string;
  cells: string[];
}
interface ShownBlock {
  feature: string;
  kind: string;
  flags: string[];
  rows: ShownRow[];
  charts: Array<{ cls: string; marks: number; visible: boolean }>;
}

/** The feature blocks of the tables directly under <main> (not those of the slices), as a reader sees them. */
async function shownBlocks(page: Page, scope = 'main > table.features'): Promise<ShownBlock[]> {
  return page.locator(`${scope} tbody.feature`).evaluateAll((bodies) =>
    bodies.map((b) => ({
      feature: b.getAttribute('data-feature') ?? '',
      kind: b.getAttribute('data-kind') ?? '',
      flags: [...b.querySelectorAll('.flag')].map((f) => f.textContent ?? ''),
      rows: [...b.querySelectorAll('tr')].map((tr) => ({
        split: tr.querySelector('td.split')?.textContent ?? '',
        cells: [...tr.querySelectorAll('td.num, td.value, td.absent')].map((td) => td.textContent ?? ''),
      })),
      charts: [...b.querySelectorAll('svg.chart')].map((svg) => ({
        cls: svg.getAttribute('class') ?? '',
        marks: svg.querySelectorAll('rect, line:not(.axis), circle').length,
        visible: svg.getBoundingClientRect().width > 0,
      })),
    })),
  );
}

const numberIn = (text: string) => Number(text.replace(/,/g, '').replace(/%$/, ''));

function assertClean(report: OpenedReport, what: string): void {
  assert.deepEqual(report.errors, [], `${what} logged errors`);
  assert.deepEqual(report.requests, [], `${what} made network requests`);
}

describe('Reports: statistics.html and anomalies.html of a real run, in headless Chromium', function () {
  this.timeout(120_000);
  let browser: Browser | undefined;
  let dir: string;
  let anomalies: ExampleAnomalies;
  let usefulness: Usefulness;
  let statisticsDir: string;
  let anomaliesDir: string;
  let db: Awaited<ReturnType<typeof openTestDb>>;
  const rel = (split: string) => `read_parquet(${sqlString(path.join(dir, `${split}.parquet`))})`;
  const one = async (sql: string) => (await db.db.runAndReadAll(sql)).getRowObjectsJS()[0]!;

  before(async function () {
    const executablePath = chromiumExecutable(this);
    dir = await tempDir('reports');
    db = await openTestDb();
    const source = `(SELECT *, row_number() OVER () AS rowid FROM read_json(${sqlString(vegaFile('penguins.json'))}))`;
    await db.db.run(`COPY (SELECT * EXCLUDE (rowid) FROM ${source} WHERE rowid % 3 <> 0) TO ${sqlString(path.join(dir, 'train.parquet'))}`);
    // eval: NaN where training had none, an island outside the vocabulary, Species missing in 8% of
    // the rows, and a column the schema does not know.
    await db.db.run(`COPY (SELECT * EXCLUDE (rowid) REPLACE (
        CASE WHEN "Body Mass (g)" > 5500 THEN 'NaN'::DOUBLE ELSE "Beak Length (mm)" END AS "Beak Length (mm)",
        CASE WHEN Island = 'Dream' AND "Flipper Length (mm)" > 195 THEN 'Dream North' ELSE Island END AS Island,
        CASE WHEN rowid % 4 = 0 THEN NULL ELSE Species END AS Species,
        CAST(round("Body Mass (g)" * 1.2) AS BIGINT) AS "Body Mass (g)"), 1 AS batch
      FROM ${source} WHERE rowid % 3 = 0) TO ${sqlString(path.join(dir, 'eval.parquet'))}`);

    const examples = await runExecutorForTest(ExampleGen, { parameters: { input: { train: path.join(dir, 'train.parquet'), eval: path.join(dir, 'eval.parquet') } } });
    const stats = await runExecutorForTest(StatisticsGen, { parameters: { slices: ['Island'], label: 'Species' }, inputs: { examples: [examples.artifact('examples')] } });
    const schema = await runExecutorForTest(SchemaGen, { inputs: { statistics: [stats.artifact('statistics')] } });
    const validated = await runExecutorForTest(ExampleValidator, { parameters: { skew: {} }, inputs: { statistics: [stats.artifact('statistics')], schema: [schema.artifact('schema')] } });
    statisticsDir = stats.outputDirs.statistics!;
    anomaliesDir = validated.outputDirs.anomalies!;
    anomalies = ExampleAnomaliesSchema.parse(JSON.parse(await readFile(path.join(anomaliesDir, ANOMALIES_FILE_NAME), 'utf8')));
    usefulness = UsefulnessSchema.parse(JSON.parse(await readFile(path.join(statisticsDir, USEFULNESS_FILE_NAME), 'utf8')));
    browser = await launchChromium(executablePath);
  });
  after(async () => {
    await browser?.close();
    db?.close();
  });

  it('statistics.html: every feature of both splits with its figures, charts per feature, flags where the data is off, every slice; no error, no request', async () => {
    const report = await openReport(browser!, path.join(statisticsDir, STATISTICS_REPORT_FILE_NAME));
    const { page } = report;
    const blocks = await shownBlocks(page);
    const columns = (await db.db.runAndReadAll(`DESCRIBE SELECT * FROM ${rel('eval')}`)).getRowObjectsJS().map((r) => String(r.column_name));
    assert.deepEqual(blocks.map((b) => b.feature).sort(), [...columns].sort(), 'one block per column of the data');

    const numeric = ['Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Body Mass (g)', 'batch'];
    for (const b of blocks) {
      const ident = `"${b.feature.replaceAll('"', '""')}"`;
      assert.equal(b.kind, numeric.includes(b.feature) ? 'numeric' : 'categorical', b.feature);
      assert.deepEqual(b.rows.map((r) => r.split), ['train', 'eval'], `${b.feature}: train above eval`);
      for (const [i, split] of ['train', 'eval'].entries()) {
        const cells = b.rows[i]!.cells;
        if (b.feature === 'batch' && split === 'train') {
          assert.deepEqual(cells, ['not in train']);
          continue;
        }
        const truth = await one(
          `SELECT COUNT(${ident}) AS n, COUNT(*) - COUNT(${ident}) AS missing, COUNT(*) AS rows,
             ${b.kind === 'numeric' ? `AVG(${ident}) FILTER (isfinite(${ident}))` : 'NULL'} AS mean, COUNT(DISTINCT ${ident}) AS distinct FROM ${rel(split)}`,
        );
        assert.equal(numberIn(cells[0]!), Number(truth.n), `${b.feature} ${split}: count`);
        assert.ok(Math.abs(numberIn(cells[1]!) - (100 * Number(truth.missing)) / Number(truth.rows)) < 0.05 + 1e-9, `${b.feature} ${split}: missing ${cells[1]}`);
        if (b.kind === 'numeric') assert.ok(Math.abs(numberIn(cells[2]!) - Number(truth.mean)) <= 5e-4 * Math.abs(Number(truth.mean)), `${b.feature} ${split}: mean ${cells[2]} vs ${truth.mean}`);
        else assert.equal(numberIn(cells[2]!), Number(truth.distinct), `${b.feature} ${split}: distinct`);
      }
      const charts = b.charts.map((c) => c.cls.split(' ')[1]);
      assert.deepEqual(charts, b.kind === 'numeric' ? ['hist-standard', 'hist-quantiles'] : ['top-values'], `${b.feature}: its charts`);
      assert.ok(b.charts.every((c) => c.marks > 0), `${b.feature}: every chart draws marks`);
      if (b.kind === 'numeric') assert.deepEqual(b.charts.map((c) => c.visible), [true, false], `${b.feature}: histograms shown, quantiles behind the toggle`);
    }

    const nan = Number((await one(`SELECT COUNT(*) AS n FROM ${rel('eval')} WHERE isnan("Beak Length (mm)")`)).n);
    const noSpecies = await one(`SELECT COUNT(*) - COUNT(Species) AS n, COUNT(*) AS rows FROM ${rel('eval')}`);
    assert.ok(nan > 0 && Number(noSpecies.n) / Number(noSpecies.rows) > 0.05, `planted ${nan} NaN, ${noSpecies.n} without species`);
    const flags = Object.fromEntries(blocks.filter((b) => b.flags.length > 0).map((b) => [b.feature, b.flags]));
    assert.deepEqual(flags, {
      'Beak Length (mm)': [`${nan} NaN in eval`],
      Species: [`${((100 * Number(noSpecies.n)) / Number(noSpecies.rows)).toFixed(1)}% missing in eval`],
      batch: ['absent from train', 'constant'],
    });
    const glance = await page.locator('ul.glance li').allInnerTexts();
    assert.deepEqual(glance.map((t) => t.split(':')[0]), ['Species', 'Beak Length (mm)', 'batch'], 'the flagged features listed first, in column order');

    const bySlice = (await db.db.runAndReadAll(
      `SELECT Island, SUM(CASE WHEN split = 'train' THEN 1 ELSE 0 END) AS train, SUM(CASE WHEN split = 'eval' THEN 1 ELSE 0 END) AS eval
       FROM (SELECT Island, 'train' AS split FROM ${rel('train')} UNION ALL SELECT Island, 'eval' FROM ${rel('eval')}) GROUP BY Island ORDER BY COUNT(*) DESC, Island`,
    )).getRowObjectsJS();
    const summaries = await page.locator('details.slice > summary').allInnerTexts();
    assert.deepEqual(
      summaries.map((s) => s.replace(/;.*\)/, ')')),
      bySlice.map((r) => `Island = ${r.Island} (${[Number(r.train) > 0 ? `train ${r.train}` : '', Number(r.eval) > 0 ? `eval ${r.eval}` : ''].filter(Boolean).join(', ')} examples)`),
    );
    await page.locator('details.slice > summary').first().click();
    const sliceBlocks = await shownBlocks(page, 'details.slice[open] table.features');
    assert.equal(sliceBlocks.length, columns.length, 'an opened slice shows every feature');
    assert.ok(sliceBlocks.every((b) => b.charts.every((c) => c.marks > 0)));

    await page.locator('label[for=view-quantiles]').click();
    const toggled = await shownBlocks(page);
    for (const b of toggled.filter((x) => x.kind === 'numeric')) assert.deepEqual(b.charts.map((c) => c.visible), [false, true], `${b.feature}: quantiles after the toggle`);
    await page.locator('label[for=view-standard]').click();

    assertClean(report, 'statistics.html');
    await keepScreenshot(page, 'statistics.png');
  });

  it('a feature name with HTML in it is shown as text: no element made of it, no request, no error', async () => {
    const statistics = ExampleStatisticsSchema.parse(JSON.parse(await readFile(path.join(statisticsDir, STATISTICS_FILE_NAME), 'utf8')));
    const hostile = '<img src="https://example.invalid/x.png" onerror="console.error(1)">&amp;';
    const renamed = {
      ...statistics,
      splits: statistics.splits.map((s) => ({ ...s, slices: [], features: s.features.map((f) => (f.name === 'Island' ? { ...f, name: hostile, topValues: [{ value: hostile, count: 1 }, ...f.topValues] } : f)) })),
    };
    const file = path.join(dir, 'hostile.html');
    await writeFile(file, renderStatisticsReport(renamed));
    const report = await openReport(browser!, file);
    assert.equal(await report.page.locator('img').count(), 0);
    assert.deepEqual(await report.page.locator(`tbody.feature[data-feature="${hostile.replaceAll('"', '\\"')}"] .name`).allTextContents(), [hostile]);
    assertClean(report, 'a page naming a feature in HTML');
  });

  it('an unreadable usefulness.json beside the statistics fails ExampleValidator naming the file', async () => {
    const broken = await tempDir('reports-broken-usefulness');
    await cp(statisticsDir, broken, { recursive: true });
    await writeFile(path.join(broken, USEFULNESS_FILE_NAME), '{"version": 1, "label": ');
    const schema = await runExecutorForTest(SchemaGen, { inputs: { statistics: [broken] } });
    await rejects(
      runExecutorForTest(ExampleValidator, { inputs: { statistics: [broken], schema: [schema.artifact('schema')] } }),
      new RegExp(`^ExampleValidator usefulness: ${path.join(broken, USEFULNESS_FILE_NAME).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not valid JSON`),
    );
  });

  it('anomalies.html: the anomalies first, errors before warnings, with their descriptions; then skew and drift, usefulness, and the anomalous features with their charts', async () => {
    const report = await openReport(browser!, path.join(anomaliesDir, ANOMALIES_REPORT_FILE_NAME));
    const { page } = report;
    const found = anomalies.splits.flatMap((s) => s.anomalies);
    assert.deepEqual(
      found.map((a) => [a.kind, a.feature, a.split]),
      [
        ['FEATURE_TYPE_LOW_FRACTION_PRESENT', 'Species', 'eval'],
        ['ENUM_TYPE_UNEXPECTED_STRING_VALUES', 'Island', 'eval'],
        ['FLOAT_TYPE_HAS_NAN', 'Beak Length (mm)', 'eval'],
        ['SCHEMA_NEW_COLUMN', 'batch', 'eval'],
        ['COMPARATOR_POPULATION_STABILITY_INDEX_HIGH', 'Island', 'eval'],
        ['COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH', 'Body Mass (g)', 'eval'],
        ['COMPARATOR_POPULATION_STABILITY_INDEX_HIGH', 'Body Mass (g)', 'eval'],
        ['COMPARATOR_NORMALIZED_WASSERSTEIN_HIGH', 'Body Mass (g)', 'eval'],
      ],
      'the planted anomalies, as ExampleValidator found them',
    );
    const rows = await page.locator('table.anomalies tr.anomaly').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => [...td.childNodes].map((n) => n.textContent).join('\n'))));
    assert.deepEqual(
      rows,
      [...found.filter((a) => a.severity === 'ERROR'), ...found.filter((a) => a.severity === 'WARNING')].map((a) => [
        a.severity,
        a.feature,
        a.split,
        `${a.short}\n${a.kind}`,
        a.comparedWith ? `${a.description}\ncompared with ${a.comparedWith}` : a.description,
      ]),
    );

    // Every measure of every compared feature, as anomalies.json records it, red exactly where it is over its threshold.
    const comparisons = anomalies.comparisons ?? [];
    assert.ok(comparisons.length >= 6, `${comparisons.length} features compared`);
    const shownComparisons = await page.locator('table.comparisons tr.comparison').evaluateAll((trs) =>
      trs.map((tr) => ({
        feature: tr.getAttribute('data-feature'),
        small: tr.querySelector('.flag') !== null,
        cells: [...tr.querySelectorAll('td.num')].slice(2).map((td) => ({ value: td.childNodes[0]?.textContent ?? '', high: td.classList.contains('high'), text: td.textContent ?? '' })),
      })),
    );
    assert.deepEqual(shownComparisons.map((c) => c.feature), comparisons.map((c) => c.feature));
    const order = ['infinityNorm', 'jensenShannonDivergence', 'populationStabilityIndex', 'normalizedWasserstein', 'kolmogorovSmirnov', 'chiSquare'] as const;
    for (const [i, c] of comparisons.entries()) {
      const shown = shownComparisons[i]!;
      assert.equal(shown.small, c.smallSample, `${c.feature}: small-sample flag`);
      for (const [k, name] of order.entries()) {
        const m = c.measures[name];
        const cell = shown.cells[k]!;
        if (!m) {
          assert.equal(cell.text, '–', `${c.feature} ${name}: not measured`);
          continue;
        }
        if (m.value !== null) assert.ok(Math.abs(numberIn(cell.value) - m.value) <= 5e-3 * Math.abs(m.value) + 1e-12, `${c.feature} ${name}: ${cell.value} vs ${m.value}`);
        assert.equal(cell.high, m.value !== null && m.threshold !== undefined && m.value > m.threshold, `${c.feature} ${name}: red iff over ${m.threshold}`);
        if (m.threshold !== undefined) assert.match(cell.text, /threshold /, `${c.feature} ${name}: threshold shown`);
        if (m.pValue !== undefined) assert.match(cell.text, /p = /, `${c.feature} ${name}: p-value shown`);
      }
    }
    const redFeatures = new Set(shownComparisons.filter((c) => c.cells.some((x) => x.high)).map((c) => c.feature));
    assert.deepEqual([...redFeatures].sort(), ['Body Mass (g)', 'Island'], 'red where ExampleValidator raised a comparator anomaly');

    // The usefulness ranking of each split, in usefulness.json's order, and the correlations' heat map.
    for (const split of usefulness.splits) {
      const ranked = await page.locator(`table.usefulness[data-split="${split.name}"] tr.usefulness-row`).evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-feature'), tr.querySelector('td')?.textContent]));
      assert.deepEqual(ranked, split.features.map((f) => [f.name, f.rank === null ? '–' : String(f.rank)]), `${split.name}: the ranking`);
    }
    const cells = await page.locator('svg.correlation rect').count();
    assert.equal(cells, usefulness.splits[0]!.correlation.features.length ** 2);
    assert.equal(await page.locator('h2#anomalies').innerText(), `Anomalies (${found.length})`);
    const headings = await page.locator('main > h2').allInnerTexts();
    assert.deepEqual(headings, [`Anomalies (${found.length})`, 'Skew and drift', 'Feature usefulness', 'Statistics of the features named above'], 'anomalies first, then the measures, usefulness, statistics');
    assert.equal(await page.locator('.card .sev.ERROR').innerText(), `${found.filter((a) => a.severity === 'ERROR').length} ERROR`);

    const blocks = await shownBlocks(page);
    assert.deepEqual(blocks.map((b) => b.feature).sort(), ['Beak Length (mm)', 'Body Mass (g)', 'Island', 'Species', 'batch'].sort(), 'exactly the features named by an anomaly');
    assert.ok(blocks.every((b) => b.charts.length > 0 && b.charts.every((c) => c.marks > 0)), 'each with its charts');
    const island = blocks.find((b) => b.feature === 'Island')!;
    assert.deepEqual(island.flags, ['Unexpected string values in eval', 'shifted in eval: PSI'], 'its anomalies, the measures over their thresholds as one flag');
    assert.deepEqual(blocks.find((b) => b.feature === 'Body Mass (g)')!.flags, ['shifted in eval: JSD, PSI, W₁ norm.']);
    const dreamNorth = await page.locator('tbody[data-feature="Island"] svg.top-values text.label').evaluateAll((ts) => ts.map((t) => t.firstChild?.textContent));
    assert.ok(dreamNorth.includes('Dream North'), `the chart shows the new value: ${dreamNorth.join(', ')}`);
    await page.locator('a[href^="#f-"]', { hasText: 'Island' }).first().click();
    assert.ok(await page.evaluate('window.scrollY > 0'), 'the link goes to the feature');
    await page.evaluate('window.scrollTo(0, 0)');

    assertClean(report, 'anomalies.html');
    await keepScreenshot(page, 'anomalies.png');
  });
});
