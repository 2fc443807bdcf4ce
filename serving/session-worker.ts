import { parentPort, workerData } from 'node:worker_threads';
import { openSession, Tensor, type OnnxFeeds, type OnnxSession, type OnnxValueMetadata } from '../onnx/session';
import {
  transferList,
  type SessionWorkerData,
  type SessionWorkerReply,
  type SessionWorkerRequest,
  type WireTensor,
  type WireValueInfo,
} from './session-protocol';

/**
 * One onnxruntime session in its own thread: onnxruntime-node runs inference synchronously on the
 * calling thread, so each model instance gets a thread and the server's event loop never blocks.
 */

const port = parentPort;
if (!port) throw new Error('session-worker must run as a worker thread');
const data = workerData as SessionWorkerData;

function describe(values: readonly OnnxValueMetadata[]): WireValueInfo[] {
  return values.map((v) =>
    v.isTensor
      ? { name: v.name, type: v.type, isTensor: true, dims: v.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) }
      : { name: v.name, type: 'non-tensor', isTensor: false, dims: [] },
  );
}

function send(reply: SessionWorkerReply, transfer: ArrayBuffer[] = []): void {
  try {
    port!.postMessage(reply, transfer);
  } catch {
    // Buffers onnxruntime allocated outside the JS heap cannot be detached: send copies instead.
    port!.postMessage(reply);
  }
}

async function main(): Promise<void> {
  let session: OnnxSession;
  try {
    session = await openSession(data.model, data);
  } catch (err) {
    send({ type: 'load-error', message: (err as Error).message });
    return;
  }
  port!.on('message', (msg: SessionWorkerRequest) => {
    if (msg.type === 'close') {
      void session.release().finally(() => port!.close());
      return;
    }
    const feeds: OnnxFeeds = {};
    try {
      for (const f of msg.feeds) feeds[f.name] = new Tensor(f.type, f.data, f.dims);
    } catch (err) {
      send({ type: 'run-error', id: msg.id, message: (err as Error).message });
      return;
    }
    const started = performance.now();
    session.run(feeds, msg.outputNames).then(
      (results) => {
        const inferMs = performance.now() - started;
        const outputs: WireTensor[] = msg.outputNames.map((name) => {
          const t = results[name]!;
          return { name, type: t.type as WireTensor['type'], dims: [...t.dims], data: t.data as WireTensor['data'] };
        });
        send({ type: 'result', id: msg.id, outputs, inferMs }, transferList(outputs));
      },
      (err: unknown) => send({ type: 'run-error', id: msg.id, message: (err as Error).message }),
    );
  });
  send({ type: 'ready', inputs: describe(session.inputMetadata), outputs: describe(session.outputMetadata) });
}

void main();
