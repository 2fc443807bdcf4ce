import { existsSync } from 'node:fs';
import path from 'node:path';
import * as protobuf from 'protobufjs';

/** tensorflow_metadata's schema.proto, vendored beside statistics.proto (which shares its imports) in statistics-gen/proto. */
const SCHEMA_PROTO = 'tensorflow_metadata/proto/v0/schema.proto';

/** tsc does not copy .proto files to dist/; a compiled build finds them at the same place under the package root. */
function protoRoot(): string {
  const candidates = [path.resolve(__dirname, '..', 'statistics-gen', 'proto'), path.resolve(__dirname, '..', '..', '..', 'components', 'statistics-gen', 'proto')];
  const found = candidates.find((dir) => existsSync(path.join(dir, SCHEMA_PROTO)));
  if (!found) throw new Error(`cannot find ${SCHEMA_PROTO} in ${candidates.join(' or ')}`);
  return found;
}

let schemaType: protobuf.Type | undefined;

/** `tensorflow.metadata.v0.Schema`, what TFDV's schema.pbtxt holds (google/protobuf/any.proto is protobufjs's own). */
export function tfdvSchemaType(): protobuf.Type {
  if (!schemaType) {
    const dir = protoRoot();
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => path.join(dir, target);
    root.loadSync(SCHEMA_PROTO, { keepCase: true });
    schemaType = root.lookupType('tensorflow.metadata.v0.Schema');
  }
  return schemaType;
}
