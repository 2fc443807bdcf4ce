import { esc, formatNumber } from './format';

/**
 * Small charts as inline SVG strings: the reports must open with no network and no script, and a
 * handful of rectangles needs no chart library. Every mark carries a `<title>`, which browsers show
 * as a tooltip, so exact figures are a hover away without cluttering the sparkline.
 */

/** Facets Overview's blue and orange first, so train and eval look as they do there. */
const SPLIT_COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

export function splitColor(index: number): string {
  return SPLIT_COLORS[index % SPLIT_COLORS.length]!;
}

export interface Bucket {
  low: number;
  high: number;
  count: number;
}

interface Series {
  name: string;
  color: string;
}

interface Formats {
  /** How a value reads in a tooltip. */
  format?: (v: number) => string;
  /** How the axis' ends read, where the tooltip's form would be too wide (instants); `format` otherwise. */
  axisFormat?: (v: number) => string;
}

const WIDTH = 240;
const PLOT_HEIGHT = 56;
const AXIS_HEIGHT = 14;
/** A bucket narrower than this share of the axis (one value: min = max) is drawn this wide, so it shows. */
const MIN_BAR_SHARE = 0.015;

const n = (v: number) => Number(v.toFixed(2));

function svg(kind: string, feature: string, height: number, body: string, label: string): string {
  return `<svg class="chart ${kind}" data-feature="${esc(feature)}" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${esc(label)}">${body}</svg>`;
}

function axis(lo: number, hi: number, y: number, format: (v: number) => string): string {
  return (
    `<line class="axis" x1="0" x2="${WIDTH}" y1="${y}" y2="${y}"/>` +
    `<text class="tick" x="0" y="${y + 11}">${esc(format(lo))}</text>` +
    `<text class="tick" x="${WIDTH}" y="${y + 11}" text-anchor="end">${esc(format(hi))}</text>`
  );
}

/** The common axis of several splits' buckets (or values); a single value gets a unit-wide axis around it. */
function domainOf(values: number[]): [number, number] | null {
  if (values.length === 0) return null;
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return lo === hi ? [lo - 0.5, hi + 0.5] : [lo, hi];
}

/**
 * Equal-width histograms of several splits overlaid on one axis. Bar heights are densities (share of
 * the split's values per unit of the axis), so a split with 3× the rows, or buckets of another width
 * (each split's buckets span its own min..max), still draws a comparable shape.
 */
export function histogramSvg(opts: { feature: string; series: Array<Series & { buckets: Bucket[] }> } & Formats): string {
  const format = opts.format ?? formatNumber;
  const drawn = opts.series.filter((s) => s.buckets.some((b) => b.count > 0));
  const domain = domainOf(drawn.flatMap((s) => s.buckets.flatMap((b) => [b.low, b.high])));
  if (!domain) return svg('hist-standard empty', opts.feature, PLOT_HEIGHT, `<text class="tick" x="0" y="30">no finite values</text>`, `${opts.feature}: no finite values`);
  const [lo, hi] = domain;
  const span = hi - lo;
  const minWidth = span * MIN_BAR_SHARE;
  const bars = drawn.map((s) => {
    const total = s.buckets.reduce((sum, b) => sum + b.count, 0);
    return s.buckets.map((b) => {
      const width = Math.max(b.high - b.low, minWidth);
      const left = b.high - b.low < minWidth ? (b.low + b.high) / 2 - minWidth / 2 : b.low;
      return { s, b, left, width, share: b.count / total, density: b.count / total / width };
    });
  });
  const top = Math.max(...bars.flat().map((r) => r.density));
  const x = (v: number) => n(((v - lo) / span) * WIDTH);
  const marks = bars
    .flat()
    .filter((r) => r.b.count > 0)
    .map((r) => {
      const h = Math.max(1, (r.density / top) * (PLOT_HEIGHT - 2));
      const tip = `${r.s.name}: ${format(r.b.low)} – ${format(r.b.high)}: ${formatNumber(r.b.count)} (${(100 * r.share).toFixed(1)}%)`;
      return `<rect x="${x(r.left)}" y="${n(PLOT_HEIGHT - h)}" width="${Math.max(1, n(x(r.left + r.width) - x(r.left)))}" height="${n(h)}" fill="${r.s.color}" fill-opacity="0.55"><title>${esc(tip)}</title></rect>`;
    })
    .join('');
  const label = `${opts.feature}: equal-width histogram of ${drawn.map((s) => s.name).join(' and ')}`;
  return svg('hist-standard', opts.feature, PLOT_HEIGHT + AXIS_HEIGHT, marks + axis(lo, hi, PLOT_HEIGHT, opts.axisFormat ?? format), label);
}

const STRIP_ROW = 16;

/**
 * Each split's quantiles (the edges of its equal-mass QUANTILES histogram) as ticks on one row per
 * split, over one shared axis, with the median as a dot: where the mass sits, split against split,
 * which an equal-width histogram hides when a few far values stretch its axis.
 */
export function quantileStripSvg(opts: {
  feature: string;
  series: Array<Series & { edges: number[]; median: number | null }>;
} & Formats): string {
  const format = opts.format ?? formatNumber;
  const drawn = opts.series.filter((s) => s.edges.length > 0);
  const domain = domainOf(drawn.flatMap((s) => s.edges));
  if (!domain) return svg('hist-quantiles empty', opts.feature, PLOT_HEIGHT, `<text class="tick" x="0" y="30">no finite values</text>`, `${opts.feature}: no finite values`);
  const [lo, hi] = domain;
  const x = (v: number) => n(4 + ((v - lo) / (hi - lo)) * (WIDTH - 8));
  const rows = drawn
    .map((s, i) => {
      const y = 6 + i * STRIP_ROW;
      const first = s.edges[0]!;
      const last = s.edges[s.edges.length - 1]!;
      const ticks = s.edges
        .map((e, k) => `<line x1="${x(e)}" x2="${x(e)}" y1="${y}" y2="${y + 10}" stroke="${s.color}"><title>${esc(`${s.name}: quantile ${k}/${s.edges.length - 1} = ${format(e)}`)}</title></line>`)
        .join('');
      const median = s.median === null ? '' : `<circle cx="${x(s.median)}" cy="${y + 5}" r="3.5" fill="${s.color}"><title>${esc(`${s.name}: median ${format(s.median)}`)}</title></circle>`;
      return `<line x1="${x(first)}" x2="${x(last)}" y1="${y + 5}" y2="${y + 5}" stroke="${s.color}" stroke-opacity="0.5"/>${ticks}${median}`;
    })
    .join('');
  const plot = Math.max(PLOT_HEIGHT, 6 + drawn.length * STRIP_ROW);
  const label = `${opts.feature}: quantiles of ${drawn.map((s) => s.name).join(' and ')}`;
  return svg('hist-quantiles', opts.feature, plot + AXIS_HEIGHT, rows + axis(lo, hi, plot, opts.axisFormat ?? format), label);
}

const LABEL_WIDTH = 96;
const BAR_HEIGHT = 5;
const LABEL_CHARS = 16;

/**
 * The most frequent values as grouped horizontal bars, one bar per split, as shares of that split's
 * values: a value found in one split only shows as a lone bar.
 */
export function topValuesSvg(opts: { feature: string; values: string[]; series: Array<Series & { shares: number[]; counts: number[] }> }): string {
  if (opts.values.length === 0) return svg('top-values empty', opts.feature, 20, `<text class="tick" x="0" y="14">no values</text>`, `${opts.feature}: no values`);
  const rowHeight = opts.series.length * BAR_HEIGHT + 5;
  const top = Math.max(...opts.series.flatMap((s) => s.shares));
  const barSpace = WIDTH - LABEL_WIDTH - 4;
  const rows = opts.values
    .map((value, i) => {
      const y = i * rowHeight;
      const shown = value.length > LABEL_CHARS ? `${value.slice(0, LABEL_CHARS - 1)}…` : value;
      const bars = opts.series
        .map((s, k) => {
          const w = top > 0 ? (s.shares[i]! / top) * barSpace : 0;
          const tip = `${s.name}: ${value}: ${formatNumber(s.counts[i]!)} (${(100 * s.shares[i]!).toFixed(1)}%)`;
          return `<rect x="${LABEL_WIDTH + 4}" y="${y + 2 + k * BAR_HEIGHT}" width="${n(Math.max(w, s.counts[i]! > 0 ? 1 : 0))}" height="${BAR_HEIGHT - 1}" fill="${s.color}"><title>${esc(tip)}</title></rect>`;
        })
        .join('');
      return `<text class="label" x="${LABEL_WIDTH}" y="${y + rowHeight / 2 + 3.5}" text-anchor="end">${esc(shown)}<title>${esc(value)}</title></text>${bars}`;
    })
    .join('');
  const label = `${opts.feature}: top values of ${opts.series.map((s) => s.name).join(' and ')}`;
  return svg('top-values', opts.feature, opts.values.length * rowHeight, rows, label);
}
