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
 * Bytes of the stream not yet framed: the tail of the last chunk, plus the chunks that arrived while
 * a record longer than a chunk was incomplete (joined once it is whole, so a huge record is copied once).
 */
class PendingBytes {
  private parts: Buffer[] = [];
  length = 0;

  push(chunk: Buffer): void {
    this.parts.push(chunk);
    this.length += chunk.length;
  }

  /** All pending bytes as one buffer; they stay pending until `consume`. */
  joined(): Buffer {
    if (this.parts.length > 1) this.parts = [Buffer.concat(this.parts, this.length)];
    return this.parts[0] ?? Buffer.alloc(0);
  }

  consume(n: number): void {
    const rest = this.joined().subarray(n);
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
  /** Bytes the next record needs before it can be framed. */
  let needed = HEADER_BYTES;
  /** The next record's data length, once its header is checked. */
  let length = -1;
  let previous: FrameBatch | undefined;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      pending.push(chunk);
      if (counter) counter.bytes = raw.bytesRead;
      if (pending.length < needed) continue;
      const bytes = pending.joined();
      const batch = reuse(previous, Math.ceil(bytes.length / (HEADER_BYTES + FOOTER_BYTES)), bytes, index);
      previous = batch;
      let pos = 0;
      for (;;) {
        if (length < 0) {
          if (bytes.length - pos < HEADER_BYTES) {
            needed = HEADER_BYTES;
            break;
          }
          if (maskedCrc32c(bytes, pos, pos + 8) !== uint32At(bytes, pos + 8)) {
            throw new UserInputError(`${at(offset)}: bad length CRC in TFRecord record ${index} (its CRC at ${describeOffset(offset + 8, gzip)} does not match the length bytes); the file is corrupt or not a TFRecord file`);
          }
          const low = uint32At(bytes, pos);
          if (uint32At(bytes, pos + 4) !== 0 || low > MAX_RECORD_BYTES) {
            throw new UserInputError(`${at(offset)}: TFRecord record ${index} declares ${bytes.readBigUInt64LE(pos)} bytes, more than the ${MAX_RECORD_BYTES} a record may hold`);
          }
          length = low;
        }
        const recordBytes = HEADER_BYTES + length + FOOTER_BYTES;
        if (bytes.length - pos < recordBytes) {
          needed = recordBytes;
          break;
        }
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
      pending.consume(pos);
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
