import * as grpc from '@grpc/grpc-js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadInferenceService } from '../../serving/grpc/grpc-proto';

export interface CannedHttpResponse {
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * The transport ceiling: node:http reading each request body in full and answering with the bytes the
 * model server would send for it, with no parsing or inference in between.
 */
export async function startBareHttp(responses: Map<string, CannedHttpResponse>): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const canned = responses.get(req.url ?? '');
    req.on('data', () => undefined);
    req.on('end', () => {
      if (!canned) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { ...canned.headers, 'Content-Length': canned.body.length });
      res.end(canned.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The same ceiling for gRPC: grpc-js decoding each ModelInferRequest and sending a canned response. */
export async function startBareGrpc(response: object): Promise<{ address: string; close(): Promise<void> }> {
  const server = new grpc.Server();
  server.addService(loadInferenceService().service, {
    ModelInfer: (_call: grpc.ServerUnaryCall<object, object>, callback: grpc.sendUnaryData<object>) => callback(null, response),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { address: `127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())) };
}
