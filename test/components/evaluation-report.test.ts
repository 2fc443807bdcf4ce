import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { EvaluationSchema, type Evaluation, type MetricValue } from '../../components/evaluator/payload';
import { renderEvaluationReport } from '../../components/reports/evaluation-report';
import { chromiumExecutable } from '../support/test-tools';
import { tempDir } from '../support/tmp';
import { keepScreenshot, launchChromium, openReport, type OpenedReport } from './report-browser';

/**
 * evaluation.html from evaluation.json payloads written by hand (each parsed by EvaluationSchema, as
 * the Evaluator's own are): a 3-class model against its baseline and not blessed, a blessed first
 * model, one with no thresholds configured, and a weighted regressor; each opened in headless
 * Chromium, read as a user reads it, and kept as a screenshot.
 */

const CLASSES = ['Adelie', 'Chinstrap', '<b>&'];
/** Rows: true class, columns: predicted. */
const CANDIDATE_MATRIX = [
  [48, 2, 0],
  [3, 20, 1],
  [0, 1, 40],
];
const BASELINE_MATRIX = [
  [45, 4, 1],
  [5, 17, 2],
  [1, 2, 38],
];

const mv = (value: number | null, lower?: number, upper?: number): MetricValue => (lower === undefined ? { value } : { value, lower, upper });
const accuracyOf = (m: number[][]) => m.reduce((s, row, i) => s + row[i]!, 0) / m.flat().reduce((a, b) => a + b, 0);

/** A one-vs-rest ROC or PR curve of 41 points bending towards the top-left (ROC) or top-right (PR) by `strength`. */
function roc(strength: number): { x: number[]; y: number[] } {
  const x = Array.from({ length: 41 }, (_, i) => i / 40);
  return { x, y: x.map((v) => Math.pow(v, 1 / strength)) };
}
function pr(strength: number, share: number): { x: number[]; y: number[] } {
  const x = Array.from({ length: 41 }, (_, i) => i / 40);
  return { x, y: x.map((r) => share + (1 - share) * (1 - Math.pow(r, strength))) };
}
const shares = (m: number[][]) => m.map((row) => row.reduce((a, b) => a + b, 0) / m.flat().reduce((a, b) => a + b, 0));

function curves(strength: number, matrix: number[][]) {
  return {
    roc: Object.fromEntries(CLASSES.map((c, i) => [c, roc(strength + i)])),
    pr: Object.fromEntries(CLASSES.map((c, i) => [c, pr(strength + i, shares(matrix)[i]!)])),
  };
}

const calibration = (skew: number) =>
  [0.1, 0.3, 0.5, 0.7, 0.9].map((p, i) => ({ meanPrediction: p, meanLabel: Math.min(1, Math.max(0, p + skew * (p - 0.5))), examples: [6, 9, 14, 30, 56][i]! }));

function classifierMetrics(accuracy: MetricValue, auc: MetricValue, log_loss: MetricValue): Record<string, MetricValue> {
  return { accuracy, balanced_accuracy: mv(0.91, 0.88, 0.94), f1_macro: mv(0.905, 0.87, 0.935), roc_auc: auc, log_loss };
}

function threeClassNotBlessed(): Evaluation {
  const candAccuracy = accuracyOf(CANDIDATE_MATRIX);
  const baseAccuracy = accuracyOf(BASELINE_MATRIX);
  return EvaluationSchema.parse({
    version: 1,
    task: 'classification',
    label: 'species',
    classes: CLASSES,
    split: 'eval',
    weightFeature: null,
    auc: { method: 'exact', exactAucLimit: 1_000_000 },
    bootstrap: { method: 'poisson', resamples: 200, seed: 42, confidence: 0.95 },
    candidate: {
      uri: 'file:///artifacts/pipelines/penguins/runs/r2/Trainer/model',
      contentHash: 'c0ffee1234567890abcdef',
      slices: [
        { slice: {}, examples: 115, tooSmall: false, metrics: classifierMetrics(mv(candAccuracy, 0.897, 0.974), mv(0.953, 0.921, 0.978), mv(0.21, 0.16, 0.27)), confusionMatrix: CANDIDATE_MATRIX, ...curves(4, CANDIDATE_MATRIX), calibration: calibration(-0.15) },
        { slice: { island: 'Biscoe' }, examples: 58, tooSmall: false, metrics: classifierMetrics(mv(0.966, 0.91, 1), mv(0.98, 0.95, 1), mv(0.12, 0.07, 0.19)) },
        { slice: { island: 'Dream' }, examples: 41, tooSmall: false, metrics: classifierMetrics(mv(0.878, 0.78, 0.95), mv(0.91, 0.85, 0.96), mv(0.33, 0.22, 0.46)) },
        { slice: { island: 'Torgersen' }, examples: 16, tooSmall: true, metrics: {} },
      ],
    },
    baseline: {
      uri: 'file:///artifacts/pipelines/penguins/runs/r1/Trainer/model',
      contentHash: 'ba5e11ne0987654321fedc',
      slices: [
        { slice: {}, examples: 115, tooSmall: false, metrics: classifierMetrics(mv(baseAccuracy, 0.83, 0.93), mv(0.941, 0.905, 0.97), mv(0.26, 0.2, 0.33)), confusionMatrix: BASELINE_MATRIX, ...curves(3, BASELINE_MATRIX), calibration: calibration(0.2) },
        { slice: { island: 'Biscoe' }, examples: 58, tooSmall: false, metrics: classifierMetrics(mv(0.93, 0.86, 0.98), mv(0.97, 0.93, 0.99), mv(0.15, 0.1, 0.22)) },
        { slice: { island: 'Dream' }, examples: 41, tooSmall: false, metrics: classifierMetrics(mv(0.854, 0.75, 0.93), mv(0.9, 0.83, 0.95), mv(0.38, 0.27, 0.5)) },
        { slice: { island: 'Torgersen' }, examples: 16, tooSmall: true, metrics: {} },
      ],
    },
    differences: [
      { slice: {}, metrics: { accuracy: mv(candAccuracy - baseAccuracy, 0.018, 0.089), roc_auc: mv(0.012, -0.004, 0.027), log_loss: mv(-0.05, -0.09, -0.012) } },
      { slice: { island: 'Dream' }, metrics: { accuracy: mv(0.024, -0.05, 0.1), roc_auc: mv(0.01, -0.02, 0.04) } },
    ],
    checks: [
      { metric: 'accuracy', slice: {}, kind: 'value', threshold: { lowerBound: 0.9 }, value: candAccuracy, interval: { lower: 0.897, upper: 0.974 }, passed: true, reason: `accuracy ${candAccuracy.toFixed(3)} ≥ 0.9` },
      {
        metric: 'roc_auc',
        slice: {},
        kind: 'change',
        threshold: { direction: 'higherIsBetter', absolute: 0, significant: true },
        value: 0.953,
        baselineValue: 0.941,
        interval: { lower: -0.004, upper: 0.027 },
        passed: false,
        reason: 'roc_auc improved by +0.012 but the lower bound of its 95% interval, -0.004, does not clear 0',
      },
      { metric: 'accuracy', slice: { island: 'Dream' }, kind: 'value', threshold: { lowerBound: 0.9 }, value: 0.878, interval: { lower: 0.78, upper: 0.95 }, passed: false, reason: 'accuracy 0.878 on island = Dream is below 0.9' },
      { metric: 'log_loss', slice: {}, kind: 'change', threshold: { direction: 'lowerIsBetter', absolute: 0 }, value: 0.21, baselineValue: 0.26, passed: true, reason: 'log_loss changed by -0.050, within the allowed 0' },
    ],
    blessed: false,
    verdict: 'not blessed: roc_auc change not significant; accuracy on island = Dream below 0.9',
    featureImportance: [
      { feature: 'flipper_length_mm', metric: 'accuracy', mean: 0.21, std: 0.02, repeats: 5 },
      { feature: 'bill_length<mm>', metric: 'accuracy', mean: 0.34, std: 0.03, repeats: 5 },
      { feature: 'island', metric: 'accuracy', mean: 0.05, std: 0.012, repeats: 5 },
      { feature: 'sex', metric: 'accuracy', mean: -0.004, std: 0.006, repeats: 5 },
    ],
  });
}

/** The same model judged alone: no baseline, value thresholds that hold. */
function firstModelBlessed(): Evaluation {
  const e = threeClassNotBlessed();
  return EvaluationSchema.parse({
    ...e,
    baseline: null,
    differences: [],
    checks: e.checks.filter((c) => c.kind === 'value' && c.passed),
    blessed: true,
    verdict: 'blessed',
  });
}

function noThresholds(): Evaluation {
  return EvaluationSchema.parse({ ...threeClassNotBlessed(), checks: [], blessed: false, verdict: 'not blessed: no thresholds configured' });
}

function regression(): Evaluation {
  const metrics = (mae: number, rmse: number, r2: number) => ({ mae: mv(mae, mae * 0.93, mae * 1.08), mse: mv(rmse * rmse, rmse * rmse * 0.88, rmse * rmse * 1.14), rmse: mv(rmse, rmse * 0.94, rmse * 1.07), r2: mv(r2, r2 - 0.03, r2 + 0.025), mape: mv(0.081, 0.075, 0.088) });
  const bins = [3000, 3600, 4200, 4800, 5400, 6000].map((p, i) => ({ meanPrediction: p, meanLabel: p + [-120, 40, 15, -30, 90, 210][i]!, examples: [12, 25, 31, 22, 14, 6][i]! }));
  return EvaluationSchema.parse({
    version: 1,
    task: 'regression',
    label: 'body_mass_g',
    split: 'eval',
    weightFeature: 'sample_weight',
    auc: { method: 'exact', exactAucLimit: 1_000_000 },
    bootstrap: { method: 'poisson', resamples: 100, seed: 7, confidence: 0.9 },
    candidate: {
      uri: 'file:///artifacts/pipelines/mass/runs/r5/Trainer/model',
      contentHash: 'aa11bb22cc33dd44',
      slices: [
        { slice: {}, examples: 110, weight: 131.5, tooSmall: false, metrics: metrics(231.4, 297.2, 0.861), calibration: bins },
        { slice: { species: 'Gentoo', sex: 'female' }, examples: 24, weight: 30.25, tooSmall: false, metrics: metrics(201.9, 254.3, 0.48) },
        { slice: { species: 'Gentoo', sex: null }, examples: 3, weight: 3, tooSmall: true, metrics: {} },
      ],
    },
    baseline: null,
    differences: [],
    checks: [{ metric: 'rmse', slice: {}, kind: 'value', threshold: { upperBound: 350 }, value: 297.2, interval: { lower: 279.4, upper: 318 }, passed: true, reason: 'rmse 297.2 ≤ 350' }],
    blessed: true,
    verdict: 'blessed',
    featureImportance: [
      { feature: 'flipper_length_mm', metric: 'rmse', mean: 310.2, std: 18.4, repeats: 3 },
      { feature: 'species', metric: 'rmse', mean: 95.1, std: 9.7, repeats: 3 },
    ],
  });
}

/** What a user sees of the page: texts by section, as rendered. */
interface Seen {
  verdict: { kind: string; text: string; background: string };
  metrics: Array<{ metric: string; cells: string[] }>;
  checks: Array<{ cls: string; cells: string[]; color: string }>;
  slices: Array<{ cls: string; cells: string[]; color: string }>;
  confusion: Array<{ model: string; header: string[]; rows: string[][] }>;
  curves: Array<{ kind: string; lines: number; dots: number; title: string }>;
  importance: string[];
  settings: string;
  headings: string[];
}

async function seen(page: Page): Promise<Seen> {
  // The project compiles without the DOM library: the page's own objects come through Playwright untyped.
  return page.locator('html').evaluate((root) => {
    const document = root.ownerDocument;
    const getComputedStyle = (el: unknown) => document.defaultView.getComputedStyle(el);
    const text = (el: { innerText: string } | null) => el?.innerText.trim().replace(/\s+/g, ' ') ?? '';
    const verdict = document.querySelector('section.verdict');
    const rows = (sel: string) =>
      [...document.querySelectorAll(sel)].map((tr) => ({ cls: tr.className, cells: [...tr.querySelectorAll('td')].map(text), color: getComputedStyle(tr.querySelector('td')!).color }));
    return {
      verdict: { kind: verdict?.getAttribute('data-verdict') ?? '', text: text(verdict), background: verdict ? getComputedStyle(verdict).backgroundColor : '' },
      metrics: [...document.querySelectorAll('table.metrics tbody tr')].map((tr) => ({ metric: tr.getAttribute('data-metric') ?? '', cells: [...tr.querySelectorAll('td')].map(text) })),
      checks: rows('table.checks tbody tr'),
      slices: rows('table.slices tbody tr'),
      confusion: [...document.querySelectorAll('figure.confusion')].map((f) => ({
        model: f.getAttribute('data-model') ?? '',
        header: [...f.querySelectorAll('tr:nth-child(2) th')].map(text),
        rows: [...f.querySelectorAll('tr')].slice(2).map((tr) => [...tr.querySelectorAll('th, td')].map(text)),
      })),
      curves: [...document.querySelectorAll('svg.curve')].map((svg) => ({
        kind: svg.getAttribute('class')!.split(' ')[2]!,
        lines: svg.querySelectorAll('polyline').length,
        dots: svg.querySelectorAll('circle').length,
        title: svg.querySelector('text.title')?.textContent ?? '',
      })),
      importance: [...document.querySelectorAll('g.importance')].map((g) => g.getAttribute('data-feature') ?? ''),
      settings: text(document.querySelector('dl.settings')),
      headings: [...document.querySelectorAll('main h2')].map((h) => text(h)),
    };
  });
}

const RED = 'rgb(198, 40, 40)';

describe('evaluation.html: the Evaluator report, in headless Chromium', function () {
  this.timeout(60_000);
  let browser: Browser | undefined;
  let dir: string;

  before(async function () {
    const executablePath = chromiumExecutable(this);
    dir = await tempDir('evaluation-report');
    browser = await launchChromium(executablePath);
  });
  after(async () => {
    await browser?.close();
  });

  async function open(name: string, evaluation: Evaluation): Promise<{ report: OpenedReport; html: string; seen: Seen }> {
    const html = renderEvaluationReport(evaluation);
    const file = path.join(dir, `${name}.html`);
    await writeFile(file, html);
    const report = await openReport(browser!, file);
    const shown = await seen(report.page);
    assert.deepEqual(report.errors, [], `${name}: errors logged`);
    assert.deepEqual(report.requests, [], `${name}: network requests made`);
    const screenshot = await keepScreenshot(report.page, `evaluation-${name}.png`);
    console.log(`    screenshot: ${screenshot}`);
    return { report, html, seen: shown };
  }

  it('3 classes against a baseline, not blessed: the failed checks first with their reasons, intervals, differences, slices, curves, confusion matrices, calibration, importance', async () => {
    const e = threeClassNotBlessed();
    const { html, seen: s, report } = await open('three-class', e);

    assert.equal(s.verdict.kind, 'not-blessed');
    assert.match(s.verdict.text, /^Not blessed 2 of 4 threshold checks failed:/);
    assert.ok(s.verdict.text.includes(`roc_auc: ${e.checks[1]!.reason}`), s.verdict.text);
    assert.ok(s.verdict.text.includes('accuracy on island = Dream: accuracy 0.878 on island = Dream is below 0.9'), s.verdict.text);
    assert.doesNotMatch(s.verdict.text, /log_loss/, 'a passed check is not in the verdict');

    const acc = accuracyOf(CANDIDATE_MATRIX);
    const baseAcc = accuracyOf(BASELINE_MATRIX);
    const row = (m: string) => s.metrics.find((r) => r.metric === m)!.cells;
    assert.deepEqual(s.metrics.map((r) => r.metric), ['accuracy', 'balanced_accuracy', 'f1_macro', 'roc_auc', 'log_loss']);
    assert.deepEqual(row('accuracy'), ['accuracy higher is better', `${acc.toFixed(3)} [0.897, 0.974]`, `${baseAcc.toFixed(3)} [0.830, 0.930]`, `+${(acc - baseAcc).toFixed(3)} [+0.018, +0.089]`, '▲ better']);
    assert.deepEqual(row('roc_auc'), ['roc_auc higher is better', '0.953 [0.921, 0.978]', '0.941 [0.905, 0.970]', '+0.012 [-0.004, +0.027]', '▲ better, within noise']);
    assert.deepEqual(row('log_loss'), ['log_loss lower is better', '0.210 [0.160, 0.270]', '0.260 [0.200, 0.330]', '-0.050 [-0.090, -0.012]', '▼ better']);
    assert.deepEqual(row('f1_macro').slice(3), ['–', ''], 'no difference in the payload: none shown');
    const marked = await report.page.locator('table.metrics .failed').evaluateAll((els) => els.map((el) => `${el.closest('tr').getAttribute('data-metric')}: ${el.innerText}`));
    assert.deepEqual(marked, ['roc_auc: +0.012 [-0.004, +0.027]'], 'the failed change check marks the difference it judged, not the value');

    assert.deepEqual(
      s.checks.map((c) => [c.cells[0], c.cells[1], c.cells[2], c.cells[3]]),
      [
        ['FAIL', 'roc_auc', 'overall', 'change'],
        ['FAIL', 'accuracy', 'island = Dream', 'value'],
        ['PASS', 'accuracy', 'overall', 'value'],
        ['PASS', 'log_loss', 'overall', 'change'],
      ],
      'failed checks first',
    );
    const auc = s.checks[0]!;
    assert.deepEqual(auc.cells.slice(4), ['0.953', '0.941', 'direction higherIsBetter, absolute 0.000, significant true', '[-0.004, +0.027]', e.checks[1]!.reason]);
    assert.equal(auc.color, RED, 'a failed check reads red');
    assert.notEqual(s.checks[2]!.color, RED);

    assert.deepEqual(
      s.slices.map((r) => [r.cells[0], r.cells[1]]),
      [
        ['overall', '115'],
        ['island = Dream', '41'],
        ['island = Biscoe', '58'],
        ['island = Torgersen', '16'],
      ],
      'overall, then the slice with a failed check, then the largest',
    );
    const slicesHead = await report.page.locator('table.slices thead th').allInnerTexts();
    assert.deepEqual(slicesHead, ['slice', 'examples', 'accuracy', 'roc_auc', 'log_loss', 'balanced_accuracy', 'f1_macro'], 'the checked metrics, then the headline ones');
    const dream = s.slices[1]!.cells;
    assert.equal(dream[2], '0.878 [0.780, 0.950] Δ +0.024 [-0.050, +0.100]');
    const slicesMarked = await report.page.locator('table.slices .failed').evaluateAll((els) => els.map((el) => `${el.closest('tr').getAttribute('data-slice')}: ${el.innerText.replace(/\s+/g, ' ')}`));
    assert.deepEqual(slicesMarked, ['overall: Δ +0.012 [-0.004, +0.027]', 'island = Dream: 0.878 [0.780, 0.950] Δ +0.024 [-0.050, +0.100]'], 'each failed check marks the figure it judged');
    const torgersen = s.slices[3]!;
    assert.match(torgersen.cls, /too-small/);
    assert.match(torgersen.cells[2]!, /^too small/);
    assert.equal(torgersen.color, 'rgb(152, 162, 173)', 'a too-small slice is greyed');

    assert.deepEqual(s.confusion.map((c) => c.model), ['candidate', 'baseline']);
    for (const [k, matrix] of [CANDIDATE_MATRIX, BASELINE_MATRIX].entries()) {
      const shown = s.confusion[k]!;
      assert.deepEqual(shown.header, ['true ↓', ...CLASSES], 'class names shown as text, `<b>&` included');
      assert.deepEqual(
        shown.rows,
        matrix.map((r, i) => {
          const total = r.reduce((a, b) => a + b, 0);
          return [CLASSES[i], ...r.map((n) => `${n} ${n === 0 ? '0' : (Math.round((1000 * n) / total) / 10).toString()}%`)];
        }),
      );
    }
    assert.ok(html.includes('&#60;b&#62;&#38;') && !html.includes('<b>&'), 'the class name is escaped in the HTML');
    assert.ok(!html.includes('bill_length<mm>'), 'the feature name is escaped');

    assert.deepEqual(
      s.curves.map((c) => [c.kind, c.title, c.lines]),
      [...CLASSES.map((c) => ['roc', `${c} vs rest`, 2]), ...CLASSES.map((c) => ['pr', `${c} vs rest`, 2]), ['calibration', 'calibration', 2]],
      'per class, candidate and baseline overlaid',
    );
    assert.equal(s.curves.at(-1)!.dots, 10, 'a dot per calibration bin of each model');
    assert.deepEqual(s.importance, ['bill_length<mm>', 'flipper_length_mm', 'island', 'sex'], 'importance bars by mean drop, largest first');
    assert.ok(s.settings.includes('classes 0: Adelie, 1: Chinstrap, 2: <b>&'), s.settings);
    assert.ok(s.settings.includes('Poisson bootstrap, 200 resamples, seed 42, 95% intervals'), s.settings);
    assert.ok(s.settings.includes('AUC exact (up to 1,000,000 rows; binned beyond)'), s.settings);
    assert.deepEqual(s.headings, ['Metrics', 'Threshold checks (4)', 'Slices (4)', 'ROC and PR curves', 'Confusion matrix', 'Calibration', 'Feature importance', 'Settings']);
  });

  it('a blessed first model: blessed, said to be judged by value thresholds only, candidate alone everywhere', async () => {
    const { seen: s } = await open('first-model', firstModelBlessed());
    assert.equal(s.verdict.kind, 'blessed');
    assert.equal(s.verdict.text, 'Blessed The 1 threshold check holds. First model: no baseline to compare with, so only value thresholds were judged.');
    assert.deepEqual(s.metrics.find((r) => r.metric === 'roc_auc')!.cells, ['roc_auc higher is better', '0.953 [0.921, 0.978]'], 'no baseline columns');
    assert.ok(s.curves.every((c) => c.lines === 1), 'only the candidate drawn');
    assert.deepEqual(s.confusion.map((c) => c.model), ['candidate']);
    assert.match(s.settings, /baseline none \(first model\)/);
  });

  it('no thresholds configured: a neutral state that says so, not a failed check', async () => {
    const { seen: s } = await open('no-thresholds', noThresholds());
    assert.equal(s.verdict.kind, 'no-thresholds');
    assert.match(s.verdict.text, /^Not blessed: no thresholds configured Nothing was judged/);
    assert.doesNotMatch(s.verdict.text, /failed/);
    assert.equal(s.verdict.background, 'rgb(246, 248, 250)', 'grey, not the red of a failure');
    assert.deepEqual(s.checks, []);
    assert.ok(s.headings.includes('Threshold checks (0)'));
    assert.ok(s.metrics.every((r) => !r.cells.some((c) => c.includes('FAIL'))));
  });

  it('a weighted regressor: metrics and slices with weights, a calibration plot in the label units, no classification charts', async () => {
    const e = regression();
    const { seen: s, report } = await open('regression', e);
    assert.equal(s.verdict.kind, 'blessed');
    assert.deepEqual(s.metrics.map((r) => r.metric), ['mae', 'mse', 'rmse', 'r2', 'mape']);
    assert.deepEqual(s.metrics.find((r) => r.metric === 'rmse')!.cells, ['rmse lower is better', '297.2 [279.4, 318]']);
    assert.deepEqual(s.metrics.find((r) => r.metric === 'r2')!.cells, ['r2 higher is better', '0.861 [0.831, 0.886]']);
    assert.deepEqual(
      s.slices.map((r) => r.cells.slice(0, 3)),
      [
        ['overall', '110', '131.5'],
        ['species = Gentoo, sex = female', '24', '30.25'],
        ['species = Gentoo, sex missing', '3', '3'],
      ],
    );
    assert.deepEqual(await report.page.locator('table.slices thead th').allInnerTexts(), ['slice', 'examples', 'weight (sample_weight)', 'rmse', 'mae', 'r2']);
    assert.deepEqual(s.curves.map((c) => [c.kind, c.dots]), [['calibration', 6]]);
    assert.deepEqual(s.headings, ['Metrics', 'Threshold checks (1)', 'Slices (3)', 'Calibration', 'Feature importance', 'Settings']);
    assert.ok(!s.settings.includes('AUC'));
    const axis = await report.page.locator('svg.calibration text').allTextContents();
    assert.ok(axis.includes('2,880') && axis.includes('6,210'), `the axes span the predictions and labels: ${axis.join(' ')}`);

    const withoutCalibration = renderEvaluationReport(EvaluationSchema.parse({ ...e, candidate: { ...e.candidate, slices: e.candidate.slices.map(({ calibration: _, ...slice }) => slice) } }));
    assert.ok(!withoutCalibration.includes('id="calibration"'), 'no calibration in the payload: no plot');
  });
});
