/**
 * TFRecord framing, streamed: each record is `uint64 length (LE) | uint32 masked_crc32c(length bytes) |
 * data | uint32 masked_crc32c(data)`; a GZIP file is the whole record stream gzipped. Both CRCs are
 * checked. The file is read in chunks of a megabyte and the records of each chunk are handed on
 * together, as views into it: a record crossing a chunk's end is the only one copied.
 */
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { UserInputError } from '../../../dsl/executor';
import { maskedCrc32c } from './crc32c';

/** The whole records that arrived in one chunk of the file. */
export interface FrameBatch {
  /** Record k's data is `bytes[dataStart[k], dataEnd[k])`. */
  bytes: Buffer;
  count: number;
  dataStart: Int32Array;
  dataEnd: Int32Array;
  /** Byte offset of record k's length field in the file (in the decompressed stream of a GZIP file). */
  offsets: Float64Array;
  /** 0-based position in its file of the batch's first record. */
  firstIndex: number;
}

export interface TfRecordFrame {
  /** 0-based position of the record in its file. */
  index: number;
  /** Byte offset of the record's length field (in the decompressed stream of a GZIP file). */
  offset: number;
  data: Buffer;
}

const HEADER_BYTES = 12;
const FOOTER_BYTES = 4;
/** Large enough that the per-chunk work (an await, a batch) is spread over thousands of records. */
const CHUNK_BYTES = 1 << 20;
/** Beyond what one Buffer holds; a length this large is corruption that the CRC happened to miss. */
const MAX_RECORD_BYTES = 2 ** 31 - 1;

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

/**
 * Bytes of the stream not yet framed: the tail of the last chunk, then the chunks that arrived after
 * it. Only a record that starts in one chunk and ends in another is copied out (`take`), once.
 */
class PendingBytes {
  private parts: Buffer[] = [];
  length = 0;

  get partCount(): number {
    return this.parts.length;
  }

  push(chunk: Buffer): void {
    this.parts.push(chunk);
    this.length += chunk.length;
  }

  /** The pending bytes, when they are one part. */
  only(): Buffer {
    return this.parts[0]!;
  }

  /** A copy of the first `n` pending bytes (n ≤ length), which stay pending. */
  peek(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    for (const part of this.parts) {
      if (filled === n) break;
      filled += part.copy(out, filled, 0, Math.min(part.length, n - filled));
    }
    return out;
  }

  /** The first `n` pending bytes (n ≤ length), copied out and no longer pending. */
  take(n: number): Buffer {
    const out = this.peek(n);
    let left = n;
    while (left > 0) {
      const part = this.parts[0]!;
      if (part.length > left) {
        this.parts[0] = part.subarray(left);
        break;
      }
      left -= part.length;
      this.parts.shift();
    }
    this.length -= n;
    return out;
  }

  /** Drops the first `n` bytes of the only part. */
  consume(n: number): void {
    const rest = this.only().subarray(n);
    this.parts = rest.length ? [rest] : [];
    this.length = rest.length;
  }
}

/** A little-endian uint32 read in place: Buffer's own reader checks its argument each call, a cost per record. */
function uint32At(bytes: Buffer, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

/** A batch for `bytes`, reusing the arrays of the one before it when they are large enough. */
function reuse(previous: FrameBatch | undefined, capacity: number, bytes: Buffer, firstIndex: number): FrameBatch {
  const fits = previous !== undefined && previous.dataStart.length >= capacity;
  return {
    bytes,
    count: 0,
    dataStart: fits ? previous.dataStart : new Int32Array(capacity),
    dataEnd: fits ? previous.dataEnd : new Int32Array(capacity),
    offsets: fits ? previous.offsets : new Float64Array(capacity),
    firstIndex,
  };
}

/**
 * The file's records, a chunk at a time; a batch is valid until the next is asked for (its arrays are
 * reused).
 */
export async function* readTfRecordFrameBatches(
  file: string,
  options: { gzip: boolean; signal: AbortSignal; counter?: ReadCounter },
): AsyncGenerator<FrameBatch> {
  const { gzip, signal, counter } = options;
  const raw = createReadStream(file, { highWaterMark: CHUNK_BYTES, signal });
  const stream = gzip ? raw.pipe(createGunzip({ chunkSize: CHUNK_BYTES })) : raw;
  if (gzip) raw.on('error', (err) => stream.destroy(err));
  const at = (offset: number) => `${file}: ${describeOffset(offset, gzip)}`;
  const pending = new PendingBytes();
  /** Offset of the first pending byte: the next record's length field. */
  let offset = 0;
  let index = 0;
  /** The next record's data length, once its header is checked. */
  let length = -1;
  let previous: FrameBatch | undefined;

  /** Checks the header at `pos` of `bytes` (the next record's) and sets `length` from it. */
  const readHeader = (bytes: Buffer, pos: number) => {
    if (maskedCrc32c(bytes, pos, pos + 8) !== uint32At(bytes, pos + 8)) {
      throw new UserInputError(`${at(offset)}: bad length CRC in TFRecord record ${index} (its CRC at ${describeOffset(offset + 8, gzip)} does not match the length bytes); the file is corrupt or not a TFRecord file`);
    }
    const low = uint32At(bytes, pos);
    if (uint32At(bytes, pos + 4) !== 0 || low > MAX_RECORD_BYTES) {
      throw new UserInputError(`${at(offset)}: TFRecord record ${index} declares ${bytes.readBigUInt64LE(pos)} bytes, more than the ${MAX_RECORD_BYTES} a record may hold`);
    }
    length = low;
  };

  /** Frames the whole records at the start of `bytes`; returns the batch and how many bytes they took. */
  const frameWhole = (bytes: Buffer): [FrameBatch, number] => {
    const batch = reuse(previous, Math.ceil(bytes.length / (HEADER_BYTES + FOOTER_BYTES)), bytes, index);
    previous = batch;
    let pos = 0;
    for (;;) {
      if (length < 0) {
        if (bytes.length - pos < HEADER_BYTES) break;
        readHeader(bytes, pos);
      }
      const recordBytes = HEADER_BYTES + length + FOOTER_BYTES;
      if (bytes.length - pos < recordBytes) break;
      const dataStart = pos + HEADER_BYTES;
      const dataEnd = dataStart + length;
      if (maskedCrc32c(bytes, dataStart, dataEnd) !== uint32At(bytes, dataEnd)) {
        const dataAt = offset + HEADER_BYTES;
        throw new UserInputError(`${at(offset)}: bad data CRC in TFRecord record ${index} (its ${length} data bytes at ${describeOffset(dataAt, gzip)} do not match the CRC at ${describeOffset(dataAt + length, gzip)})`);
      }
      batch.dataStart[batch.count] = dataStart;
      batch.dataEnd[batch.count] = dataEnd;
      batch.offsets[batch.count] = offset;
      batch.count++;
      pos += recordBytes;
      offset += recordBytes;
      index++;
      length = -1;
    }
    return [batch, pos];
  };

  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      pending.push(chunk);
      if (counter) counter.bytes = raw.bytesRead;
      // A record started in an earlier chunk: copied out alone, then this chunk is framed in place.
      while (pending.partCount > 1) {
        if (length < 0) {
          if (pending.length < HEADER_BYTES) break;
          readHeader(pending.peek(HEADER_BYTES), 0);
        }
        const recordBytes = HEADER_BYTES + length + FOOTER_BYTES;
        if (pending.length < recordBytes) break;
        yield frameWhole(pending.take(recordBytes))[0];
      }
      if (pending.partCount !== 1) continue;
      const [batch, framed] = frameWhole(pending.only());
      pending.consume(framed);
      if (batch.count > 0) yield batch;
    }
  } catch (err) {
    if (err instanceof UserInputError || signal.aborted) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (gzip && typeof code === 'string' && code.startsWith('Z_')) {
      throw new UserInputError(`${file}: not a valid GZIP file (${(err as Error).message}) after ${describeOffset(offset + pending.length, gzip)}`);
    }
    throw err;
  } finally {
    // A reader that stops early (a sample) leaves the file open otherwise, when it is piped through gunzip.
    raw.destroy();
  }
  if (length >= 0) {
    throw new UserInputError(`${at(offset)}: truncated TFRecord record ${index}: it declares ${length} data bytes and a 4-byte CRC, but the file ends ${pending.length - HEADER_BYTES} byte(s) after its header`);
  }
  if (pending.length > 0) {
    throw new UserInputError(`${at(offset)}: truncated TFRecord length: the file ends ${pending.length} byte(s) into record ${index}'s 12-byte header`);
  }
}
