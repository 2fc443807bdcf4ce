import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ClientDisconnect } from '../client-disconnect';
import { ServingError } from '../errors';
import type { InferenceService } from '../inference-service';
import { sendBody, sendError } from './http-io';
import { handleOip, type RouteContext } from './oip-routes';
import { handleTfServing } from './tfserving-routes';

/**
 * The request a connection is answering, so the connection closing drops it from the queue if it is
 * still waiting there (a finished request's queue entry is gone, so firing it then does nothing). One
 * listener per connection rather than per request: the request path is the server's hot loop. With
 * HTTP pipelining only the newest request on the connection is dropped; the others run, unanswered.
 */
const CURRENT_REQUEST = Symbol('mlpipe.currentRequest');
type ConnectionWithRequest = Socket & { [CURRENT_REQUEST]?: ClientDisconnect };

export interface HttpFrontEndOptions {
  host: string;
  port: number;
  maxRequestBytes: number;
}

export interface HttpFrontEnd {
  readonly port: number;
  /** Stops accepting connections; resolves when open connections have finished their requests. */
  close(): Promise<void>;
  /** Drops every remaining connection. */
  destroy(): void;
}

/** One node:http server: Open Inference Protocol v2 under /v2, TF Serving under /v1, Prometheus at /metrics. */
export async function startHttpFrontEnd(service: InferenceService, options: HttpFrontEndOptions): Promise<HttpFrontEnd> {
  let closing = false;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const startedAt = performance.now();
    if (closing) res.shouldKeepAlive = false;
    const disconnect = new ClientDisconnect();
    (req.socket as ConnectionWithRequest)[CURRENT_REQUEST] = disconnect;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const ctx: RouteContext = {
      req,
      res,
      method: req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET'),
      path: q >= 0 ? url.slice(0, q) : url,
      startedAt,
      maxRequestBytes: options.maxRequestBytes,
      disconnect,
    };
    try {
      if (ctx.path === '/metrics') {
        if (ctx.method !== 'GET') throw new ServingError('method_not_allowed', `${ctx.method} is not allowed on /metrics; use GET`);
        sendBody(res, 200, service.metrics.render(), 'text/plain; version=0.0.4; charset=utf-8');
        return;
      }
      const handled =
        (ctx.path.startsWith('/v2') && (await handleOip(service, ctx))) ||
        (ctx.path.startsWith('/v1/') && (await handleTfServing(service, ctx)));
      if (!handled) throw new ServingError('not_found', `no route for ${ctx.method} ${ctx.path}`);
    } catch (err) {
      sendError(res, err);
    }
  };
  const server: Server = createServer((req, res) => void handle(req, res));
  server.on('connection', (socket: ConnectionWithRequest) => {
    socket.once('close', () => socket[CURRENT_REQUEST]?.fire());
  });
  // Requests with bodies that never finish must not hold a connection forever.
  server.requestTimeout = 60_000;
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        closing = true;
        // Requests already running answer on a keep-alive connection, which then sits idle: sweep
        // those until the server has closed (new requests get `Connection: close` instead).
        const sweep = setInterval(() => server.closeIdleConnections(), 25);
        server.close(() => {
          clearInterval(sweep);
          resolve();
        });
        server.closeIdleConnections();
      }),
    destroy: () => server.closeAllConnections(),
  };
}
