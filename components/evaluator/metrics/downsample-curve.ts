import type { Curve } from './ranking';

/** Enough points for a chart to look like the full curve; a 1 M-row slice has up to 1 M. */
export const MAX_CURVE_POINTS = 200;

/**
 * At most `maxPoints` of the curve's points, spaced evenly along its length, the first and the last
 * kept. Even spacing by length rather than by index keeps the steep corner of a good classifier's ROC
 * curve, where few thresholds cover most of the way.
 */
export function downsampleCurve(curve: Curve, maxPoints = MAX_CURVE_POINTS): Curve {
  const { x, y } = curve;
  const m = x.length;
  if (m <= maxPoints) return curve;
  const along = new Float64Array(m);
  for (let i = 1; i < m; i++) along[i] = along[i - 1]! + Math.hypot(x[i]! - x[i - 1]!, y[i]! - y[i - 1]!);
  const length = along[m - 1]!;
  const kept: number[] = [0];
  let i = 0;
  for (let j = 1; j < maxPoints - 1; j++) {
    const target = (j * length) / (maxPoints - 1);
    while (i < m - 1 && along[i]! < target) i++;
    if (i !== kept[kept.length - 1] && i < m - 1) kept.push(i);
  }
  kept.push(m - 1);
  return { x: kept.map((k) => x[k]!), y: kept.map((k) => y[k]!) };
}
