import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';

/** Characters after which a quote opens a quoted field (the delimiter is unknown when sniffing failed). */
const FIELD_STARTS = new Set([0x2c /* , */, 0x09 /* \t */, 0x3b /* ; */, 0x7c /* | */, 0x0a /* \n */]);
const NEWLINE = 0x0a;

/**
 * The line (1-based) where a quoted field opens that is never closed, read as RFC 4180 reads quotes (a
 * doubled quote inside a quoted field is one quote); undefined when every quoted field closes. DuckDB's
 * sniffer only says that it could not detect the dialect of such a file; this names the line. Streams the
 * file (gunzipping a `.gz`).
 */
export async function unterminatedQuoteLine(file: string, quote: string): Promise<number | undefined> {
  if (quote.length !== 1) return undefined;
  const q = quote.charCodeAt(0);
  let line = 1;
  let previous = NEWLINE;
  let inQuotes = false;
  let openedAt = 0;
  // A quote inside a quoted field either closes it or, doubled, stands for itself: decided by the next byte.
  let quoteSeen = false;
  const bytes = file.endsWith('.gz') ? createReadStream(file).pipe(createGunzip()) : createReadStream(file);
  for await (const chunk of bytes as AsyncIterable<Buffer>) {
    for (const byte of chunk) {
      if (inQuotes) {
        if (quoteSeen) {
          quoteSeen = false;
          if (byte !== q) inQuotes = false;
        } else if (byte === q) {
          quoteSeen = true;
        }
      } else if (byte === q && FIELD_STARTS.has(previous)) {
        inQuotes = true;
        openedAt = line;
      }
      if (byte === NEWLINE) line++;
      previous = byte;
    }
  }
  return inQuotes && !quoteSeen ? openedAt : undefined;
}
