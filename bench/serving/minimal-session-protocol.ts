/** Messages and shared layout between bench/serving/minimal-batching-server.ts and its session thread. */

export interface MinimalSessionData {
  model: Uint8Array;
  inputDim: number;
  outputDim: number;
  maxBatch: number;
  /** Present for the shared-ring handoff. */
  ring?: { control: SharedArrayBuffer; inputs: SharedArrayBuffer; outputs: SharedArrayBuffer; slots: number };
}

/** Int32 indexes of the ring's control block. */
export const RING_TAIL = 0;
export const RING_WAITING = 1;

export type MinimalBatchMessage = { rows: number; data: Float32Array };
export type MinimalReply = { type: 'ready' } | { type: 'batch'; outputs: Float32Array } | { type: 'ring'; from: number; rows: number };
