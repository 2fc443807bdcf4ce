import type { ClientDisconnect } from './client-disconnect';
import { ServingError } from './errors';
import type { SchedulingPolicy } from './model-signature';

export interface BatchItem {
  /** Rows this request contributes (its first dimension); 1 for unbatched models. */
  readonly rows: number;
  /** Requests may share a batch only when their keys match (same shapes after the batch dimension). */
  readonly batchKey: string;
}

export interface Dispatched<T> {
  item: T;
  /** Milliseconds the request waited in the queue. */
  queuedMs: number;
}

/** Runs one batch on one instance; returns one result, or an error, per item, in order. */
export type BatchExecutor<T, R> = (batch: Array<Dispatched<T>>, instance: number) => Promise<Array<R | ServingError>>;

export interface SubmitOptions {
  /** Queue timeout for this request in microseconds (0 = none); replaces the default only if allowed. */
  timeoutUs?: number;
  /** Firing drops the request if it is still queued (a client that went away). */
  disconnect?: ClientDisconnect;
}

interface Entry<T, R> {
  item: T;
  enqueuedAt: number;
  state: 'queued' | 'running' | 'done';
  resolve: (r: R) => void;
  reject: (e: ServingError) => void;
  timer: NodeJS.Timeout | undefined;
  disconnect: ClientDisconnect | undefined;
}

/**
 * Triton's dynamic batcher for one model version: requests queue until an instance is free, then as
 * many compatible requests as fit in max_batch_size run as one batch. With max_queue_delay_microseconds
 * the batcher waits that long for a preferred (or full) batch; with 0 it never waits, so a lone request
 * runs at once and batches form only from requests that arrived while every instance was busy.
 */
export class DynamicBatcher<T extends BatchItem, R> {
  private queue: Array<Entry<T, R>> = [];
  private head = 0;
  private queuedCount = 0;
  private runningCount = 0;
  private readonly idle: number[];
  private delayTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private drainWaiters: Array<() => void> = [];

  constructor(
    private readonly policy: SchedulingPolicy,
    instanceCount: number,
    private readonly execute: BatchExecutor<T, R>,
  ) {
    this.idle = Array.from({ length: instanceCount }, (_, i) => instanceCount - 1 - i);
  }

  /** Requests waiting plus requests executing: Triton's pending request count. */
  get pending(): number {
    return this.queuedCount + this.runningCount;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  submit(item: T, options: SubmitOptions = {}): Promise<R> {
    if (this.closed) return Promise.reject(new ServingError('unavailable', 'model version is unloading'));
    if (options.disconnect?.isGone) return Promise.reject(new ServingError('cancelled', 'request cancelled by the client'));
    const { maxQueueSize } = this.policy;
    if (maxQueueSize > 0 && this.queuedCount >= maxQueueSize) {
      return Promise.reject(new ServingError('resource_exhausted', `queue is full (max_queue_size ${maxQueueSize})`));
    }
    return new Promise<R>((resolve, reject) => {
      const entry: Entry<T, R> = {
        item,
        enqueuedAt: performance.now(),
        state: 'queued',
        resolve,
        reject,
        timer: undefined,
        disconnect: options.disconnect,
      };
      const timeoutUs =
        options.timeoutUs !== undefined && this.policy.allowTimeoutOverride ? options.timeoutUs : this.policy.defaultTimeoutUs;
      if (timeoutUs > 0 && this.policy.timeoutAction === 'REJECT') {
        entry.timer = setTimeout(
          () => this.drop(entry, new ServingError('deadline_exceeded', `request timed out after ${timeoutUs} µs in the queue`)),
          Math.max(1, Math.round(timeoutUs / 1000)),
        );
      }
      options.disconnect?.listen(() => this.drop(entry, new ServingError('cancelled', 'request cancelled by the client')));
      this.queue.push(entry);
      this.queuedCount++;
      this.pump();
    });
  }

  /** Stops taking requests; resolves once every queued and running request has finished. */
  close(): Promise<void> {
    this.closed = true;
    this.pump();
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private drop(entry: Entry<T, R>, error: ServingError): void {
    if (entry.state !== 'queued') return;
    entry.state = 'done';
    this.queuedCount--;
    this.cleanup(entry);
    entry.reject(error);
    this.compact();
    this.checkDrained();
  }

  private cleanup(entry: Entry<T, R>): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.disconnect?.listen(undefined);
  }

  private compact(): void {
    while (this.head < this.queue.length && this.queue[this.head]!.state !== 'queued') this.head++;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    } else if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    }
  }

  /** The queued requests that would run together with the oldest one, oldest first. */
  private collect(): Array<Entry<T, R>> {
    const first = this.queue[this.head]!;
    if (!this.policy.dynamicBatching) return [first];
    const limit = this.policy.maxBatchSize;
    const picked = [first];
    let rows = first.item.rows;
    for (let i = this.head + 1; i < this.queue.length && rows < limit; i++) {
      const e = this.queue[i]!;
      if (e.state !== 'queued' || e.item.batchKey !== first.item.batchKey || rows + e.item.rows > limit) continue;
      picked.push(e);
      rows += e.item.rows;
    }
    return picked;
  }

  /** Largest prefix of `picked` whose rows fit the largest preferred size reachable, if any is reachable. */
  private preferredPrefix(picked: Array<Entry<T, R>>): Array<Entry<T, R>> | undefined {
    const sizes = this.policy.preferredBatchSizes;
    if (sizes.length === 0) return undefined;
    let rows = 0;
    let best: number | undefined;
    for (let i = 0; i < picked.length; i++) {
      rows += picked[i]!.item.rows;
      if (sizes.includes(rows)) best = i + 1;
    }
    return best === undefined ? undefined : picked.slice(0, best);
  }

  private pump(): void {
    while (this.idle.length > 0) {
      this.compact();
      if (this.queuedCount === 0) return;
      let batch = this.collect();
      const rows = batch.reduce((n, e) => n + e.item.rows, 0);
      const delayMs = this.policy.maxQueueDelayUs / 1000;
      // A closing batcher (shutdown, unload) runs what it holds at once rather than waiting for company.
      if (this.policy.dynamicBatching && delayMs > 0 && rows < this.policy.maxBatchSize && !this.closed) {
        const preferred = this.preferredPrefix(batch);
        const waited = performance.now() - batch[0]!.enqueuedAt;
        if (preferred) {
          batch = preferred;
        } else if (waited < delayMs) {
          this.armDelay(delayMs - waited);
          return;
        }
      }
      this.launch(batch, this.idle.pop()!);
    }
  }

  private armDelay(ms: number): void {
    if (this.delayTimer) clearTimeout(this.delayTimer);
    this.delayTimer = setTimeout(() => {
      this.delayTimer = undefined;
      this.pump();
    }, Math.max(1, Math.ceil(ms)));
  }

  private launch(batch: Array<Entry<T, R>>, instance: number): void {
    const now = performance.now();
    for (const e of batch) {
      e.state = 'running';
      this.cleanup(e);
    }
    this.queuedCount -= batch.length;
    this.runningCount += batch.length;
    const dispatched = batch.map((e) => ({ item: e.item, queuedMs: now - e.enqueuedAt }));
    const finish = (results: Array<R | ServingError> | ServingError) => {
      this.runningCount -= batch.length;
      batch.forEach((e, i) => {
        e.state = 'done';
        const r = results instanceof ServingError ? results : results[i]!;
        if (r instanceof ServingError) e.reject(r);
        else e.resolve(r);
      });
      this.idle.push(instance);
      this.pump();
      this.checkDrained();
    };
    this.execute(dispatched, instance).then(finish, (err: unknown) =>
      finish(err instanceof ServingError ? err : new ServingError('internal', (err as Error).message)),
    );
  }

  private checkDrained(): void {
    if (!this.closed || this.pending > 0) return;
    if (this.delayTimer) clearTimeout(this.delayTimer);
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of waiters) w();
  }
}
