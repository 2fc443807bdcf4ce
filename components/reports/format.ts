/**
 * Numbers and text as the reports print them. Fixed to en-US so a report reads the same whatever the
 * locale of the worker that wrote it.
 */

const INTEGER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const SIGNIFICANT = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 4 });

/** Special characters of HTML text and attribute values. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `–` for no value; whole numbers with separators; others to 4 significant digits (large ones to the unit). */
export function formatNumber(v: number | null | undefined): string {
  if (v === null || v === undefined) return '–';
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+∞' : '−∞';
  if (Number.isInteger(v) || Math.abs(v) >= 10_000) return INTEGER.format(v);
  return SIGNIFICANT.format(v);
}

/** A share in percent: `0%`, `<0.1%` for a small non-zero one, else one decimal. */
export function formatPercent(part: number, whole: number): string {
  if (whole <= 0 || part <= 0) return '0%';
  const p = (100 * part) / whole;
  if (p < 0.1) return '<0.1%';
  return `${p.toFixed(p >= 99.95 && part < whole ? 2 : 1).replace(/\.0+$/, '')}%`;
}

const MICROS_PER_DAY = 86_400_000_000;

/**
 * Temporal features' figures are microseconds since 1970-01-01 UTC: shown as the UTC date, with the
 * time to the second unless it is midnight (a mean's milliseconds only widen the table).
 */
export function formatInstant(micros: number | null): string {
  if (micros === null || !Number.isFinite(micros)) return '–';
  const iso = new Date(Math.round(micros / 1e6) * 1000).toISOString();
  return iso.slice(11, 19) === '00:00:00' ? iso.slice(0, 10) : `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

/** An axis end of instants: the date alone, the time too only when the axis spans less than two days. */
export function instantAxisFormat(lo: number, hi: number): (micros: number) => string {
  return hi - lo < 2 * MICROS_PER_DAY ? formatInstant : (micros) => formatInstant(micros).slice(0, 10);
}

const DURATIONS: Array<[number, string]> = [
  [MICROS_PER_DAY, 'd'],
  [3_600_000_000, 'h'],
  [60_000_000, 'min'],
  [1_000_000, 's'],
  [1000, 'ms'],
];

/** A spread of instants (a standard deviation in microseconds) in the largest unit that keeps it ≥ 1. */
export function formatDuration(micros: number | null): string {
  if (micros === null || !Number.isFinite(micros)) return '–';
  const [unit, name] = DURATIONS.find(([u]) => Math.abs(micros) >= u) ?? [1, 'µs'];
  return `${formatNumber(Number((micros / unit).toPrecision(3)))} ${name}`;
}
