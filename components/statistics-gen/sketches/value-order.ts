/**
 * The order values are listed in when their counts tie, and the order sketches keep their values in:
 * numbers ascending (text values and NaN/±inf after them), then text by Unicode code point, which is
 * DuckDB's byte order of UTF-8 text, so that summaries cut in SQL and in TypeScript keep the same values.
 */
export function compareValues(textA: string, xA: number | null, textB: string, xB: number | null): number {
  if (xA !== xB) {
    if (xA === null) return 1;
    if (xB === null) return -1;
    return xA - xB;
  }
  return compareCodePoints(textA, textB);
}

/** UTF-16 code units order surrogates (U+D800-DFFF) below U+E000-FFFF; code points order them above. */
function codePointKey(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  return unit >= 0xe000 ? unit - 0x800 : unit;
}

export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca !== cb) return codePointKey(ca) - codePointKey(cb);
  }
  return a.length - b.length;
}

/** SQL ORDER BY terms with the same order, for a relation with columns `x` (DOUBLE) and `txt` (VARCHAR). */
export const VALUE_ORDER_SQL = 'x ASC NULLS LAST, txt ASC';
