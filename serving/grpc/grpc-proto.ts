import { existsSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const GRPC_SERVICE_PROTO = 'grpc_service.proto';

/**
 * The .proto files sit next to this module in the source tree; tsc does not copy them to dist/, so a
 * compiled build finds them at the same relative place under the package root.
 */
export function protoDir(): string {
  const candidates = [__dirname, path.resolve(__dirname, '..', '..', '..', 'serving', 'grpc')];
  const found = candidates.find((dir) => existsSync(path.join(dir, GRPC_SERVICE_PROTO)));
  if (!found) throw new Error(`cannot find ${GRPC_SERVICE_PROTO} in ${candidates.join(' or ')}`);
  return found;
}

/** Loader options shared by the server and the clients in tests and benches: Triton's field names as-is. */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** `inference.GRPCInferenceService` as loaded by @grpc/proto-loader. */
export function loadInferenceService(): grpc.ServiceClientConstructor {
  const dir = protoDir();
  const definition = protoLoader.loadSync(path.join(dir, GRPC_SERVICE_PROTO), { ...PROTO_LOADER_OPTIONS, includeDirs: [dir] });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    inference: { GRPCInferenceService: grpc.ServiceClientConstructor };
  };
  return loaded.inference.GRPCInferenceService;
}
