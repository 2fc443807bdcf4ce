/** How figures appear in anomaly descriptions: what a person reads to decide what to fix. */

/** `part` as a percentage of `whole` to 3 significant digits (`12.2%`, `0.29%`, `100%`). */
export function percent(part: number, whole: number): string {
  if (whole === 0) return '0%';
  return `${Number(((100 * part) / whole).toPrecision(3))}%`;
}

/** A number as a person writes it: whole numbers with thousands separators, others to 6 significant digits. */
export function figure(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString('en-US') : String(Number(n.toPrecision(6)));
}

const LISTED_DOMAIN_VALUES = 12;

/** A domain as `[Biscoe, Dream, Torgersen]`, cut after a dozen values with how many more it has. */
export function domainList(values: readonly string[]): string {
  const shown = values.slice(0, LISTED_DOMAIN_VALUES);
  const more = values.length - shown.length;
  return `[${shown.join(', ')}${more > 0 ? `, … ${more} more` : ''}]`;
}

/** Values quoted and listed, cut after `max` with how many more there are. */
export function quotedList(items: readonly string[], max: number): string {
  const shown = items.slice(0, max);
  const more = items.length - shown.length;
  return `${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}
