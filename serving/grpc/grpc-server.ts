import * as grpc from '@grpc/grpc-js';
import { ClientDisconnect } from '../client-disconnect';
import { asServingError, GRPC_STATUS, ServingError } from '../errors';
import type { InferenceService } from '../inference-service';
import type { VersionSelector } from '../model-repository';
import { cudaSharedMemory } from '../shared-memory';
import { parseVersion } from '../version-policy';
import type {
  ModelInferRequestMessage,
  ModelRequestMessage,
  RepositoryIndexRequestMessage,
  RepositoryModelRequestMessage,
  SystemSharedMemoryNameMessage,
  SystemSharedMemoryRegisterMessage,
} from './grpc-messages';
import { loadInferenceService } from './grpc-proto';
import { InferStream } from './grpc-stream';
import { decodeGrpcRequest, encodeGrpcResponse } from './grpc-tensors';

export interface GrpcFrontEndOptions {
  host: string;
  port: number;
  maxRequestBytes: number;
}

export interface GrpcFrontEnd {
  readonly port: number;
  /** Refuses new calls; resolves when running calls have finished. */
  close(): Promise<void>;
  destroy(): void;
}

function selectorOf(version: string): VersionSelector {
  return version === '' ? {} : { version: parseVersion(version) };
}

type Unary<Req> = (call: grpc.ServerUnaryCall<Req, object>, callback: grpc.sendUnaryData<object>) => void;

/** A unary handler whose thrown or rejected ServingError becomes the matching gRPC status. */
function unary<Req>(fn: (request: Req, call: grpc.ServerUnaryCall<Req, object>) => object | Promise<object>): Unary<Req> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request, call))
      .then(
        (reply) => callback(null, reply),
        (err: unknown) => {
          const error = asServingError(err);
          callback({ code: GRPC_STATUS[error.kind], details: error.message });
        },
      );
  };
}

/** `inference.GRPCInferenceService` on @grpc/grpc-js. */
export async function startGrpcFrontEnd(service: InferenceService, options: GrpcFrontEndOptions): Promise<GrpcFrontEnd> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': options.maxRequestBytes,
    'grpc.max_send_message_length': -1,
    // Channelz bookkeeping runs on every call (about 7% of the server's time per small-model call);
    // nothing here serves the channelz service that would read it.
    'grpc.enable_channelz': 0,
  });
  const implementation: grpc.UntypedServiceImplementation = {
    ServerLive: unary(() => ({ live: service.live })),
    ServerReady: unary(() => ({ ready: service.ready })),
    ModelReady: unary<ModelRequestMessage>((req) => {
      try {
        return { ready: service.modelReady(req.name, selectorOf(req.version)) };
      } catch (err) {
        if (err instanceof ServingError && err.kind === 'not_found') return { ready: false };
        throw err;
      }
    }),
    ServerMetadata: unary(() => service.serverMetadata()),
    ModelMetadata: unary<ModelRequestMessage>((req) => service.modelMetadata(req.name, selectorOf(req.version))),
    ModelConfig: unary<ModelRequestMessage>((req) => ({ config: service.modelConfig(req.name, selectorOf(req.version)) })),
    ModelStatistics: unary<ModelRequestMessage>((req) =>
      service.modelStatistics(req.name === '' ? undefined : req.name, req.version === '' ? undefined : parseVersion(req.version)),
    ),
    RepositoryIndex: unary<RepositoryIndexRequestMessage>(async (req) => ({ models: await service.repository.index(req.ready) })),
    RepositoryModelLoad: unary<RepositoryModelRequestMessage>(async (req) => {
      await service.repository.loadModel(req.model_name, Object.keys(req.parameters));
      return {};
    }),
    RepositoryModelUnload: unary<RepositoryModelRequestMessage>(async (req) => {
      await service.repository.unloadModel(req.model_name);
      return {};
    }),
    ModelInfer: unary<ModelInferRequestMessage>((req, call) => {
      const disconnect = new ClientDisconnect();
      call.once('cancelled', () => disconnect.fire());
      return infer(req, disconnect);
    }),
    SystemSharedMemoryStatus: unary<SystemSharedMemoryNameMessage>((req) => ({
      regions: Object.fromEntries(service.sharedMemory.status(req.name === '' ? undefined : req.name).map((r) => [r.name, r])),
    })),
    SystemSharedMemoryRegister: unary<SystemSharedMemoryRegisterMessage>((req) => {
      service.sharedMemory.register(req.name, req.key, req.offset, req.byte_size);
      return {};
    }),
    SystemSharedMemoryUnregister: unary<SystemSharedMemoryNameMessage>((req) => {
      service.sharedMemory.unregister(req.name === '' ? undefined : req.name);
      return {};
    }),
    // As a Triton built without GPU support: no CUDA region can be registered, so there are none.
    CudaSharedMemoryStatus: unary<SystemSharedMemoryNameMessage>((req) => ({
      regions: Object.fromEntries(cudaSharedMemory.status(req.name === '' ? undefined : req.name).map((r) => [r.name, r])),
    })),
    CudaSharedMemoryRegister: unary(() => cudaSharedMemory.register()),
    CudaSharedMemoryUnregister: unary(() => ({})),
    ModelStreamInfer: (call: grpc.ServerDuplexStream<ModelInferRequestMessage, object>) => streamInfer(call),
  };

  async function infer(req: ModelInferRequestMessage, disconnect: ClientDisconnect): Promise<object> {
    const startedAt = performance.now();
    const selector = selectorOf(req.model_version);
    // Unknown models and versions answer NOT_FOUND whatever the tensors hold, as over REST.
    service.repository.resolve(req.model_name, selector);
    const { request, sharedMemoryOutputs } = decodeGrpcRequest(req, service.sharedMemory);
    const response = await service.infer(req.model_name, selector, request, { startedAt, disconnect });
    return encodeGrpcResponse(response, sharedMemoryOutputs, service.sharedMemory);
  }

  const streams = new Set<InferStream>();
  function streamInfer(call: grpc.ServerDuplexStream<ModelInferRequestMessage, object>): void {
    const stream = new InferStream(call, infer, () => streams.delete(stream));
    streams.add(stream);
  }

  server.addService(loadInferenceService().service, implementation);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${options.host}:${options.port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    );
  });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // Open streams would hold the shutdown until their clients end them: they end once answered.
        for (const s of streams) s.finish();
      }),
    destroy: () => server.forceShutdown(),
  };
}
