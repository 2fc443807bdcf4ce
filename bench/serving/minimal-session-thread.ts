/**
 * The session thread of bench/serving/minimal-batching-server.ts: one onnxruntime session for an MLP
 * with one float input and one float output, fed either by batch messages from the main thread or by
 * taking rows itself from a shared ring (see that file).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openSession, Tensor, type OnnxSession } from '../../onnx/session';
import {
  RING_TAIL,
  RING_WAITING,
  type MinimalBatchMessage,
  type MinimalReply,
  type MinimalSessionData,
} from './minimal-session-protocol';
import { MLP_INPUT, MLP_OUTPUT } from './models';

const port = parentPort!;
const data = workerData as MinimalSessionData;
async function runBatch(session: OnnxSession, input: Float32Array, rows: number): Promise<Float32Array> {
  const results = await session.run({ [MLP_INPUT]: new Tensor('float32', input, [rows, data.inputDim]) });
  return results[MLP_OUTPUT]!.data as Float32Array;
}

/** Waits for rows, then runs every row present (up to maxBatch) as one batch, and again. */
async function serveRing(session: OnnxSession, ring: NonNullable<MinimalSessionData['ring']>): Promise<never> {
  const control = new Int32Array(ring.control);
  const inputs = new Float32Array(ring.inputs);
  const outputs = new Float32Array(ring.outputs);
  let head = 0;
  for (;;) {
    const tail = Atomics.load(control, RING_TAIL);
    if (tail === head) {
      Atomics.store(control, RING_WAITING, 1);
      if (Atomics.load(control, RING_TAIL) === head) Atomics.wait(control, RING_TAIL, tail);
      Atomics.store(control, RING_WAITING, 0);
      continue;
    }
    const rows = Math.min(tail - head, data.maxBatch);
    const batch = new Float32Array(rows * data.inputDim);
    for (let i = 0; i < rows; i++) {
      const slot = (head + i) % ring.slots;
      batch.set(inputs.subarray(slot * data.inputDim, (slot + 1) * data.inputDim), i * data.inputDim);
    }
    const result = await runBatch(session, batch, rows);
    for (let i = 0; i < rows; i++) {
      const slot = (head + i) % ring.slots;
      outputs.set(result.subarray(i * data.outputDim, (i + 1) * data.outputDim), slot * data.outputDim);
    }
    const reply: MinimalReply = { type: 'ring', from: head, rows };
    port.postMessage(reply);
    head += rows;
  }
}

async function main(): Promise<void> {
  const session = await openSession(data.model);
  const ready: MinimalReply = { type: 'ready' };
  port.postMessage(ready);
  if (data.ring) await serveRing(session, data.ring);
  port.on('message', (msg: MinimalBatchMessage) => {
    void runBatch(session, msg.data, msg.rows).then((outputs) => {
      const reply: MinimalReply = { type: 'batch', outputs };
      port.postMessage(reply);
    });
  });
}

void main();
