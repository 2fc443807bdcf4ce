import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';

/** The lines of a text file (gunzipping a `.gz`), streamed: never the whole file in memory. */
export function linesOf(file: string, signal: AbortSignal): AsyncIterable<string> {
  const raw = createReadStream(file, { signal });
  return createInterface({ input: file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw, crlfDelay: Infinity });
}

export async function write(out: WriteStream, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

/** Copies `file`'s lines into `into`, uncompressed, but for the lines numbered (1-based) in `skip`. */
export async function copyWithoutLines(file: string, into: string, skip: ReadonlySet<number>, signal: AbortSignal): Promise<void> {
  const out = createWriteStream(into);
  try {
    let line = 0;
    for await (const text of linesOf(file, signal)) {
      if (!skip.has(++line)) await write(out, text + '\n');
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
}
