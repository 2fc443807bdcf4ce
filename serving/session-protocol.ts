import type { OrtElementType, TensorData } from './datatypes';

/**
 * Messages between a model instance (main thread) and its session worker thread. Both ends are this
 * module's code, so plain types describe them; the data is structured-cloned or transferred.
 */

export interface WireTensor {
  name: string;
  type: OrtElementType;
  dims: number[];
  data: TensorData;
}

export interface WireValueInfo {
  name: string;
  /** An onnxruntime element type, or a description of a non-tensor value. */
  type: string;
  isTensor: boolean;
  /** -1 for a symbolic or unknown dimension. */
  dims: number[];
}

export interface SessionWorkerData {
  /** A local file path, or the model bytes. */
  model: string | Uint8Array;
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
}

export type SessionWorkerRequest =
  | { type: 'run'; id: number; feeds: WireTensor[]; outputNames: string[] }
  | { type: 'close' };

export type SessionWorkerReply =
  | { type: 'ready'; inputs: WireValueInfo[]; outputs: WireValueInfo[] }
  | { type: 'load-error'; message: string }
  | { type: 'result'; id: number; outputs: WireTensor[]; inferMs: number }
  | { type: 'run-error'; id: number; message: string };

/** True when the typed array is the sole view of a transferable buffer, so it can move without a copy. */
export function ownsWholeBuffer(data: TensorData): data is Exclude<TensorData, string[]> {
  if (Array.isArray(data)) return false;
  const buffer = data.buffer;
  return buffer instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === buffer.byteLength && buffer.byteLength > 0;
}

export function transferList(tensors: readonly WireTensor[]): ArrayBuffer[] {
  const seen = new Set<ArrayBuffer>();
  for (const t of tensors) {
    if (ownsWholeBuffer(t.data)) seen.add(t.data.buffer as ArrayBuffer);
  }
  return [...seen];
}
