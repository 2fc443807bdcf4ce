import { crc32, inflateRawSync } from 'node:zlib';
import { decompress as zstdDecompress } from 'fzstd';
import { uncompress as snappyUncompress } from 'snappyjs';

/**
 * The block codecs of Avro object container files (Avro 1.11 specification, "Required Codecs" and
 * "Optional Codecs"): each turns a block's stored bytes into its serialized records, or throws an
 * Error saying what is wrong with them (the caller names the file, block and byte).
 */
export type AvroCodec = (stored: Buffer) => Buffer;

/**
 * Snappy's densest encoding (a 3-byte copy of 64 bytes) expands its input about 21 times: a larger
 * length in a block's preamble is corruption, refused before it is allocated.
 */
const SNAPPY_MAX_EXPANSION = 22;
const CRC_BYTES = 4;

/** Avro's snappy: the compressed data, then the CRC32 of the uncompressed data, 4 bytes big-endian. */
function snappy(stored: Buffer): Buffer {
  if (stored.length < CRC_BYTES) throw new Error(`it holds ${stored.length} bytes, fewer than the 4-byte CRC32 that ends a snappy block`);
  const compressed = stored.subarray(0, stored.length - CRC_BYTES);
  const data = snappyUncompress(compressed, compressed.length * SNAPPY_MAX_EXPANSION);
  const expected = stored.readUInt32BE(stored.length - CRC_BYTES);
  const actual = crc32(data);
  if (actual !== expected) {
    throw new Error(`the CRC32 of its ${data.length} uncompressed bytes is ${hex(actual)}, the block stores ${hex(expected)}`);
  }
  return data;
}

function zstandard(stored: Buffer): Buffer {
  const data = zstdDecompress(stored);
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

const hex = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;

export const AVRO_CODECS: Readonly<Record<string, AvroCodec>> = {
  null: (stored) => stored,
  deflate: (stored) => inflateRawSync(stored),
  snappy,
  zstandard,
};
