/** Small text helpers shared by the `mlpipe runs` and `mlpipe lineage` formatters. */

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Milliseconds between two ISO times, or null when the end is not known yet. */
export function elapsedMs(startedAt: string, finishedAt: string | null): number | null {
  return finishedAt === null ? null : Date.parse(finishedAt) - Date.parse(startedAt);
}

/** `2024-05-01 12:34:56Z`: second precision reads better in a terminal than full ISO. */
export function formatTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;
}

export function shortHash(sha256: string): string {
  return `sha256:${sha256.slice(0, 12)}`;
}

/**
 * ` · span 3 v2` for an artifact made from a span of its input (Examples), with every span when a
 * range read several (`spans 3,4,5`); empty for artifacts without a span.
 */
export function spanSuffix(properties: Readonly<Record<string, string | number | boolean>>): string {
  const { span, version, spans } = properties;
  if (typeof span !== 'number') return '';
  const which = typeof spans === 'string' ? `spans ${spans} (newest ${span})` : `span ${span}`;
  return ` · ${which}${typeof version === 'number' ? ` version ${version}` : ''}`;
}
