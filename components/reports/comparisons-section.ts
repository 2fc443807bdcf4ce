import type { AnomalyKind } from '../example-validator/anomaly-kinds';
import type { ComparedData, DatasetComparison, ExampleAnomalies, FeatureComparison, Measure, MeasureName } from '../example-validator/payload';
import { featureAnchor } from './feature-tables';
import { esc, formatNumber } from './format';
import { pendingSection } from './page';

/**
 * anomalies.json's skew and drift comparisons as a section: one table per pair of compared data, one
 * row per feature, every measure with its threshold (over it: red), the tests' p-values, and the
 * small-sample flag: the measured value is always shown, not only once an anomaly fired.
 */

const MEASURES: Array<{ name: MeasureName; label: string; title: string }> = [
  { name: 'infinityNorm', label: 'L∞', title: "TFDV's L-infinity distance between the value frequencies (categorical)" },
  { name: 'jensenShannonDivergence', label: 'JSD', title: "TFDV's approximate Jensen-Shannon divergence" },
  { name: 'populationStabilityIndex', label: 'PSI', title: 'population stability index' },
  { name: 'normalizedWasserstein', label: 'W₁ norm.', title: 'Wasserstein-1 distance over the baseline standard deviation (numeric)' },
  { name: 'kolmogorovSmirnov', label: 'KS', title: 'two-sample Kolmogorov-Smirnov statistic and p-value (numeric)' },
  { name: 'chiSquare', label: 'χ²', title: 'chi-square test of homogeneity and p-value (categorical)' },
];

/** The comparator anomaly kinds, by the measure whose threshold each is about. */
const MEASURE_OF_KIND: Partial<Record<AnomalyKind, MeasureName>> = {
  COMPARATOR_L_INFTY_HIGH: 'infinityNorm',
  COMPARATOR_JENSEN_SHANNON_DIVERGENCE_HIGH: 'jensenShannonDivergence',
  COMPARATOR_POPULATION_STABILITY_INDEX_HIGH: 'populationStabilityIndex',
  COMPARATOR_NORMALIZED_WASSERSTEIN_HIGH: 'normalizedWasserstein',
};

/** The short label (`PSI`) of the measure a comparator anomaly is about; undefined for other kinds. */
export function measureLabelOf(kind: AnomalyKind): string | undefined {
  const name = MEASURE_OF_KIND[kind];
  return MEASURES.find((m) => m.name === name)?.label;
}

function dataName(d: ComparedData): string {
  const where = d.statistics === 'statistics' ? '' : d.statistics === 'skewStatistics' ? ' of the skew statistics' : ' of the previous span';
  return `${d.split}${d.span !== undefined ? ` (span ${d.span})` : ''}${where}`;
}

const small = (v: number) => formatNumber(Number(v.toPrecision(3)));

function measureCell(m: Measure | undefined): string {
  if (!m) return '<td class="num muted">–</td>';
  const over = m.value !== null && m.threshold !== undefined && m.value > m.threshold;
  const tip = [m.source, m.at !== undefined ? `largest difference at ${m.at}` : '', m.degreesOfFreedom !== undefined ? `${m.degreesOfFreedom} degrees of freedom` : '', m.note ?? ''].filter(Boolean).join('; ');
  const lines = [
    m.value === null ? '<span class="muted">n/a</span>' : small(m.value),
    m.threshold !== undefined ? `<div class="note">threshold ${small(m.threshold)}</div>` : '',
    m.pValue !== undefined ? `<div class="note">p = ${m.pValue < 1e-4 ? m.pValue.toExponential(1) : small(m.pValue)}</div>` : '',
  ];
  return `<td class="num measure${over ? ' high' : ''}" title="${esc(tip)}">${lines.join('')}</td>`;
}

function comparisonTable(rows: FeatureComparison[], linked: ReadonlySet<string>): string {
  const head = MEASURES.map((m) => `<th class="num" title="${esc(m.title)}">${m.label}</th>`).join('');
  const body = rows
    .map((c) => {
      const name = linked.has(c.feature) ? `<a href="#${featureAnchor(c.feature)}">${esc(c.feature)}</a>` : esc(c.feature);
      const flag = c.smallSample ? `<span class="flag warn" title="${esc(c.smallSampleReasons.join('; '))}">small sample</span>` : '';
      const over = MEASURES.some(({ name }) => {
        const m = c.measures[name];
        return m?.value != null && m.threshold !== undefined && m.value > m.threshold;
      });
      return (
        `<tr class="comparison${over ? ' over' : ''}" data-feature="${esc(c.feature)}"><td>${name}<div class="note">${esc(c.type)}</div>${flag}</td>` +
        `<td class="num">${formatNumber(c.values.baseline)}</td><td class="num">${formatNumber(c.values.compared)}</td>${MEASURES.map(({ name: n }) => measureCell(c.measures[n])).join('')}</tr>`
      );
    })
    .join('');
  return `<table class="list comparisons"><thead><tr><th>feature</th><th class="num">values (baseline)</th><th class="num">values (compared)</th>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function datasetTable(rows: DatasetComparison[]): string {
  if (rows.length === 0) return '';
  const bound = (v: number | undefined) => (v === undefined ? '–' : small(v));
  const body = rows
    .map((d) => {
      const out = d.ratio !== null && ((d.minFractionThreshold !== undefined && d.ratio < d.minFractionThreshold) || (d.maxFractionThreshold !== undefined && d.ratio > d.maxFractionThreshold));
      return (
        `<tr><td>${esc(dataName(d.baseline))} → ${esc(dataName(d.compared))}</td><td class="num">${formatNumber(d.baselineNumExamples)}</td><td class="num">${formatNumber(d.numExamples)}</td>` +
        `<td class="num${out ? ' high' : ''}">${d.ratio === null ? '–' : small(d.ratio)}</td><td class="num">${bound(d.minFractionThreshold)} – ${bound(d.maxFractionThreshold)}</td></tr>`
      );
    })
    .join('');
  return `<h3>Examples, span against span</h3><table class="list datasets"><thead><tr><th>compared</th><th class="num">baseline</th><th class="num">now</th><th class="num">ratio</th><th class="num">allowed</th></tr></thead><tbody>${body}</tbody></table>`;
}

export function comparisonsSection(anomalies: ExampleAnomalies, linked: ReadonlySet<string>): string {
  const head = '<h2 id="comparisons">Skew and drift</h2>';
  const notes = (anomalies.comparisonNotes ?? []).map((n) => `<p class="note">${esc(n)}</p>`).join('');
  const comparisons = anomalies.comparisons ?? [];
  const datasets = anomalies.datasetComparisons ?? [];
  if (comparisons.length === 0 && datasets.length === 0) {
    return `${head}${pendingSection('No skew or drift comparison in this validation: ExampleValidator compares splits (its <code>skew</code> parameter) or spans (<code>drift</code>) when asked, and then every measure of every feature appears here with its threshold.')}${notes}`;
  }
  const groups = new Map<string, FeatureComparison[]>();
  for (const c of comparisons) {
    const key = `${c.kind}: ${dataName(c.baseline)} → ${dataName(c.compared)}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  const legend =
    '<p class="note">Every measure is shown whether or not it crossed its threshold; a value over the schema\'s threshold is red and is an anomaly above. p-values are reported, never used to raise one. Hover a value for what it was computed from.</p>';
  const tables = [...groups]
    .map(([title, rows]) => `<h3 class="comparison-title">${esc(title[0]!.toUpperCase() + title.slice(1))} <span class="count">(${rows.length} features)</span></h3>${comparisonTable(rows, linked)}`)
    .join('');
  return head + legend + tables + datasetTable(datasets) + notes;
}
