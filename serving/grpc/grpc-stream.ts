import type * as grpc from '@grpc/grpc-js';
import { ClientDisconnect } from '../client-disconnect';
import { asServingError } from '../errors';
import type { ModelInferRequestMessage } from './grpc-messages';

/** Requests one stream may have running or answered-but-unsent before the server stops reading it. */
export const STREAM_MAX_PENDING = 256;

interface Pending {
  /** Each request holds its own queue entry, so each gets its own ClientDisconnect. */
  disconnect: ClientDisconnect;
  reply: object | undefined;
}

/**
 * One ModelStreamInfer call, as Triton serves a model that is not decoupled: one response per
 * request, written in request order (a client may match them by position), a failed request
 * answering with error_message while the stream goes on. Reading pauses while STREAM_MAX_PENDING
 * requests are pending or the client is not reading its responses. The stream ends once the client
 * has ended its side, or the server is shutting down, and every response is written.
 */
export class InferStream {
  private readonly pending: Pending[] = [];
  private inputDone = false;
  private blocked = false;

  constructor(
    private readonly call: grpc.ServerDuplexStream<ModelInferRequestMessage, object>,
    infer: (req: ModelInferRequestMessage, disconnect: ClientDisconnect) => Promise<object>,
    onEnd: () => void,
  ) {
    const cancelAll = () => {
      for (const p of this.pending) p.disconnect.fire();
    };
    call.once('cancelled', cancelAll);
    call.on('error', cancelAll);
    call.once('close', onEnd);
    call.on('drain', () => {
      this.blocked = false;
      this.flush();
    });
    call.on('data', (req: ModelInferRequestMessage) => {
      if (this.inputDone) return;
      const slot: Pending = { disconnect: new ClientDisconnect(), reply: undefined };
      this.pending.push(slot);
      if (this.pending.length >= STREAM_MAX_PENDING) call.pause();
      void infer(req, slot.disconnect)
        .then(
          (response) => ({ error_message: '', infer_response: response }),
          (err: unknown) => ({
            error_message: asServingError(err).message,
            infer_response: { model_name: req.model_name, model_version: req.model_version, id: req.id },
          }),
        )
        .then((reply) => {
          slot.reply = reply;
          this.flush();
        });
    });
    call.on('end', () => this.finish());
  }

  /** No more requests are read; the stream ends when those already read are answered. */
  finish(): void {
    this.inputDone = true;
    this.flush();
  }

  private flush(): void {
    for (let reply = this.pending[0]?.reply; !this.blocked && reply; reply = this.pending[0]?.reply) {
      this.pending.shift();
      if (!this.call.cancelled && !this.call.write(reply)) this.blocked = true;
    }
    if (this.inputDone && this.pending.length === 0) {
      if (!this.call.cancelled && this.call.writable) this.call.end();
      return;
    }
    if (!this.blocked && this.pending.length < STREAM_MAX_PENDING && this.call.isPaused()) this.call.resume();
  }
}
