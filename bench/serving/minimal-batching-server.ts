/**
 * Figure: how close the least a batching REST server can do comes to the heavy-model target, on this
 * machine. A minimal server answers OIP binary-extension infer requests for the heavy MLP: node:http,
 * the JSON header parsed, the input row queued, one onnxruntime session thread, one canned response
 * header; no validation, routing, metrics, timeouts or versions. Two handoffs to the session thread:
 *   message:     the main thread posts a batch whenever the session thread is idle (mlpipe's design);
 *   shared-ring: the main thread writes each row into a SharedArrayBuffer ring and the session thread
 *                takes every row present when it finishes a batch, so no batch waits for the event loop.
 * Printed against (a), in-process onnxruntime on batches of 64, measured in the same run.
 *   node dist/bench/serving/minimal-batching-server.js [--concurrency 64] [--duration-ms 4000]
 */
import { existsSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { computeCeiling } from './compute-ceiling';
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

const responseHeader = Buffer.from(
  JSON.stringify({
    model_name: 'heavy',
    model_version: '1',
    outputs: [{ name: MLP_OUTPUT, datatype: 'FP32', shape: [1, spec.outputDim], parameters: { binary_data_size: outputBytes } }],
  }),
);

function respond(res: ServerResponse, output: Float32Array, offset: number): void {
  const body = Buffer.alloc(responseHeader.length + outputBytes);
  responseHeader.copy(body);
  Buffer.from(output.buffer, output.byteOffset + offset * 4, outputBytes).copy(body, responseHeader.length);
  res.writeHead(200, {
    'Content-Type': 'application/octet-stream',
    'Inference-Header-Content-Length': responseHeader.length,
    'Content-Length': body.length,
  });
  res.end(body);
}

interface MinimalServer {
  port: number;
  averageBatch(): number;
  close(): Promise<void>;
}

async function startMinimalServer(handoff: Handoff): Promise<MinimalServer> {
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
  let enqueue: (res: ServerResponse, row: Float32Array) => void;

  if (ring) {
    const control = new Int32Array(ring.control);
    const inputs = new Float32Array(ring.inputs);
    const outputs = new Float32Array(ring.outputs);
    const waiting = new Array<ServerResponse | undefined>(RING_SLOTS);
    let tail = 0;
    enqueue = (res, row) => {
      const slot = tail % RING_SLOTS;
      inputs.set(row, slot * spec.inputDim);
      waiting[slot] = res;
      Atomics.store(control, RING_TAIL, ++tail);
      if (Atomics.load(control, RING_WAITING)) Atomics.notify(control, RING_TAIL);
    };
    worker.on('message', (msg: MinimalReply) => {
      if (msg.type !== 'ring') return;
      batches++;
      rows += msg.rows;
      for (let i = 0; i < msg.rows; i++) {
        const slot = (msg.from + i) % RING_SLOTS;
        respond(waiting[slot]!, outputs, slot * spec.outputDim);
        waiting[slot] = undefined;
      }
    });
  } else {
    let queue: Array<{ res: ServerResponse; row: Float32Array }> = [];
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
    enqueue = (res, row) => {
      queue.push({ res, row });
      launch();
    };
    worker.on('message', (msg: MinimalReply) => {
      if (msg.type !== 'batch') return;
      const done = running!;
      running = undefined;
      launch();
      done.forEach((r, i) => respond(r.res, msg.outputs, i * spec.outputDim));
    });
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      const headerLength = Number(req.headers['inference-header-content-length']);
      const header = JSON.parse(body.toString('utf8', 0, headerLength)) as { inputs: Array<{ name: string }> };
      if (header.inputs[0]?.name !== MLP_INPUT || body.length - headerLength !== inputBytes) {
        res.writeHead(400).end();
        return;
      }
      enqueue(res, new Float32Array(body.buffer.slice(body.byteOffset + headerLength, body.byteOffset + body.length)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    averageBatch: () => rows / Math.max(1, batches),
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await worker.terminate();
    },
  };
}

async function main(): Promise<void> {
  const concurrency = numberArg('concurrency', 64);
  const durationMs = numberArg('duration-ms', 4000);
  const random = mulberry32(11);
  const raw = Buffer.from(new Float32Array(Array.from({ length: spec.inputDim }, () => random())).buffer);
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: MLP_INPUT, shape: [1, spec.inputDim], datatype: 'FP32', parameters: { binary_data_size: raw.length } }],
      parameters: { binary_data_output: true },
    }),
  );
  const rows = new Map<Handoff, { load: MeasuredLoad; batch: number; ceiling: number }>();
  for (const handoff of ['message', 'shared-ring'] as const) {
    const ceiling = (await computeCeiling(spec, durationMs)).rowsPerSecond;
    const server = await startMinimalServer(handoff);
    const load = await runLoad({
      kind: 'http',
      port: server.port,
      path: '/v2/models/heavy/infer',
      headers: { 'Content-Type': 'application/octet-stream', 'Inference-Header-Content-Length': String(header.length) },
      bodyBase64: Buffer.concat([header, raw]).toString('base64'),
      concurrency,
      warmupMs: 2000,
      durationMs,
    });
    rows.set(handoff, { load, batch: server.averageBatch(), ceiling });
    await server.close();
  }
  process.stdout.write(
    `\nminimal batching server, heavy model ${[spec.inputDim, ...spec.hiddenDims, spec.outputDim].join('→')}, REST binary, concurrency ${concurrency}\n` +
      `machine: ${os.cpus().length} cores, load average ${os.loadavg()[0]!.toFixed(1)}; (a) measured right before each row\n`,
  );
  for (const [handoff, r] of rows) {
    process.stdout.write(
      `  ${handoff.padEnd(12)} ${r.load.rps.toFixed(0).padStart(6)} rows/s  p50 ${r.load.p50Ms.toFixed(2)} ms  p99 ${r.load.p99Ms.toFixed(2)} ms  ` +
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
