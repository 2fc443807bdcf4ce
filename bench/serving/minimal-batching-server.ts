/**
 * Figure: how close the least a batching server can do comes to the heavy-model target, on this
 * machine, for each protocol. A minimal server answers OIP infer requests for the heavy MLP (REST
 * binary extension and REST JSON on node:http, gRPC ModelInfer on @grpc/grpc-js): the request parsed,
 * the input row queued, one onnxruntime session thread, the answer built from the output row; no
 * validation, routing, metrics, timeouts or versions. Two handoffs to the session thread:
 *   message:     the main thread posts a batch whenever the session thread is idle (mlpipe's design);
 *   shared-ring: the main thread writes each row into a SharedArrayBuffer ring and the session thread
 *                takes every row present when it finishes a batch, so no batch waits for the event loop.
 * Printed against (a), in-process onnxruntime on batches of 64, measured right before each row.
 *   node dist/bench/serving/minimal-batching-server.js [--protocols binary,json,grpc] [--concurrency 64]
 *     [--duration-ms 4000]
 */
import * as grpc from '@grpc/grpc-js';
import { existsSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { loadInferenceService } from '../../serving/grpc/grpc-proto';
import { computeCeiling } from './compute-ceiling';
import type { LoadSpec } from './load-protocol';
import { runLoad, type MeasuredLoad } from './load';
import {
  RING_TAIL,
  RING_WAITING,
  type MinimalBatchMessage,
  type MinimalReply,
  type MinimalSessionData,
} from './minimal-session-protocol';
import { buildMlpModel, HEAVY_MLP, MLP_INPUT, MLP_OUTPUT, mulberry32 } from './models';

type Handoff = 'message' | 'shared-ring';
type Protocol = 'binary' | 'json' | 'grpc';

const MAX_BATCH = 64;
const RING_SLOTS = 1024;
const spec = HEAVY_MLP;
const inputBytes = spec.inputDim * 4;
const outputBytes = spec.outputDim * 4;

function numberArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

function threadEntry(): { file: string; execArgv: string[] } {
  const compiled = path.join(__dirname, 'minimal-session-thread.js');
  if (existsSync(compiled)) return { file: compiled, execArgv: [] };
  return { file: path.join(__dirname, 'minimal-session-thread.ts'), execArgv: ['--require', 'tsx/cjs'] };
}

const binaryResponseHeader = Buffer.from(
  JSON.stringify({
    model_name: 'heavy',
    model_version: '1',
    outputs: [{ name: MLP_OUTPUT, datatype: 'FP32', shape: [1, spec.outputDim], parameters: { binary_data_size: outputBytes } }],
  }),
);

/** Answers one request with its output row, which lies at `offset` (in floats) of `outputs`. */
type Reply = (outputs: Float32Array, offset: number) => void;

interface Front {
  port: number;
  close(): Promise<void>;
}

/** Parses requests of one protocol, hands each input row to `enqueue`, and answers through the reply. */
type FrontEnd = (enqueue: (row: Float32Array, reply: Reply) => void) => Promise<Front>;

function httpFront(onBody: (body: Buffer, headerLength: number, res: ServerResponse) => void): Promise<Front> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      onBody(body, Number(req.headers['inference-header-content-length']), res);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () => new Promise<void>((done) => server.close(() => done())),
      }),
    ),
  );
}

const FRONT_ENDS: Record<Protocol, FrontEnd> = {
  binary: (enqueue) =>
    httpFront((body, headerLength, res) => {
      const header = JSON.parse(body.toString('utf8', 0, headerLength)) as { inputs: Array<{ name: string }> };
      if (header.inputs[0]?.name !== MLP_INPUT || body.length - headerLength !== inputBytes) {
        res.writeHead(400).end();
        return;
      }
      const row = new Float32Array(body.buffer.slice(body.byteOffset + headerLength, body.byteOffset + body.length));
      enqueue(row, (outputs, offset) => {
        const out = Buffer.alloc(binaryResponseHeader.length + outputBytes);
        binaryResponseHeader.copy(out);
        Buffer.from(outputs.buffer, outputs.byteOffset + offset * 4, outputBytes).copy(out, binaryResponseHeader.length);
        res.writeHead(200, [
          'Content-Type',
          'application/octet-stream',
          'Inference-Header-Content-Length',
          String(binaryResponseHeader.length),
          'Content-Length',
          String(out.length),
        ]);
        res.end(out);
      });
    }),
  json: (enqueue) =>
    httpFront((body, _headerLength, res) => {
      const request = JSON.parse(body.toString('utf8')) as { inputs: Array<{ name: string; data: number[] }> };
      const input = request.inputs[0];
      if (input?.name !== MLP_INPUT || input.data.length !== spec.inputDim) {
        res.writeHead(400).end();
        return;
      }
      enqueue(Float32Array.from(input.data), (outputs, offset) => {
        const out = JSON.stringify({
          model_name: 'heavy',
          model_version: '1',
          outputs: [{ name: MLP_OUTPUT, datatype: 'FP32', shape: [1, spec.outputDim], data: Array.from(outputs.subarray(offset, offset + spec.outputDim)) }],
        });
        res.writeHead(200, ['Content-Type', 'application/json', 'Content-Length', String(Buffer.byteLength(out))]);
        res.end(out);
      });
    }),
  grpc: async (enqueue) => {
    const server = new grpc.Server();
    server.addService(loadInferenceService().service, {
      ModelInfer: (
        call: grpc.ServerUnaryCall<{ inputs: Array<{ name: string }>; raw_input_contents: Buffer[] }, object>,
        callback: grpc.sendUnaryData<object>,
      ) => {
        const raw = call.request.raw_input_contents[0];
        if (call.request.inputs[0]?.name !== MLP_INPUT || raw?.length !== inputBytes) {
          callback({ code: grpc.status.INVALID_ARGUMENT });
          return;
        }
        const row = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
        enqueue(row, (outputs, offset) =>
          callback(null, {
            model_name: 'heavy',
            model_version: '1',
            outputs: [{ name: MLP_OUTPUT, datatype: 'FP32', shape: [1, spec.outputDim] }],
            raw_output_contents: [Buffer.from(outputs.slice(offset, offset + spec.outputDim).buffer)],
          }),
        );
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    return { port, close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())) };
  },
};

interface MinimalServer {
  port: number;
  averageBatch(): number;
  close(): Promise<void>;
}

async function startMinimalServer(protocol: Protocol, handoff: Handoff): Promise<MinimalServer> {
  const ring =
    handoff === 'shared-ring'
      ? {
          control: new SharedArrayBuffer(8),
          inputs: new SharedArrayBuffer(RING_SLOTS * inputBytes),
          outputs: new SharedArrayBuffer(RING_SLOTS * outputBytes),
          slots: RING_SLOTS,
        }
      : undefined;
  const data: MinimalSessionData = { model: buildMlpModel(spec), inputDim: spec.inputDim, outputDim: spec.outputDim, maxBatch: MAX_BATCH, ...(ring ? { ring } : {}) };
  const entry = threadEntry();
  const worker = new Worker(entry.file, { workerData: data, execArgv: entry.execArgv });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  let batches = 0;
  let rows = 0;
  let enqueue: (row: Float32Array, reply: Reply) => void;

  if (ring) {
    const control = new Int32Array(ring.control);
    const inputs = new Float32Array(ring.inputs);
    const outputs = new Float32Array(ring.outputs);
    const waiting = new Array<Reply | undefined>(RING_SLOTS);
    let tail = 0;
    enqueue = (row, reply) => {
      const slot = tail % RING_SLOTS;
      inputs.set(row, slot * spec.inputDim);
      waiting[slot] = reply;
      Atomics.store(control, RING_TAIL, ++tail);
      if (Atomics.load(control, RING_WAITING)) Atomics.notify(control, RING_TAIL);
    };
    worker.on('message', (msg: MinimalReply) => {
      if (msg.type !== 'ring') return;
      batches++;
      rows += msg.rows;
      for (let i = 0; i < msg.rows; i++) {
        const slot = (msg.from + i) % RING_SLOTS;
        const reply = waiting[slot]!;
        waiting[slot] = undefined;
        reply(outputs, slot * spec.outputDim);
      }
    });
  } else {
    let queue: Array<{ reply: Reply; row: Float32Array }> = [];
    let running: typeof queue | undefined;
    const launch = () => {
      if (running || queue.length === 0) return;
      running = queue.slice(0, MAX_BATCH);
      queue = queue.slice(running.length);
      const batch = new Float32Array(running.length * spec.inputDim);
      running.forEach((r, i) => batch.set(r.row, i * spec.inputDim));
      batches++;
      rows += running.length;
      const msg: MinimalBatchMessage = { rows: running.length, data: batch };
      worker.postMessage(msg, [batch.buffer]);
    };
    enqueue = (row, reply) => {
      queue.push({ reply, row });
      launch();
    };
    worker.on('message', (msg: MinimalReply) => {
      if (msg.type !== 'batch') return;
      const done = running!;
      running = undefined;
      launch();
      done.forEach((r, i) => r.reply(msg.outputs, i * spec.outputDim));
    });
  }

  const front = await FRONT_ENDS[protocol](enqueue);
  return {
    port: front.port,
    averageBatch: () => rows / Math.max(1, batches),
    close: async () => {
      await front.close();
      await worker.terminate();
    },
  };
}

function loadSpec(protocol: Protocol, port: number, raw: Buffer, concurrency: number, durationMs: number): LoadSpec {
  const common = { concurrency, warmupMs: 2000, durationMs };
  const shape = [1, spec.inputDim];
  if (protocol === 'grpc') {
    return {
      kind: 'grpc',
      address: `127.0.0.1:${port}`,
      request: { model_name: 'heavy', inputs: [{ name: MLP_INPUT, datatype: 'FP32', shape }] },
      rawInputsBase64: [raw.toString('base64')],
      ...common,
    };
  }
  if (protocol === 'json') {
    const body = Buffer.from(JSON.stringify({ inputs: [{ name: MLP_INPUT, shape, datatype: 'FP32', data: Array.from(new Float32Array(raw.buffer, raw.byteOffset, spec.inputDim)) }] }));
    return { kind: 'http', port, path: '/v2/models/heavy/infer', headers: { 'Content-Type': 'application/json' }, bodyBase64: body.toString('base64'), ...common };
  }
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: MLP_INPUT, shape, datatype: 'FP32', parameters: { binary_data_size: raw.length } }],
      parameters: { binary_data_output: true },
    }),
  );
  return {
    kind: 'http',
    port,
    path: '/v2/models/heavy/infer',
    headers: { 'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': String(header.length) },
    bodyBase64: Buffer.concat([header, raw]).toString('base64'),
    ...common,
  };
}

async function main(): Promise<void> {
  const concurrency = numberArg('concurrency', 64);
  const durationMs = numberArg('duration-ms', 4000);
  const i = process.argv.indexOf('--protocols');
  const protocols = (i > 0 ? process.argv[i + 1]!.split(',') : ['binary', 'json', 'grpc']) as Protocol[];
  const random = mulberry32(11);
  const raw = Buffer.from(new Float32Array(Array.from({ length: spec.inputDim }, () => random())).buffer);
  const rows: Array<{ protocol: Protocol; handoff: Handoff; load: MeasuredLoad; batch: number; ceiling: number }> = [];
  for (const protocol of protocols) {
    for (const handoff of ['message', 'shared-ring'] as const) {
      const ceiling = (await computeCeiling(spec, durationMs)).rowsPerSecond;
      const server = await startMinimalServer(protocol, handoff);
      const load = await runLoad(loadSpec(protocol, server.port, raw, concurrency, durationMs));
      rows.push({ protocol, handoff, load, batch: server.averageBatch(), ceiling });
      await server.close();
    }
  }
  process.stdout.write(
    `\nminimal batching server, heavy model ${[spec.inputDim, ...spec.hiddenDims, spec.outputDim].join('→')}, concurrency ${concurrency}\n` +
      `machine: ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)}; (a) measured right before each row\n`,
  );
  for (const r of rows) {
    process.stdout.write(
      `  ${r.protocol.padEnd(7)} ${r.handoff.padEnd(12)} ${r.load.rps.toFixed(0).padStart(6)} rows/s  p50 ${r.load.p50Ms.toFixed(2)} ms  p99 ${r.load.p99Ms.toFixed(2)} ms  ` +
        `avg batch ${r.batch.toFixed(1)}  cores ${r.load.serverCores.toFixed(2)}+${r.load.clientCores.toFixed(2)}  ` +
        `(a) ${r.ceiling.toFixed(0)} rows/s  ratio ${(r.load.rps / r.ceiling).toFixed(2)}${r.load.errors ? `  !${r.load.errors} errors` : ''}\n`,
    );
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  },
);
