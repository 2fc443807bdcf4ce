import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import * as protobuf from 'protobufjs';
import { maskedCrc32c } from '../../components/example-gen/formats/crc32c';
import { REPO_ROOT } from './repo-root';

/** A feature as a test writes it; exactly one list is given (an empty one is an empty list of that kind). */
export type TestFeature = { int64: Array<number | bigint> } | { float: number[] } | { bytes: Array<string | Uint8Array> };
export type TestExample = Record<string, TestFeature>;

const PROTO_ROOT = path.join(REPO_ROOT, 'components/example-gen/formats/proto');

let exampleType: protobuf.Type | undefined;

/** tf.Example through protobufjs and the vendored .proto: an encoder independent of the product's. */
export function exampleMessageType(): protobuf.Type {
  if (!exampleType) {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => path.join(PROTO_ROOT, target);
    root.loadSync('tensorflow/core/example/example.proto');
    exampleType = root.lookupType('tensorflow.Example');
  }
  return exampleType;
}

function featureObject(feature: TestFeature): Record<string, unknown> {
  if ('int64' in feature) return { int64List: { value: feature.int64.map((v) => String(v)) } };
  if ('float' in feature) return { floatList: { value: feature.float } };
  return { bytesList: { value: feature.bytes.map((v) => (typeof v === 'string' ? Buffer.from(v, 'utf8') : v)) } };
}

export function encodeTestExample(example: TestExample): Uint8Array {
  const type = exampleMessageType();
  const feature = Object.fromEntries(Object.entries(example).map(([k, f]) => [k, featureObject(f)]));
  return type.encode(type.fromObject({ features: { feature } })).finish();
}

/** TFRecord framing around each payload, written by hand from the format's definition. */
export function frameRecords(payloads: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const data of payloads) {
    const header = Buffer.alloc(12);
    header.writeBigUInt64LE(BigInt(data.length), 0);
    header.writeUInt32LE(maskedCrc32c(header.subarray(0, 8)), 8);
    const footer = Buffer.alloc(4);
    footer.writeUInt32LE(maskedCrc32c(data), 0);
    parts.push(header, Buffer.from(data), footer);
  }
  return Buffer.concat(parts);
}

/** Writes `examples` as a TFRecord file (whole-file GZIP when asked). */
export async function writeTfRecords(file: string, examples: readonly TestExample[], options: { gzip?: boolean } = {}): Promise<string> {
  const framed = frameRecords(examples.map(encodeTestExample));
  await writeFile(file, options.gzip ? gzipSync(framed) : framed);
  return file;
}
