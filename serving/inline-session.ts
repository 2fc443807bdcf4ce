import { openSession, Tensor, type OnnxFeeds, type OnnxSession } from '../onnx/session';
import { ServingError } from './errors';
import type { SessionRunResult } from './session-instance';
import type { SessionWorkerData, WireTensor } from './session-protocol';

/**
 * An onnxruntime session on the server's own event loop. For a model whose largest batch runs in
 * well under a millisecond, handing each batch to another thread costs more than the inference and,
 * on a busy machine, waits for the OS to schedule that thread twice per batch.
 */
export class InlineSession {
  private constructor(private readonly session: OnnxSession) {}

  static async start(data: SessionWorkerData): Promise<InlineSession> {
    return new InlineSession(await openSession(data.model, data));
  }

  async run(feeds: WireTensor[], outputNames: string[]): Promise<SessionRunResult> {
    const inputs: OnnxFeeds = {};
    for (const f of feeds) inputs[f.name] = new Tensor(f.type, f.data, f.dims);
    // onnxruntime-node defers the run to a setImmediate callback; an immediate queued first runs just
    // before it, so the time measured is the run itself rather than the event-loop turn before it.
    let started = performance.now();
    setImmediate(() => {
      started = performance.now();
    });
    let results: Awaited<ReturnType<OnnxSession['run']>>;
    try {
      results = await this.session.run(inputs, outputNames);
    } catch (err) {
      throw new ServingError('internal', `onnxruntime: ${(err as Error).message}`);
    }
    const inferMs = performance.now() - started;
    const outputs = outputNames.map((name) => {
      const t = results[name]!;
      return { name, type: t.type as WireTensor['type'], dims: [...t.dims], data: t.data as WireTensor['data'] };
    });
    return { outputs, inferMs };
  }

  close(): Promise<void> {
    return this.session.release();
  }
}
