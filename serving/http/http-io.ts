import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { asServingError, HTTP_STATUS, ServingError } from '../errors';

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);

/**
 * Reads a request body up to `limit` bytes, undoing gzip/deflate Content-Encoding (which Triton's
 * clients can send). Oversize bodies fail as payload_too_large before the rest is read.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    throw new ServingError('payload_too_large', `request body of ${declared} bytes exceeds the limit of ${limit} bytes`);
  }
  const body = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        reject(new ServingError('payload_too_large', `request body exceeds the limit of ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.once('error', reject);
  });
  const encoding = req.headers['content-encoding'];
  if (encoding === undefined || encoding === 'identity') return body;
  const options = { maxOutputLength: limit };
  try {
    if (encoding === 'gzip') return await gunzip(body, options);
    if (encoding === 'deflate') return await inflate(body, options);
  } catch (err) {
    const tooBig = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
    throw new ServingError(
      tooBig ? 'payload_too_large' : 'invalid_argument',
      tooBig ? `decompressed request body exceeds the limit of ${limit} bytes` : `cannot decode ${encoding} body: ${(err as Error).message}`,
    );
  }
  throw new ServingError('invalid_argument', `unsupported Content-Encoding '${encoding}' (expected gzip, deflate or identity)`);
}

export function sendJson(res: ServerResponse, status: number, json: string): void {
  sendBody(res, status, json, 'application/json');
}

/**
 * Headers go to writeHead as a flat [name, value, ...] list, which node:http writes without walking
 * an object: every response of the server passes here.
 */
export function sendBody(res: ServerResponse, status: number, body: string | Buffer, contentType: string, ...extraHeaders: string[]): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, ['Content-Type', contentType, 'Content-Length', String(Buffer.byteLength(body)), ...extraHeaders]);
  res.end(body);
}

/** `{"error": msg}` with the status of the error's kind; a client that left gets nothing. */
export function sendError(res: ServerResponse, err: unknown): void {
  const error = asServingError(err);
  if (error.kind === 'payload_too_large') res.setHeader('Connection', 'close');
  sendJson(res, HTTP_STATUS[error.kind], JSON.stringify({ error: error.message }));
}

/** Parses JSON text, reporting where it broke. */
export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ServingError('invalid_argument', `${what} is not valid JSON: ${(err as Error).message}`);
  }
}
