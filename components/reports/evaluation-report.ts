import { METRICS } from '../evaluator/metrics/registry';
import type { Check, Evaluation, MetricValue, ModelResult, SliceKey, SliceResult } from '../evaluator/payload';
import { curveSvg, importanceSvg, type CurveSeries } from './evaluation-charts';
import { esc, formatNumber, formatPercent } from './format';
import { pendingSection, reportPage } from './page';
import { sliceLabel } from './statistics-report';
import { splitColor } from './svg-charts';

/**
 * evaluation.json as a page a person reads at a glance: the verdict and why first, then the metrics
 * of the candidate beside the baseline's with their intervals, every threshold check, the slices, and
 * the charts (ROC, PR, confusion matrix, calibration, feature importance), then how it was computed.
 */

const CANDIDATE = { name: 'candidate', color: splitColor(0) };
const BASELINE = { name: 'baseline', color: splitColor(1) };

/** Slices beyond this many (overall and those with a failed check first, then the largest) stay in evaluation.json. */
export const EVALUATION_SLICES_SHOWN = 100;
/** Columns of the slice table: the checked metrics first, then the usual headline ones. */
const SLICE_METRICS = 5;
const HEADLINE_METRIC = /accuracy|auc|f1|r2|rmse|mae/i;

const CSS = `
.verdict { border: 1px solid; border-radius: 8px; padding: 12px 16px; margin: 14px 0 8px; }
.verdict .verdict-title { font-size: 22px; font-weight: 700; }
.verdict.blessed { background: #e8f5e9; border-color: #a5d6a7; } .verdict.blessed .verdict-title { color: var(--ok); }
.verdict.not-blessed { background: var(--error-bg); border-color: #f1b0aa; } .verdict.not-blessed .verdict-title { color: var(--error); }
.verdict.no-thresholds { background: var(--bg-alt); border-color: #c9d1d9; } .verdict.no-thresholds .verdict-title { color: var(--fg); }
.verdict ul { margin: 6px 0 0; padding-left: 20px; }
.ci { color: var(--muted); font-size: 12px; }
.change { font-weight: 600; white-space: nowrap; }
.change.better { color: var(--ok); } .change.worse { color: var(--error); } .change.noise, .change.same { color: var(--muted); font-weight: normal; }
.badge { display: inline-block; padding: 0 7px; border-radius: 3px; font-size: 11px; font-weight: 700; color: #fff; }
.badge.pass { background: var(--ok); } .badge.fail { background: var(--error); }
table.list tr.failed { background: var(--error-bg); } table.list tr.failed td { color: var(--error); }
table.list td.failed, table.list div.failed { color: var(--error); font-weight: 600; background: var(--error-bg); }
table.list.metrics { width: auto; } table.list.metrics th, table.list.metrics td { padding: 4px 14px; }
table.list tr.too-small td { color: #98a2ad; background: var(--bg-alt); }
table.list td.metric-name { font-weight: 600; }
.charts { display: flex; flex-wrap: wrap; gap: 12px 24px; align-items: flex-start; }
.charts figure { margin: 0; }
.charts figcaption { font-weight: 600; margin-bottom: 4px; }
table.confusion th, table.confusion td { padding: 3px 6px; text-align: center; }
table.confusion th { color: var(--muted); font-weight: 600; max-width: 110px; word-break: break-word; }
table.confusion th.true-class { text-align: right; }
table.confusion td.cell { width: 84px; height: 46px; border: 1px solid #fff; font-variant-numeric: tabular-nums; }
table.confusion td.cell .count { font-size: 14px; font-weight: 600; display: block; }
table.confusion td.cell .share { font-size: 11px; }
table.confusion td.dark { color: #fff; }
svg.chart line.grid { stroke: #eef1f4; }
svg.chart rect.plot-frame { fill: none; stroke: #b8c0c8; }
svg.chart line.reference { stroke: #8a96a3; stroke-dasharray: 4 3; }
svg.chart line.whisker { stroke: #1d2329; }
svg.chart text.title { font-size: 12px; font-weight: 600; }
dl.settings { display: grid; grid-template-columns: max-content 1fr; gap: 3px 18px; margin: 6px 0; }
dl.settings dt { color: var(--muted); } dl.settings dd { margin: 0; word-break: break-all; }
`;

/**
 * A metric as a reader compares it: three decimals (0.953), large ones (an MSE in dollars²) to four
 * significant digits, tiny ones to two; `signed` puts a + on a positive difference.
 */
export function formatMetric(v: number | null | undefined, signed = false): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return formatNumber(v);
  const abs = Math.abs(v);
  const text = abs >= 100 ? formatNumber(v) : abs !== 0 && abs < 0.001 ? v.toPrecision(2) : v.toFixed(3);
  return signed && v > 0 ? `+${text}` : text;
}

function hasInterval(m: MetricValue | undefined): m is MetricValue & { lower: number; upper: number } {
  return m !== undefined && m.lower !== null && m.lower !== undefined && m.upper !== null && m.upper !== undefined;
}

/** `0.953 [0.921, 0.978]`: the point estimate and, with the bootstrap on, its interval. */
function valueWithInterval(m: MetricValue | undefined, signed = false): string {
  if (!m) return '–';
  const ci = hasInterval(m) ? ` <span class="ci">[${formatMetric(m.lower, signed)}, ${formatMetric(m.upper, signed)}]</span>` : '';
  return `${formatMetric(m.value, signed)}${ci}`;
}

const sliceId = (key: SliceKey) => JSON.stringify(Object.entries(key).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
const isOverall = (key: SliceKey) => Object.keys(key).length === 0;
const sliceName = (key: SliceKey) => (isOverall(key) ? 'overall' : sliceLabel(key));

function overallOf(model: ModelResult | null): SliceResult | undefined {
  return model?.slices.find((s) => isOverall(s.slice));
}

/** The Evaluator's registry says which way is better; a metric it does not know, a change check on it. */
function lowerIsBetter(metric: string, checks: Check[]): boolean {
  const known = METRICS[metric];
  if (known) return known.direction === 'lowerIsBetter';
  const stated = checks.find((c) => c.metric === metric && c.kind === 'change' && typeof c.threshold.direction === 'string')?.threshold.direction;
  return stated === 'lowerIsBetter';
}

/**
 * ▲/▼ for the sign of candidate − baseline, coloured by whether that is better; with an interval,
 * a difference whose interval straddles zero is said to be within the noise, not called better.
 */
function changeMarker(diff: MetricValue | undefined, lowerBetter: boolean): string {
  const d = diff?.value;
  if (d === null || d === undefined) return '';
  if (d === 0) return '<span class="change same">= same</span>';
  const better = lowerBetter ? d < 0 : d > 0;
  const word = better ? 'better' : 'worse';
  const arrow = d > 0 ? '▲' : '▼';
  if (!hasInterval(diff)) return `<span class="change ${word}">${arrow} ${word}</span>`;
  const significant = diff.lower > 0 || diff.upper < 0;
  if (significant) return `<span class="change ${word}" title="the interval of the difference excludes 0">${arrow} ${word}</span>`;
  return `<span class="change noise" title="the interval of the difference includes 0">${arrow} ${word}, within noise</span>`;
}

function checkTarget(c: Check): string {
  return `${esc(c.metric)}${isOverall(c.slice) ? '' : ` on ${esc(sliceLabel(c.slice))}`}`;
}

function verdictSection(e: Evaluation): string {
  const failed = e.checks.filter((c) => !c.passed);
  const firstModel = e.baseline === null ? '<div>First model: no baseline to compare with, so only value thresholds were judged.</div>' : '';
  if (e.checks.length === 0 && !e.blessed) {
    return (
      `<section class="verdict no-thresholds" data-verdict="no-thresholds"><div class="verdict-title">Not blessed: no thresholds configured</div>` +
      `<div>Nothing was judged: the Evaluator blesses a model only when thresholds are configured and all of them hold (as TFX does). Give the Evaluator value or change thresholds to have it blessed.</div>${firstModel}</section>`
    );
  }
  if (e.blessed) {
    return `<section class="verdict blessed" data-verdict="blessed"><div class="verdict-title">Blessed</div><div>${e.checks.length === 1 ? 'The 1 threshold check holds.' : `All ${e.checks.length} threshold checks hold.`}</div>${firstModel}</section>`;
  }
  const list = failed.length > 0 ? `<ul>${failed.map((c) => `<li><b>${checkTarget(c)}</b>: ${esc(c.reason)}</li>`).join('')}</ul>` : `<div>${esc(e.verdict)}</div>`;
  return (
    `<section class="verdict not-blessed" data-verdict="not-blessed"><div class="verdict-title">Not blessed</div>` +
    `<div>${failed.length} of ${e.checks.length} threshold checks failed:</div>${list}${firstModel}</section>`
  );
}

function modelCard(role: typeof CANDIDATE, model: ModelResult | null): string {
  const head = `<div><span class="swatch" style="background:${role.color}"></span>${role.name}</div>`;
  if (!model) return `<div class="card">${head}<div class="big muted">none</div><div class="muted">first model: nothing blessed and pushed before</div></div>`;
  const overall = overallOf(model);
  return (
    `<div class="card" title="${esc(model.uri)}">${head}<div class="big">${overall ? formatNumber(overall.examples) : '–'}</div>` +
    `<div class="muted">examples · model ${esc(model.contentHash.slice(0, 12))}</div></div>`
  );
}

const judgedKey = (slice: SliceKey, metric: string, kind: Check['kind']) => `${sliceId(slice)}|${metric}|${kind}`;

/** The failed checks, to mark the figure each judged: a value threshold the metric, a change threshold the difference. */
function failedIndex(checks: Check[]): Set<string> {
  return new Set(checks.filter((c) => !c.passed).map((c) => judgedKey(c.slice, c.metric, c.kind)));
}

function metricsSection(e: Evaluation, failed: Set<string>): string {
  const overall = overallOf(e.candidate);
  if (!overall) return `<h2 id="metrics">Metrics</h2>${pendingSection('No overall slice in evaluation.json.')}`;
  const base = overallOf(e.baseline);
  const diff = e.differences.find((d) => isOverall(d.slice))?.metrics ?? {};
  const withBaseline = e.baseline !== null;
  const head = `<th>metric</th><th class="num">candidate</th>${withBaseline ? '<th class="num">baseline</th><th class="num">difference (candidate − baseline)</th><th>change</th>' : ''}`;
  const rows = Object.entries(overall.metrics)
    .map(([metric, m]) => {
      const lowerBetter = lowerIsBetter(metric, e.checks);
      const failedValue = failed.has(judgedKey({}, metric, 'value'));
      const failedChange = failed.has(judgedKey({}, metric, 'change'));
      const cells = withBaseline
        ? `<td class="num">${valueWithInterval(base?.metrics[metric])}</td><td class="num${failedChange ? ' failed' : ''}">${valueWithInterval(diff[metric], true)}</td><td>${changeMarker(diff[metric], lowerBetter)}</td>`
        : '';
      return (
        `<tr data-metric="${esc(metric)}"><td class="metric-name">${esc(metric)}<div class="note">${lowerBetter ? 'lower is better' : 'higher is better'}</div></td>` +
        `<td class="num${failedValue ? ' failed' : ''}">${valueWithInterval(m)}</td>${cells}</tr>`
      );
    })
    .join('');
  const paired = withBaseline ? "; the difference's interval is paired (both models on the same resamples)" : '';
  const ci = e.bootstrap ? `In brackets: the ${formatPercent(e.bootstrap.confidence, 1)} bootstrap interval (${formatNumber(e.bootstrap.resamples)} Poisson resamples)${paired}.` : 'Bootstrap off: point estimates only, no intervals.';
  const note = `<p class="note">Overall, on the ${esc(e.split)} split. ${ci}${withBaseline ? '' : ' No baseline: this is the first model.'}${failed.size > 0 ? ' Red: the figure a failed threshold check judged.' : ''}</p>`;
  return `<h2 id="metrics">Metrics</h2>${note}<table class="list metrics"><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table>`;
}

function thresholdText(c: Check): string {
  return Object.entries(c.threshold)
    .map(([k, v]) => `${esc(k)} ${typeof v === 'number' ? formatMetric(v) : esc(String(v))}`)
    .join(', ');
}

function checksSection(e: Evaluation): string {
  const head = `<h2 id="checks">Threshold checks <span class="count">(${e.checks.length})</span></h2>`;
  if (e.checks.length === 0) {
    return `${head}${pendingSection('No thresholds configured, so nothing was checked and the model is not blessed. Value thresholds (bounds on a metric) and change thresholds (against the baseline) are set on the Evaluator, overall or per slice.')}`;
  }
  const ordered = [...e.checks].sort((a, b) => Number(a.passed) - Number(b.passed));
  const rows = ordered
    .map((c) => {
      const interval = c.interval ? `[${formatMetric(c.interval.lower, c.kind === 'change')}, ${formatMetric(c.interval.upper, c.kind === 'change')}]` : '–';
      return (
        `<tr class="check ${c.passed ? 'passed' : 'failed'}" data-metric="${esc(c.metric)}" data-kind="${c.kind}"><td><span class="badge ${c.passed ? 'pass' : 'fail'}">${c.passed ? 'PASS' : 'FAIL'}</span></td>` +
        `<td class="metric-name">${esc(c.metric)}</td><td>${esc(sliceName(c.slice))}</td><td>${c.kind}</td>` +
        `<td class="num">${formatMetric(c.value)}</td><td class="num">${c.baselineValue === undefined ? '–' : formatMetric(c.baselineValue)}</td>` +
        `<td>${thresholdText(c)}</td><td class="num">${interval}</td><td>${esc(c.reason)}</td></tr>`
      );
    })
    .join('');
  return (
    `${head}<p class="note">Value thresholds: inclusive bounds on the candidate's metric. Change thresholds: candidate − baseline against a slack, in the better direction; with significance asked, the interval read is the paired bootstrap interval of the difference.</p>` +
    `<table class="list checks"><thead><tr><th>verdict</th><th>metric</th><th>slice</th><th>kind</th><th class="num">value</th><th class="num">baseline</th><th>threshold</th><th class="num">interval</th><th>reason</th></tr></thead><tbody>${rows}</tbody></table>`
  );
}

function sliceMetrics(e: Evaluation): string[] {
  const available = Object.keys(overallOf(e.candidate)?.metrics ?? e.candidate.slices[0]?.metrics ?? {});
  const checked = [...new Set(e.checks.map((c) => c.metric))].filter((m) => available.includes(m));
  const headline = available.filter((m) => HEADLINE_METRIC.test(m) && !checked.includes(m));
  const chosen = [...checked, ...headline].slice(0, SLICE_METRICS);
  return chosen.length > 0 ? chosen : available.slice(0, SLICE_METRICS);
}

function slicesSection(e: Evaluation, failed: Set<string>): string {
  const metrics = sliceMetrics(e);
  const failedSlices = new Set(e.checks.filter((c) => !c.passed).map((c) => sliceId(c.slice)));
  const rank = (s: SliceResult) => (isOverall(s.slice) ? 0 : failedSlices.has(sliceId(s.slice)) ? 1 : 2);
  const ordered = [...e.candidate.slices].sort((a, b) => rank(a) - rank(b) || b.examples - a.examples);
  const shown = ordered.slice(0, EVALUATION_SLICES_SHOWN);
  const diffs = new Map(e.differences.map((d) => [sliceId(d.slice), d.metrics]));
  const weighted = e.weightFeature !== null;
  const rows = shown
    .map((s) => {
      const id = sliceId(s.slice);
      const name = `<td>${esc(sliceName(s.slice))}</td><td class="num">${formatNumber(s.examples)}</td>${weighted ? `<td class="num">${formatNumber(s.weight)}</td>` : ''}`;
      if (s.tooSmall) return `<tr class="slice too-small" data-slice="${esc(sliceName(s.slice))}">${name}<td colspan="${metrics.length}">too small: below the minimum slice size, metrics left out and not judged</td></tr>`;
      const cells = metrics
        .map((m) => {
          const d = diffs.get(id)?.[m];
          const failedChange = failed.has(judgedKey(s.slice, m, 'change'));
          const delta = e.baseline !== null && d ? `<div class="note${failedChange ? ' failed' : ''}">Δ ${valueWithInterval(d, true)}</div>` : '';
          const failedValue = failed.has(judgedKey(s.slice, m, 'value'));
          return `<td class="num${failedValue ? ' failed' : ''}">${valueWithInterval(s.metrics[m])}${delta}</td>`;
        })
        .join('');
      return `<tr class="slice" data-slice="${esc(sliceName(s.slice))}">${name}${cells}</tr>`;
    })
    .join('');
  const more = ordered.length - shown.length;
  const note = `<p class="note">Each slice's metrics with their intervals${e.baseline !== null ? '; Δ: candidate − baseline' : ''}. Greyed: too few examples to judge.${failed.size > 0 ? ' Red: the figure a failed threshold check judged.' : ''}${more > 0 ? ` ${more} smaller slices are not shown; evaluation.json has all ${ordered.length}.` : ''}</p>`;
  const head = `<th>slice</th><th class="num">examples</th>${weighted ? `<th class="num">weight (${esc(e.weightFeature ?? '')})</th>` : ''}${metrics.map((m) => `<th class="num">${esc(m)}</th>`).join('')}`;
  return `<h2 id="slices">Slices <span class="count">(${e.candidate.slices.length})</span></h2>${note}<table class="list slices"><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table>`;
}

const legend = (withBaseline: boolean) =>
  [CANDIDATE, ...(withBaseline ? [BASELINE] : [])].map((r) => `<span><span class="swatch" style="background:${r.color}"></span>${r.name}</span>`).join(' ');

/** Each class's share of the labels, from the confusion matrix's rows: the PR curve of a classifier that guesses. */
function classShares(matrix: number[][] | undefined): number[] {
  if (!matrix) return [];
  const rows = matrix.map((r) => r.reduce((a, b) => a + b, 0));
  const total = rows.reduce((a, b) => a + b, 0);
  return rows.map((r) => (total > 0 ? r / total : 0));
}

function curvesSection(e: Evaluation): string {
  const cand = overallOf(e.candidate);
  const base = overallOf(e.baseline);
  if (!cand?.roc && !cand?.pr) return '';
  const classes = e.classes ?? [];
  const shares = classShares(cand.confusionMatrix);
  const series = (curves: SliceResult['roc'], baseCurves: SliceResult['roc'], key: string): CurveSeries[] => [
    ...(curves?.[key] ? [{ ...CANDIDATE, ...curves[key]! }] : []),
    ...(baseCurves?.[key] ? [{ ...BASELINE, ...baseCurves[key]! }] : []),
  ];
  const title = (key: string, n: number) => (n > 1 ? `${key} vs rest` : key);
  const roc = Object.keys(cand.roc ?? {}).map((key, _, all) =>
    curveSvg({ title: title(key, all.length), xLabel: 'false positive rate', yLabel: 'true positive rate', series: series(cand.roc, base?.roc, key), reference: { kind: 'diagonal', tip: 'a classifier that guesses' } }, 'roc'),
  );
  const pr = Object.keys(cand.pr ?? {}).map((key, _, all) => {
    const share = shares[classes.indexOf(key)];
    const reference = share === undefined ? undefined : { kind: 'level' as const, y: share, tip: `a classifier that guesses: precision = ${key}'s share of the labels, ${formatPercent(share, 1)}` };
    return curveSvg({ title: title(key, all.length), xLabel: 'recall', yLabel: 'precision', series: series(cand.pr, base?.pr, key), reference }, 'pr');
  });
  const oneVsRest = Object.keys(cand.roc ?? {}).length > 1 ? ' one-vs-rest per class' : '';
  return (
    `<h2 id="curves">ROC and PR curves</h2><div class="toolbar"><span>${legend(e.baseline !== null)}</span><span class="note">overall slice,${oneVsRest}; dashed: a classifier that guesses; hover a line for its model</span></div>` +
    (roc.length > 0 ? `<h3>ROC</h3><div class="charts">${roc.join('')}</div>` : '') +
    (pr.length > 0 ? `<h3>Precision-recall</h3><div class="charts">${pr.join('')}</div>` : '')
  );
}

/** Diagonal (right) in blue, off-diagonal (wrong) in red, each as deep as its share of the true class's row. */
function cellStyle(share: number, right: boolean): { style: string; dark: boolean } {
  const [r, g, b] = right ? [31, 119, 180] : [214, 39, 40];
  const t = Math.min(1, share);
  const mix = (c: number) => Math.round(255 + (c - 255) * t);
  return { style: `background:rgb(${mix(r)},${mix(g)},${mix(b)})`, dark: t > 0.55 };
}

function confusionTable(matrix: number[][], classes: string[], role: typeof CANDIDATE): string {
  const name = (i: number) => esc(classes[i] ?? String(i));
  const head = `<tr><th></th><th colspan="${matrix.length}">predicted →</th></tr><tr><th class="true-class">true ↓</th>${matrix.map((_, j) => `<th>${name(j)}</th>`).join('')}</tr>`;
  const rows = matrix
    .map((row, i) => {
      const total = row.reduce((a, b) => a + b, 0);
      const cells = row
        .map((count, j) => {
          const { style, dark } = cellStyle(total > 0 ? count / total : 0, i === j);
          const tip = `true ${classes[i] ?? i}, predicted ${classes[j] ?? j}: ${formatNumber(count)} of ${formatNumber(total)}`;
          return `<td class="cell${dark ? ' dark' : ''}" style="${style}" title="${esc(tip)}"><span class="count">${formatNumber(count)}</span><span class="share">${formatPercent(count, total)}</span></td>`;
        })
        .join('');
      return `<tr><th class="true-class">${name(i)}</th>${cells}</tr>`;
    })
    .join('');
  return `<figure class="confusion" data-model="${role.name}"><figcaption><span class="swatch" style="background:${role.color}"></span>${role.name}</figcaption><table class="confusion">${head}${rows}</table></figure>`;
}

function confusionSection(e: Evaluation): string {
  const cand = overallOf(e.candidate)?.confusionMatrix;
  if (!cand) return '';
  const base = overallOf(e.baseline)?.confusionMatrix;
  const classes = e.classes ?? [];
  return (
    `<h2 id="confusion">Confusion matrix</h2><p class="note">Overall slice. Rows: the true class; columns: the predicted class; each cell's count and its share of the row (recall on the diagonal). Blue: right, red: wrong; deeper is a larger share.</p>` +
    `<div class="charts">${confusionTable(cand, classes, CANDIDATE)}${base ? confusionTable(base, classes, BASELINE) : ''}</div>`
  );
}

function calibrationSeries(role: typeof CANDIDATE, bins: NonNullable<SliceResult['calibration']>): CurveSeries {
  const most = Math.max(1, ...bins.map((b) => b.examples));
  return {
    ...role,
    x: bins.map((b) => b.meanPrediction),
    y: bins.map((b) => b.meanLabel),
    dots: bins.map((b) => ({
      size: 7 * Math.sqrt(b.examples / most),
      tip: `${role.name}: mean prediction ${formatMetric(b.meanPrediction)}, mean label ${formatMetric(b.meanLabel)}, ${formatNumber(b.examples)} examples`,
    })),
  };
}

function calibrationSection(e: Evaluation): string {
  const cand = overallOf(e.candidate)?.calibration;
  if (!cand || cand.length === 0) return '';
  const base = overallOf(e.baseline)?.calibration;
  const series = [calibrationSeries(CANDIDATE, cand), ...(base && base.length > 0 ? [calibrationSeries(BASELINE, base)] : [])];
  const values = series.flatMap((s) => [...s.x, ...s.y]);
  const domain: [number, number] = e.task === 'classification' ? [0, 1] : [Math.min(...values), Math.max(...values)];
  const what = e.task === 'classification' ? 'predicted probability' : 'prediction';
  const chart = curveSvg({ title: 'calibration', xLabel: `mean ${what}`, yLabel: 'mean label', series, domain, reference: { kind: 'diagonal', tip: 'perfectly calibrated: mean label = mean prediction' } }, 'calibration');
  return (
    `<h2 id="calibration">Calibration</h2><div class="toolbar"><span>${legend(series.length > 1)}</span><span class="note">overall slice; a dot per bin of ${what} (its size: the bin's examples). On the dashed diagonal the model is calibrated; below it, it predicts too high; above, too low.</span></div>` +
    `<div class="charts">${chart}</div>`
  );
}

function importanceSection(e: Evaluation): string {
  const head = '<h2 id="importance">Feature importance</h2>';
  if (e.featureImportance.length === 0) return `${head}${pendingSection('No feature importance in this evaluation.')}`;
  const byMetric = new Map<string, Evaluation['featureImportance']>();
  for (const f of e.featureImportance) byMetric.set(f.metric, [...(byMetric.get(f.metric) ?? []), f]);
  const charts = [...byMetric]
    .map(([metric, list]) => {
      const bars = [...list]
        .sort((a, b) => b.mean - a.mean)
        .map((f) => ({ feature: f.feature, mean: f.mean, std: f.std, tip: `${f.feature}: ${metric} drops by ${formatMetric(f.mean)} ± ${formatMetric(f.std)} (std over ${f.repeats} repeats) when its values are shuffled` }));
      const repeats = [...new Set(list.map((f) => f.repeats))].join(', ');
      return `<h3>Drop in ${esc(metric)} when a feature is shuffled <span class="count">(mean ± std over ${repeats} repeats)</span></h3>${importanceSvg(bars, metric)}`;
    })
    .join('');
  return `${head}<p class="note">Permutation importance on the ${esc(e.split)} split: each raw feature's values shuffled in turn, the candidate evaluated again. Longer bar: the model leans on it more; at or below zero: the model does not use it.</p>${charts}`;
}

function settingsSection(e: Evaluation): string {
  const auc =
    e.auc.method === 'exact'
      ? `exact (up to ${formatNumber(e.auc.exactAucLimit)} rows; binned beyond)`
      : `binned over ${formatNumber(e.auc.thresholds ?? null)} thresholds (more than ${formatNumber(e.auc.exactAucLimit)} rows)`;
  const bootstrap = e.bootstrap
    ? `Poisson bootstrap, ${formatNumber(e.bootstrap.resamples)} resamples, seed ${e.bootstrap.seed}, ${formatPercent(e.bootstrap.confidence, 1)} intervals`
    : 'off: point estimates only';
  const model = (m: ModelResult | null) => (m ? `${esc(m.uri)} <span class="muted">(content ${esc(m.contentHash)})</span>` : '<span class="muted">none (first model)</span>');
  const items: Array<[string, string]> = [
    ['task', e.task],
    ['label', esc(e.label)],
    ...(e.classes ? [['classes', e.classes.map((c, i) => `${i}: ${esc(c)}`).join(', ')] as [string, string]] : []),
    ['split', esc(e.split)],
    ['example weight', e.weightFeature ? esc(e.weightFeature) : '<span class="muted">none</span>'],
    ...(e.task === 'classification' ? [['AUC', auc] as [string, string]] : []),
    ['intervals', bootstrap],
    ['candidate', model(e.candidate)],
    ['baseline', model(e.baseline)],
  ];
  return `<h2 id="settings">Settings</h2><dl class="settings">${items.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>`;
}

/** evaluation.json as evaluation.html. */
export function renderEvaluationReport(e: Evaluation): string {
  const overall = overallOf(e.candidate);
  const failed = failedIndex(e.checks);
  const what = e.task === 'classification' ? `classifier of ${esc(e.label)}${e.classes ? ` (${e.classes.length} classes)` : ''}` : `regressor of ${esc(e.label)}`;
  const subtitle = [
    `ModelEvaluation · ${what}`,
    ` · ${esc(e.split)} split${overall ? `, ${formatNumber(overall.examples)} examples` : ''}`,
    e.baseline ? ` · against the baseline ${esc(e.baseline.contentHash.slice(0, 12))}` : ' · no baseline (first model)',
  ].join('');
  const body =
    verdictSection(e) +
    `<div class="cards">${modelCard(CANDIDATE, e.candidate)}${modelCard(BASELINE, e.baseline)}</div>` +
    metricsSection(e, failed) +
    checksSection(e) +
    slicesSection(e, failed) +
    curvesSection(e) +
    confusionSection(e) +
    calibrationSection(e) +
    importanceSection(e) +
    settingsSection(e);
  return reportPage({ title: 'Evaluation', subtitle, body, css: CSS });
}
