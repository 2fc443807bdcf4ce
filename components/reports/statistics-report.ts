import type { ExampleStatistics, SplitStatistics } from '../statistics-gen/payload';
import type { Usefulness } from '../statistics-gen/usefulness/payload';
import { featureAnchor, featureTables, mergeFlags, statisticsFlags, type Column, type Flag } from './feature-tables';
import { esc, formatNumber } from './format';
import { reportPage, VIEW_TOGGLE } from './page';
import { splitColor } from './svg-charts';
import { usefulnessFlags, usefulnessSection } from './usefulness-section';

/** StatisticsGen writes it into the ExampleStatistics artifact beside statistics.json. */
export const STATISTICS_REPORT_FILE_NAME = 'statistics.html';

/** Slices beyond this many (the largest first) stay in statistics.json: a page per airport is not "at a glance". */
export const SLICES_SHOWN = 25;

export function splitColumns(splits: SplitStatistics[]): Column[] {
  return splits.map((s, i) => ({ name: s.name, color: splitColor(i), numExamples: s.numExamples, features: s.features }));
}

export function legend(columns: Column[]): string {
  return columns.map((c) => `<span><span class="swatch" style="background:${c.color}"></span>${esc(c.name)}</span>`).join(' ');
}

/** The flagged features as a list of links to their rows; what a reader checks first. */
export function glanceList(flags: Map<string, Flag[]>): string {
  const items = [...flags].map(([name, list]) => `<li><a href="#${featureAnchor(name)}">${esc(name)}</a>: ${list.map((f) => `<span class="flag ${f.level}">${esc(f.text)}</span>`).join(' ')}</li>`);
  return `<ul class="glance">${items.join('')}</ul>`;
}

/** `feature = value, other missing`: a slice's key as a reader names it (a cross when several). */
export function sliceLabel(key: Readonly<Record<string, string | number | null>>): string {
  return Object.entries(key)
    .map(([feature, value]) => (value === null ? `${feature} missing` : `${feature} = ${value}`))
    .join(', ');
}

interface SliceGroup {
  label: string;
  columns: Column[];
  total: number;
}

/** The same slice of every split, together; largest first. */
function sliceGroups(splits: SplitStatistics[]): SliceGroup[] {
  const groups = new Map<string, SliceGroup>();
  splits.forEach((split, i) => {
    for (const slice of split.slices) {
      const id = JSON.stringify(Object.entries(slice.key).sort());
      const group = groups.get(id) ?? { label: sliceLabel(slice.key), columns: [], total: 0 };
      group.columns.push({ name: split.name, color: splitColor(i), numExamples: slice.numExamples, features: slice.features });
      group.total += slice.numExamples;
      groups.set(id, group);
    }
  });
  return [...groups.values()].sort((a, b) => b.total - a.total || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
}

function slicesSection(stats: ExampleStatistics): string {
  const groups = sliceGroups(stats.splits);
  if (groups.length === 0) return '';
  const shown = groups.slice(0, SLICES_SHOWN);
  const more = groups.length - shown.length;
  const details = shown
    .map((g) => {
      const counts = g.columns.map((c) => `${esc(c.name)} ${formatNumber(c.numExamples)}`).join(', ');
      const flags = statisticsFlags(g.columns, stats.conventions.slices);
      return `<details class="slice" data-slice="${esc(g.label)}"><summary>${esc(g.label)} <span class="muted">(${counts} examples${flags.size > 0 ? `; ${flags.size} flagged` : ''})</span></summary>${featureTables(g.columns, flags)}</details>`;
    })
    .join('');
  const note = more > 0 ? `<p class="note">${more} smaller slices are not shown here; statistics.json has all ${groups.length}.</p>` : '';
  return `<h2 id="slices">Slices by ${esc(stats.conventions.slices.join(', '))} <span class="count">(${groups.length})</span></h2>${details}${note}`;
}

/** statistics.json as a page: the splits side by side, per feature kind, usefulness.json's ranking when there is one, then each slice. */
export function renderStatisticsReport(stats: ExampleStatistics, opts: { usefulness?: Usefulness } = {}): string {
  const columns = splitColumns(stats.splits);
  const flags = mergeFlags(statisticsFlags(columns), usefulnessFlags(opts.usefulness));
  const c = stats.conventions;
  const subtitle = [
    `ExampleStatistics · ${stats.splits.map((s) => `${esc(s.name)} ${formatNumber(s.numExamples)} examples`).join(' · ')}`,
    c.weightFeature ? ` · weighted by ${esc(c.weightFeature)} (weighted figures in statistics.json)` : '',
    c.slices.length > 0 ? ` · sliced by ${esc(c.slices.join(', '))}` : '',
  ].join('');
  const cards = stats.splits
    .map(
      (s, i) =>
        `<div class="card"><div><span class="swatch" style="background:${splitColor(i)}"></span>${esc(s.name)}</div><div class="big">${formatNumber(s.numExamples)}</div>` +
        `<div class="muted">examples${s.weightedNumExamples !== undefined ? `, weight ${formatNumber(s.weightedNumExamples)}` : ''} · ${s.features.length} features</div></div>`,
    )
    .join('');
  const glance =
    flags.size === 0
      ? '<p class="ok">Nothing stands out: no feature with 5% or more missing, NaN, infinity, a single value, or absent from a split.</p>'
      : `<p>${flags.size} of ${new Set(columns.flatMap((col) => col.features.map((f) => f.name))).size} features to look at:</p>${glanceList(flags)}`;
  const body =
    `<div class="cards">${cards}</div><h2>At a glance</h2>${glance}` +
    `<h2 id="features">Features</h2><div class="toolbar"><span>${legend(columns)}</span>${VIEW_TOGGLE}<span class="note">hover a bar or tick for its figures</span></div>` +
    featureTables(columns, flags) +
    usefulnessSection(opts.usefulness, new Set(columns.flatMap((col) => col.features.map((f) => f.name)))) +
    slicesSection(stats);
  return reportPage({ title: 'Statistics', subtitle, body });
}
