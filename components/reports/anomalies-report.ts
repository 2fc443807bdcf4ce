import type { Anomaly, ExampleAnomalies } from '../example-validator/payload';
import type { ExampleStatistics } from '../statistics-gen/payload';
import type { Usefulness } from '../statistics-gen/usefulness/payload';
import { comparisonsSection, measureLabelOf } from './comparisons-section';
import { featureAnchor, featureTables, mergeFlags, statisticsFlags, type Flag } from './feature-tables';
import { esc, formatNumber } from './format';
import { reportPage, VIEW_TOGGLE } from './page';
import { legend, splitColumns } from './statistics-report';
import { usefulnessFlags, usefulnessSection } from './usefulness-section';

/** ExampleValidator writes it into the ExampleAnomalies artifact beside anomalies.json. */
export const ANOMALIES_REPORT_FILE_NAME = 'anomalies.html';

const SEVERITY_ORDER = { ERROR: 0, WARNING: 1 } as const;

function anomaliesTable(anomalies: ExampleAnomalies, linked: ReadonlySet<string>): string {
  const all = anomalies.splits.flatMap((s, splitIndex) => s.anomalies.map((a, i) => ({ a, splitIndex, i })));
  if (all.length === 0) return `<p class="ok">No anomalies in ${anomalies.splits.map((s) => esc(s.name)).join(', ')}: every split matches the schema.</p>`;
  all.sort((x, y) => SEVERITY_ORDER[x.a.severity] - SEVERITY_ORDER[y.a.severity] || x.splitIndex - y.splitIndex || x.i - y.i);
  const feature = (a: Anomaly) => {
    if (a.feature === null) return '<span class="muted">(dataset)</span>';
    return linked.has(a.feature) ? `<a href="#${featureAnchor(a.feature)}">${esc(a.feature)}</a>` : esc(a.feature);
  };
  const rows = all
    .map(
      ({ a }) =>
        `<tr class="anomaly" data-kind="${esc(a.kind)}" data-feature="${esc(a.feature ?? '')}" data-split="${esc(a.split)}">` +
        `<td><span class="sev ${esc(a.severity)}">${esc(a.severity)}</span></td><td>${feature(a)}</td><td>${esc(a.split)}</td>` +
        `<td>${esc(a.short)}<div class="note">${esc(a.kind)}</div></td><td>${esc(a.description)}${a.comparedWith ? `<div class="note">compared with ${esc(a.comparedWith)}</div>` : ''}</td></tr>`,
    )
    .join('');
  return `<table class="list anomalies"><thead><tr><th>severity</th><th>feature</th><th>split</th><th>anomaly</th><th>what was found</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/**
 * Each anomalous feature's anomalies as flags on its row of the statistics tables; the measures over
 * their thresholds in one split as one flag (`shifted in eval: JSD, PSI`), not a sentence each.
 */
function anomalyFlags(anomalies: ExampleAnomalies): Map<string, Flag[]> {
  const flags = new Map<string, Flag[]>();
  for (const s of anomalies.splits) {
    const shifted = new Map<string, { labels: string[]; error: boolean }>();
    const add = (feature: string, flag: Flag) => flags.set(feature, [...(flags.get(feature) ?? []), flag]);
    for (const a of s.anomalies) {
      if (a.feature === null) continue;
      const measure = measureLabelOf(a.kind);
      if (measure === undefined) {
        add(a.feature, { text: `${a.short} in ${a.split}`, level: a.severity === 'ERROR' ? 'error' : 'warn' });
        continue;
      }
      const entry = shifted.get(a.feature) ?? { labels: [], error: false };
      shifted.set(a.feature, { labels: [...entry.labels, measure], error: entry.error || a.severity === 'ERROR' });
    }
    for (const [feature, { labels, error }] of shifted) add(feature, { text: `shifted in ${s.name}: ${labels.join(', ')}`, level: error ? 'error' : 'warn' });
  }
  return flags;
}

function anomalousFeatureStatistics(anomalies: ExampleAnomalies, statistics: ExampleStatistics, usefulness: Usefulness | undefined): { html: string; features: Set<string> } {
  const validated = new Set(anomalies.splits.map((s) => s.name));
  const columns = splitColumns(statistics.splits).filter((c) => validated.has(c.name));
  const named = anomalyFlags(anomalies);
  const present = new Set(columns.flatMap((c) => c.features.map((f) => f.name)));
  const features = new Set([...named.keys()].filter((n) => present.has(n)));
  if (features.size === 0) return { html: '', features };
  const flags = mergeFlags(named, statisticsFlags(columns), usefulnessFlags(usefulness));
  const html =
    `<h2 id="features">Statistics of the features named above</h2><div class="toolbar"><span>${legend(columns)}</span>${VIEW_TOGGLE}<span class="note">hover a bar or tick for its figures; statistics.html has every feature</span></div>` +
    featureTables(columns, flags, features);
  return { html, features };
}

/** anomalies.json as a page: anomalies first, then every skew and drift measure, then usefulness (from the statistics' usefulness.json), then the anomalous features' statistics. */
export function renderAnomaliesReport(
  anomalies: ExampleAnomalies,
  opts: { statistics?: ExampleStatistics; usefulness?: Usefulness } = {},
): string {
  const errors = (s: ExampleAnomalies['splits'][number]) => s.anomalies.filter((a) => a.severity === 'ERROR').length;
  const warnings = (s: ExampleAnomalies['splits'][number]) => s.anomalies.filter((a) => a.severity === 'WARNING').length;
  const cards = anomalies.splits
    .map(
      (s) =>
        `<div class="card"><div>${esc(s.name)} <span class="muted">${formatNumber(s.numExamples)} examples</span></div>` +
        `<div class="big">${errors(s) > 0 ? `<span class="sev ERROR">${errors(s)} ERROR</span> ` : ''}${warnings(s) > 0 ? `<span class="sev WARNING">${warnings(s)} WARNING</span>` : ''}${errors(s) + warnings(s) === 0 ? '<span class="ok">no anomalies</span>' : ''}</div></div>`,
    )
    .join('');
  const stats = opts.statistics ? anomalousFeatureStatistics(anomalies, opts.statistics, opts.usefulness) : { html: '', features: new Set<string>() };
  const total = anomalies.splits.reduce((sum, s) => sum + s.anomalies.length, 0);
  const subtitle = `ExampleAnomalies · ${anomalies.splits.map((s) => esc(s.name)).join(', ')} against the schema${anomalies.environment ? ` in environment ${esc(anomalies.environment)}` : ''}`;
  const body =
    `<div class="cards">${cards}</div><h2 id="anomalies">Anomalies <span class="count">(${total})</span></h2>${anomaliesTable(anomalies, stats.features)}` +
    comparisonsSection(anomalies, stats.features) +
    usefulnessSection(opts.usefulness, stats.features) +
    stats.html;
  return reportPage({ title: 'Anomalies', subtitle, body });
}
