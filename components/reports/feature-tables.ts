import type { FeatureStatistics } from '../statistics-gen/payload';
import { esc, formatDuration, formatInstant, formatNumber, formatPercent, instantAxisFormat } from './format';
import { histogramSvg, quantileStripSvg, topValuesSvg } from './svg-charts';

/**
 * Facets Overview's tables: one table per kind of feature, one block of rows per feature, one row per
 * split (or slice of a split) so their figures stand one above the other, and the charts of all of
 * them overlaid in one cell beside the block.
 */

/** One side of the comparison: a split, or a slice of one. */
export interface Column {
  name: string;
  color: string;
  numExamples: number;
  features: FeatureStatistics[];
}

export interface Flag {
  text: string;
  /** `error`: an anomaly, NaN or infinity; `warn`: worth a look (many missing, constant). */
  level: 'error' | 'warn';
}

/** Facets marks missing values in red from any share; 5% keeps a few gaps (penguins' Sex) quiet and still catches a broken join. */
const HIGH_MISSING_SHARE = 0.05;
/** How many values a top-values chart shows. */
const TOP_VALUES_SHOWN = 10;

const isNumeric = (f: FeatureStatistics) => f.numeric !== undefined;
const isCategorical = (f: FeatureStatistics) => !isNumeric(f) && (f.type === 'STRING' || f.type === 'BOOL');

/** `f-<hex of the name's UTF-8>`: an id a link can point at, from any feature name, two names never sharing one. */
export function featureAnchor(name: string): string {
  return `f-${Buffer.from(name, 'utf8').toString('hex')}`;
}

/** Every feature of any column, in the first column's order, then those only later columns have. */
function featureNames(columns: Column[]): string[] {
  const names = new Set<string>();
  for (const c of columns) for (const f of c.features) names.add(f.name);
  return [...names];
}

function featureIn(column: Column, name: string): FeatureStatistics | undefined {
  return column.features.find((f) => f.name === name);
}

/**
 * What a reader should notice about a feature, from the statistics alone. In a slice its slicing
 * features (`slicedBy`) hold one value by definition: not worth a flag.
 */
export function statisticsFlags(columns: Column[], slicedBy: readonly string[] = []): Map<string, Flag[]> {
  const flags = new Map<string, Flag[]>();
  for (const name of featureNames(columns)) {
    const list: Flag[] = [];
    const present = columns.map((c) => ({ c, f: featureIn(c, name) }));
    for (const { c, f } of present) {
      if (!f) {
        list.push({ text: `absent from ${c.name}`, level: 'error' });
        continue;
      }
      const rows = f.count + f.missing;
      if (rows > 0 && f.count === 0) list.push({ text: `no values in ${c.name}`, level: 'error' });
      else if (rows > 0 && f.missing / rows >= HIGH_MISSING_SHARE) list.push({ text: `${formatPercent(f.missing, rows)} missing in ${c.name}`, level: 'warn' });
      if (f.numeric && f.numeric.numNan > 0) list.push({ text: `${formatNumber(f.numeric.numNan)} NaN in ${c.name}`, level: 'error' });
      const inf = f.numeric ? f.numeric.numPosInf + f.numeric.numNegInf : 0;
      if (inf > 0) list.push({ text: `${formatNumber(inf)} ±∞ in ${c.name}`, level: 'error' });
    }
    const withValues = present.filter((p) => p.f && p.f.count > 1);
    if (!slicedBy.includes(name) && withValues.length > 0 && withValues.every((p) => p.f!.distinct === 1)) list.push({ text: 'constant', level: 'warn' });
    if (list.length > 0) flags.set(name, list);
  }
  return flags;
}

function approx(f: FeatureStatistics, figure: string, text: string): string {
  const a = f.approximations?.[figure];
  return a ? `<span class="approx" title="${esc(`${a.method}: ${a.error}`)}">≈${text}</span>` : text;
}

function featureCell(name: string, type: string, rows: number, flags: Flag[], extra = ''): string {
  const badges = flags.map((fl) => `<span class="flag ${fl.level}">${esc(fl.text)}</span>`).join('');
  return `<th class="feature-name" rowspan="${rows}" scope="rowgroup"><span class="name">${esc(name)}</span><span class="type">${esc(type)}${extra}</span>${badges}</th>`;
}

function splitCell(c: Column): string {
  return `<td class="split"><span class="swatch" style="background:${c.color}"></span>${esc(c.name)}</td>`;
}

function missingCell(f: FeatureStatistics): string {
  const rows = f.count + f.missing;
  const high = rows > 0 && f.missing / rows >= HIGH_MISSING_SHARE;
  return `<td class="num${high ? ' high' : ''}" title="${formatNumber(f.missing)} of ${formatNumber(rows)} rows">${formatPercent(f.missing, rows)}</td>`;
}

function absentRow(c: Column, cells: number): string {
  return `<tr>${splitCell(c)}<td class="absent" colspan="${cells}">not in ${esc(c.name)}</td></tr>`;
}

function blockClass(flags: Flag[]): string {
  if (flags.some((f) => f.level === 'error')) return ' flagged-error';
  return flags.length > 0 ? ' flagged-warn' : '';
}

function typeText(f: FeatureStatistics): string {
  return f.valency === 'list' ? `${f.type} list` : f.type;
}

const NUMERIC_HEAD = ['count', 'missing', 'mean', 'std dev', 'zeros', 'min', 'median', 'max'];

function numericBlock(name: string, columns: Column[], flags: Flag[]): string {
  const present = columns.map((c) => featureIn(c, name));
  const first = present.find((f) => f !== undefined)!;
  const temporal = first.type === 'TEMPORAL';
  const value = temporal ? formatInstant : formatNumber;
  const series = columns.flatMap((c, i) => (present[i]?.numeric ? [{ c, f: present[i]!, s: present[i]!.numeric! }] : []));
  const finite = series.flatMap(({ s }) => (s.min !== null && s.max !== null ? [s.min, s.max] : []));
  const axisFormat = temporal && finite.length > 0 ? instantAxisFormat(Math.min(...finite), Math.max(...finite)) : value;
  const standard = histogramSvg({ feature: name, format: value, axisFormat, series: series.map(({ c, s }) => ({ name: c.name, color: c.color, buckets: s.standardHistogram.buckets })) });
  const quantiles = quantileStripSvg({
    feature: name,
    format: value,
    axisFormat,
    series: series.map(({ c, s }) => ({
      name: c.name,
      color: c.color,
      edges: s.quantilesHistogram.buckets.length > 0 ? [s.quantilesHistogram.buckets[0]!.low, ...s.quantilesHistogram.buckets.map((b) => b.high)] : [],
      median: s.median,
    })),
  });
  const approxChart = series.some(({ f }) => f.approximations?.['numeric.standardHistogram']) ? '<div class="note">≈ from a sketch</div>' : '';
  const rows = columns.map((c, i) => {
    const f = present[i];
    if (!f?.numeric) return absentRow(c, NUMERIC_HEAD.length);
    const s = f.numeric;
    const min = temporal ? (f.temporalMin ?? formatInstant(s.min)) : formatNumber(s.min);
    const max = temporal ? (f.temporalMax ?? formatInstant(s.max)) : formatNumber(s.max);
    return (
      `<tr>${splitCell(c)}<td class="num">${formatNumber(f.count)}</td>${missingCell(f)}` +
      `<td class="num">${value(s.mean)}</td><td class="num">${temporal ? formatDuration(s.std) : formatNumber(s.std)}</td>` +
      `<td class="num">${temporal ? '–' : formatPercent(s.numZeros, f.valueCounts.total)}</td>` +
      `<td class="num">${esc(min)}</td><td class="num">${approx(f, 'numeric.median', esc(value(s.median)))}</td><td class="num">${esc(max)}</td></tr>`
    );
  });
  const chart = `<td class="chart-cell" rowspan="${columns.length}"><div class="view-standard">${standard}</div><div class="view-quantiles">${quantiles}</div>${approxChart}</td>`;
  const [head, ...rest] = rows;
  const firstRow = head!.replace('<tr>', `<tr>${featureCell(name, typeText(first), columns.length, flags)}`).replace(/<\/tr>$/, `${chart}</tr>`);
  return `<tbody class="feature${blockClass(flags)}" id="${featureAnchor(name)}" data-feature="${esc(name)}" data-kind="numeric">${firstRow}${rest.join('')}</tbody>`;
}

const CATEGORICAL_HEAD = ['count', 'missing', 'distinct', 'top value', 'top share', 'avg length'];

/** The values to chart: the most frequent of each split by share, the first split's first. */
function chartedValues(features: Array<FeatureStatistics | undefined>): string[] {
  const share = new Map<string, number>();
  for (const f of features) {
    if (!f || f.valueCounts.total === 0) continue;
    for (const v of f.topValues) share.set(v.value, Math.max(share.get(v.value) ?? 0, v.count / f.valueCounts.total));
  }
  const firstOrder = features.find((f) => f !== undefined)?.topValues.map((v) => v.value) ?? [];
  const rest = [...share.keys()].filter((v) => !firstOrder.includes(v)).sort((a, b) => share.get(b)! - share.get(a)!);
  return [...firstOrder, ...rest].slice(0, TOP_VALUES_SHOWN);
}

function categoricalBlock(name: string, columns: Column[], flags: Flag[]): string {
  const present = columns.map((c) => featureIn(c, name));
  const first = present.find((f) => f !== undefined)!;
  const values = chartedValues(present);
  const series = columns.flatMap((c, i) => {
    const f = present[i];
    if (!f) return [];
    // The rank histogram reaches far past the top values: a value another split ranks higher still gets its count here.
    const known = new Map([...f.rankHistogram, ...f.topValues].map((v) => [v.value, v.count]));
    const counts = values.map((v) => known.get(v) ?? 0);
    return [{ name: c.name, color: c.color, counts, shares: counts.map((k) => (f.valueCounts.total > 0 ? k / f.valueCounts.total : 0)) }];
  });
  const chart = `<td class="chart-cell" rowspan="${columns.length}">${topValuesSvg({ feature: name, values, series })}</td>`;
  const rows = columns.map((c, i) => {
    const f = present[i];
    if (!f) return absentRow(c, CATEGORICAL_HEAD.length);
    const top = f.topValues[0];
    const length = f.stringLength?.mean;
    return (
      `<tr>${splitCell(c)}<td class="num">${formatNumber(f.count)}</td>${missingCell(f)}<td class="num">${approx(f, 'distinct', formatNumber(f.distinct))}</td>` +
      `<td class="value" title="${esc(top?.value ?? '')}">${top ? approx(f, 'topValues', esc(top.value)) : '–'}</td>` +
      `<td class="num">${top ? formatPercent(top.count, f.valueCounts.total) : '–'}</td><td class="num">${length === undefined ? '–' : formatNumber(length === null ? null : Number(length.toFixed(1)))}</td></tr>`
    );
  });
  const [head, ...rest] = rows;
  const firstRow = head!.replace('<tr>', `<tr>${featureCell(name, typeText(first), columns.length, flags)}`).replace(/<\/tr>$/, `${chart}</tr>`);
  return `<tbody class="feature${blockClass(flags)}" id="${featureAnchor(name)}" data-feature="${esc(name)}" data-kind="categorical">${firstRow}${rest.join('')}</tbody>`;
}

const OTHER_HEAD = ['count', 'missing', 'distinct'];

function otherBlock(name: string, columns: Column[], flags: Flag[]): string {
  const present = columns.map((c) => featureIn(c, name));
  const first = present.find((f) => f !== undefined)!;
  const rows = columns.map((c, i) => {
    const f = present[i];
    if (!f) return absentRow(c, OTHER_HEAD.length);
    return `<tr>${splitCell(c)}<td class="num">${formatNumber(f.count)}</td>${missingCell(f)}<td class="num">${approx(f, 'distinct', formatNumber(f.distinct))}</td></tr>`;
  });
  const [head, ...rest] = rows;
  const firstRow = head!.replace('<tr>', `<tr>${featureCell(name, `${typeText(first)} (${first.physicalType})`, columns.length, flags)}`);
  return `<tbody class="feature${blockClass(flags)}" id="${featureAnchor(name)}" data-feature="${esc(name)}" data-kind="other">${firstRow}${rest.join('')}</tbody>`;
}

function table(kind: string, title: string, head: string[], chartTitle: string | null, blocks: string[]): string {
  if (blocks.length === 0) return '';
  const ths = ['feature', 'split', ...head].map((h, i) => `<th${i > 1 ? ' class="num"' : ''}>${esc(h)}</th>`).join('') + (chartTitle ? `<th>${chartTitle}</th>` : '');
  return `<h3>${esc(title)} <span class="count">(${blocks.length})</span></h3><table class="features ${kind}"><thead><tr>${ths}</tr></thead>${blocks.join('')}</table>`;
}

/**
 * The three tables (numeric, categorical, other) for these columns side by side, only for the
 * features `only` names when given. A feature is placed by the first column that has it.
 */
export function featureTables(columns: Column[], flags: Map<string, Flag[]>, only?: ReadonlySet<string>): string {
  const names = featureNames(columns).filter((n) => !only || only.has(n));
  const kindOf = (name: string) => columns.map((c) => featureIn(c, name)).find((f) => f !== undefined)!;
  const blocks = { numeric: [] as string[], categorical: [] as string[], other: [] as string[] };
  for (const name of names) {
    const f = kindOf(name);
    const fl = flags.get(name) ?? [];
    if (isNumeric(f)) blocks.numeric.push(numericBlock(name, columns, fl));
    else if (isCategorical(f)) blocks.categorical.push(categoricalBlock(name, columns, fl));
    else blocks.other.push(otherBlock(name, columns, fl));
  }
  return (
    table('numeric', 'Numeric features', NUMERIC_HEAD, '<span class="view-standard">histogram (equal-width buckets)</span><span class="view-quantiles">quantiles (deciles, ● median)</span>', blocks.numeric) +
    table('categorical', 'Categorical features', CATEGORICAL_HEAD, 'top values (share of each split’s values)', blocks.categorical) +
    table('other', 'Other features', OTHER_HEAD, null, blocks.other)
  );
}

/** Flags of several sources for the same features, in order; one saying what another already did is left out. */
export function mergeFlags(...sources: Array<Map<string, Flag[]>>): Map<string, Flag[]> {
  const merged = new Map<string, Flag[]>();
  for (const source of sources) {
    for (const [name, list] of source) {
      const known = merged.get(name) ?? [];
      merged.set(name, [...known, ...list.filter((f) => !known.some((k) => k.text === f.text))]);
    }
  }
  return merged;
}
