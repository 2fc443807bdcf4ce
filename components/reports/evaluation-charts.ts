import { esc, formatNumber } from './format';

/**
 * The Evaluator's charts as inline SVG (no script, no network, as every report): curves on the unit
 * square (ROC, PR, calibration) with candidate and baseline overlaid, and permutation importance as
 * bars with their spread. Marks carry a `<title>`, the browser's tooltip, for exact figures.
 */

export interface CurveSeries {
  name: string;
  color: string;
  x: number[];
  y: number[];
  /** Calibration: a dot per bin, its area by the bin's examples, and what its tooltip says. */
  dots?: Array<{ size: number; tip: string }>;
}

export interface CurveChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: CurveSeries[];
  /** A reference a reader compares against: the diagonal (chance ROC, perfect calibration) or a level (PR's chance: the class's share). */
  reference?: { kind: 'diagonal'; tip: string } | { kind: 'level'; y: number; tip: string };
  /** Both axes' range: [0, 1] (rates, probabilities) unless given, as a regressor's calibration is in the label's units. */
  domain?: [number, number];
}

const PLOT = 200;
/** Room for a y tick as wide as `6,210` beside the rotated axis label. */
const LEFT = 52;
const TOP = 20;
const BOTTOM = 34;
const RIGHT = 10;

const r2 = (v: number) => Number(v.toFixed(1));

interface Scale {
  x: (v: number) => number;
  y: (v: number) => number;
}

function scaleOf(chart: CurveChart): Scale {
  const [lo, hi] = chart.domain ?? [0, 1];
  const span = hi - lo || 1;
  return { x: (v) => LEFT + ((v - lo) / span) * PLOT, y: (v) => TOP + (1 - (v - lo) / span) * PLOT };
}

/** Points closer than half a pixel to the last one kept add nothing but bytes (a binned curve has 10,000). */
function thinned(xs: number[], ys: number[], scale: Scale): Array<[number, number]> {
  const kept: Array<[number, number]> = [];
  xs.forEach((x, i) => {
    const px = scale.x(x);
    const py = scale.y(ys[i]!);
    const last = kept[kept.length - 1];
    if (!last || Math.abs(px - last[0]) >= 0.5 || Math.abs(py - last[1]) >= 0.5 || i === xs.length - 1) kept.push([r2(px), r2(py)]);
  });
  return kept;
}

function frame(chart: CurveChart, scale: Scale): string {
  const [lo, hi] = chart.domain ?? [0, 1];
  const ticks = [lo, (lo + hi) / 2, hi]
    .map((t) => {
      const x = r2(scale.x(t));
      const y = r2(scale.y(t));
      const text = esc(formatNumber(Number(t.toPrecision(3))));
      return (
        `<line class="grid" x1="${x}" x2="${x}" y1="${TOP}" y2="${TOP + PLOT}"/><line class="grid" x1="${LEFT}" x2="${LEFT + PLOT}" y1="${y}" y2="${y}"/>` +
        `<text x="${x}" y="${TOP + PLOT + 12}" text-anchor="middle">${text}</text><text x="${LEFT - 4}" y="${y + 3}" text-anchor="end">${text}</text>`
      );
    })
    .join('');
  return (
    `<text class="label title" x="${LEFT}" y="12">${esc(chart.title)}</text>${ticks}` +
    `<rect class="plot-frame" x="${LEFT}" y="${TOP}" width="${PLOT}" height="${PLOT}"/>` +
    `<text class="label" x="${LEFT + PLOT / 2}" y="${TOP + PLOT + 28}" text-anchor="middle">${esc(chart.xLabel)}</text>` +
    `<text class="label" transform="translate(10,${TOP + PLOT / 2}) rotate(-90)" text-anchor="middle">${esc(chart.yLabel)}</text>`
  );
}

function reference(chart: CurveChart, scale: Scale): string {
  const ref = chart.reference;
  if (!ref) return '';
  if (ref.kind === 'diagonal') return `<line class="reference" x1="${LEFT}" y1="${TOP + PLOT}" x2="${LEFT + PLOT}" y2="${TOP}"><title>${esc(ref.tip)}</title></line>`;
  const y = r2(scale.y(ref.y));
  return `<line class="reference" x1="${LEFT}" y1="${y}" x2="${LEFT + PLOT}" y2="${y}"><title>${esc(ref.tip)}</title></line>`;
}

function seriesMarks(s: CurveSeries, scale: Scale): string {
  const points = thinned(s.x, s.y, scale);
  const line = points.length > 1 ? `<polyline fill="none" stroke="${s.color}" stroke-width="2" stroke-opacity="0.85" points="${points.map((p) => p.join(',')).join(' ')}"><title>${esc(s.name)}</title></polyline>` : '';
  const dots = (s.dots ?? [])
    .map((d, i) => {
      const radius = r2(Math.max(2, Math.min(7, d.size)));
      return `<circle cx="${r2(scale.x(s.x[i]!))}" cy="${r2(scale.y(s.y[i]!))}" r="${radius}" fill="${s.color}" fill-opacity="0.7"><title>${esc(d.tip)}</title></circle>`;
    })
    .join('');
  return line + dots;
}

/** One chart on its domain squared ([0, 1]² by default): the frame, the reference, then each series (the candidate last, on top). */
export function curveSvg(chart: CurveChart, kind: string): string {
  const width = LEFT + PLOT + RIGHT;
  const height = TOP + PLOT + BOTTOM;
  const label = `${chart.title}: ${chart.yLabel} against ${chart.xLabel} of ${chart.series.map((s) => s.name).join(' and ')}`;
  const scale = scaleOf(chart);
  const marks = [...chart.series]
    .reverse()
    .map((s) => seriesMarks(s, scale))
    .join('');
  return `<svg class="chart curve ${kind}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(label)}">${frame(chart, scale)}${reference(chart, scale)}${marks}</svg>`;
}

export interface ImportanceBar {
  feature: string;
  mean: number;
  std: number;
  tip: string;
}

const NAME_WIDTH = 170;
const BAR_SPACE = 300;
const VALUE_WIDTH = 110;
const ROW = 20;
const NAME_CHARS = 26;

/**
 * Mean drop of the metric as a bar from zero, ± one standard deviation over the repeats as a
 * whisker. A negative mean (permuting helped: the feature is noise) draws left of zero.
 */
export function importanceSvg(bars: ImportanceBar[], metric: string): string {
  const lo = Math.min(0, ...bars.map((b) => b.mean - b.std));
  const hi = Math.max(0, ...bars.map((b) => b.mean + b.std));
  const span = hi - lo || 1;
  const x = (v: number) => r2(NAME_WIDTH + ((v - lo) / span) * BAR_SPACE);
  const rows = bars
    .map((b, i) => {
      const y = i * ROW;
      const shown = b.feature.length > NAME_CHARS ? `${b.feature.slice(0, NAME_CHARS - 1)}…` : b.feature;
      const left = Math.min(x(0), x(b.mean));
      const w = Math.max(1, Math.abs(x(b.mean) - x(0)));
      const whisker =
        b.std > 0
          ? `<line class="whisker" x1="${x(b.mean - b.std)}" x2="${x(b.mean + b.std)}" y1="${y + ROW / 2}" y2="${y + ROW / 2}"/>` +
            `<line class="whisker" x1="${x(b.mean - b.std)}" x2="${x(b.mean - b.std)}" y1="${y + 5}" y2="${y + ROW - 5}"/><line class="whisker" x1="${x(b.mean + b.std)}" x2="${x(b.mean + b.std)}" y1="${y + 5}" y2="${y + ROW - 5}"/>`
          : '';
      return (
        `<g class="importance" data-feature="${esc(b.feature)}"><title>${esc(b.tip)}</title>` +
        `<text class="label" x="${NAME_WIDTH - 6}" y="${y + ROW / 2 + 4}" text-anchor="end">${esc(shown)}</text>` +
        `<rect x="${left}" y="${y + 4}" width="${r2(w)}" height="${ROW - 8}" fill="${b.mean >= 0 ? '#1f77b4' : '#9aa5b1'}"/>${whisker}` +
        `<text x="${NAME_WIDTH + BAR_SPACE + 8}" y="${y + ROW / 2 + 4}">${esc(`${formatNumber(Number(b.mean.toPrecision(3)))} ± ${formatNumber(Number(b.std.toPrecision(2)))}`)}</text></g>`
      );
    })
    .join('');
  const plotHeight = bars.length * ROW;
  const zero = `<line class="axis" x1="${x(0)}" x2="${x(0)}" y1="0" y2="${plotHeight}"/><text x="${x(0)}" y="${plotHeight + 12}" text-anchor="middle">0</text>`;
  const end = (v: number, anchor: string) => `<text x="${x(v)}" y="${plotHeight + 12}" text-anchor="${anchor}">${esc(formatNumber(Number(v.toPrecision(2))))}</text>`;
  // Zero is labelled at its line; an end near it would print over it.
  const apart = (v: number) => Math.abs(x(v) - x(0)) >= 36;
  const ends = (lo < 0 && apart(lo) ? end(lo, 'start') : '') + (hi > 0 && apart(hi) ? end(hi, 'end') : '');
  const width = NAME_WIDTH + BAR_SPACE + VALUE_WIDTH;
  const height = plotHeight + 16;
  return `<svg class="chart importance-bars" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(`permutation importance: drop in ${metric} per feature`)}">${rows}${ends}${zero}</svg>`;
}
