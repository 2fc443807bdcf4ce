/**
 * TFRecord framing, streamed: each record is `uint64 length (LE) | uint32 masked_crc32c(length bytes) |
 * data | uint32 masked_crc32c(data)`; a GZIP file is the whole record stream gzipped. Both CRCs are
 * checked. The file is read in small chunks and only one record is held at a time.
 */
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { UserInputError } from '../../../dsl/executor';
import { maskedCrc32c } from './crc32c';

export interface TfRecordFrame {
  /** 0-based position of the record in its file. */
  index: number;
  /** Byte offset of the record's length field (in the decompressed stream of a GZIP file). */
  offset: number;
  data: Buffer;
}

const HEADER_BYTES = 12;
const FOOTER_BYTES = 4;
const CHUNK_BYTES = 1 << 16;
/** Beyond what one Buffer holds; a length this large is corruption that the CRC happened to miss. */
const MAX_RECORD_BYTES = 2 ** 31 - 1;

/** Bytes arrived so far, consumed from the front without copying more than one record. */
class ByteQueue {
  private chunks: Buffer[] = [];
  private head = 0;
  available = 0;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.available += chunk.length;
  }

  take(n: number): Buffer {
    this.available -= n;
    const first = this.chunks[0]!;
    if (first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === first.length) {
        this.chunks.shift();
        this.head = 0;
      }
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const copied = chunk.copy(out, filled, this.head, Math.min(chunk.length, this.head + n - filled));
      filled += copied;
      this.head += copied;
      if (this.head === chunk.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    return out;
  }
}

export function isGzipPath(file: string): boolean {
  return file.toLowerCase().endsWith('.gz');
}

/** Where a byte is, in words: a GZIP file's offsets count decompressed bytes. */
export function describeOffset(offset: number, gzip: boolean): string {
  return gzip ? `byte ${offset} of the decompressed data` : `byte ${offset}`;
}

/** Counts the file's bytes (compressed ones for GZIP) read so far, for progress. */
export interface ReadCounter {
  bytes: number;
}

export async function* readTfRecordFrames(
  file: string,
  options: { gzip: boolean; signal: AbortSignal; counter?: ReadCounter },
): AsyncGenerator<TfRecordFrame> {
  const { gzip, signal, counter } = options;
  const raw = createReadStream(file, { highWaterMark: CHUNK_BYTES, signal });
  const stream = gzip ? raw.pipe(createGunzip({ chunkSize: CHUNK_BYTES })) : raw;
  if (gzip) raw.on('error', (err) => stream.destroy(err));
  const queue = new ByteQueue();
  const at = (offset: number) => `${file}: ${describeOffset(offset, gzip)}`;
  let offset = 0;
  let index = 0;
  let header: { length: number } | undefined;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      queue.push(chunk);
      if (counter) counter.bytes = raw.bytesRead;
      for (;;) {
        if (!header) {
          if (queue.available < HEADER_BYTES) break;
          const bytes = queue.take(HEADER_BYTES);
          const lengthBytes = bytes.subarray(0, 8);
          if (maskedCrc32c(lengthBytes) !== bytes.readUInt32LE(8)) {
            throw new UserInputError(`${at(offset)}: bad length CRC in TFRecord record ${index} (its CRC at ${describeOffset(offset + 8, gzip)} does not match the length bytes); the file is corrupt or not a TFRecord file`);
          }
          const length = bytes.readBigUInt64LE(0);
          if (length > BigInt(MAX_RECORD_BYTES)) {
            throw new UserInputError(`${at(offset)}: TFRecord record ${index} declares ${length} bytes, more than the ${MAX_RECORD_BYTES} a record may hold`);
          }
          header = { length: Number(length) };
        }
        if (queue.available < header.length + FOOTER_BYTES) break;
        const data = queue.take(header.length);
        const crc = queue.take(FOOTER_BYTES).readUInt32LE(0);
        const dataAt = offset + HEADER_BYTES;
        if (maskedCrc32c(data) !== crc) {
          throw new UserInputError(`${at(offset)}: bad data CRC in TFRecord record ${index} (its ${header.length} data bytes at ${describeOffset(dataAt, gzip)} do not match the CRC at ${describeOffset(dataAt + header.length, gzip)})`);
        }
        yield { index, offset, data };
        offset = dataAt + header.length + FOOTER_BYTES;
        index++;
        header = undefined;
      }
    }
  } catch (err) {
    if (err instanceof UserInputError || signal.aborted) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (gzip && typeof code === 'string' && code.startsWith('Z_')) {
      throw new UserInputError(`${file}: not a valid GZIP file (${(err as Error).message}) after ${describeOffset(offset + queue.available, gzip)}`);
    }
    throw err;
  }
  if (header) {
    throw new UserInputError(`${at(offset)}: truncated TFRecord record ${index}: it declares ${header.length} data bytes and a 4-byte CRC, but the file ends ${queue.available} byte(s) after its header`);
  }
  if (queue.available > 0) {
    throw new UserInputError(`${at(offset)}: truncated TFRecord length: the file ends ${queue.available} byte(s) into record ${index}'s 12-byte header`);
  }
}
