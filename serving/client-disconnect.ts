/**
 * Tells the batcher that a request's client went away, so a queued request can be dropped. Cheaper
 * than an AbortController per request, which the request path would otherwise pay on every call.
 */
export class ClientDisconnect {
  private gone = false;
  private listener: (() => void) | undefined;

  get isGone(): boolean {
    return this.gone;
  }

  /** One listener at a time: the batcher entry holding the request (undefined clears it). */
  listen(fn: (() => void) | undefined): void {
    this.listener = fn;
  }

  fire(): void {
    if (this.gone) return;
    this.gone = true;
    this.listener?.();
  }
}
