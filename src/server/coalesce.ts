/**
 * Coalesces single-event appends that arrive in the same event-loop turn into
 * one array `append()`: the store's per-call cost (promise, collector, ack
 * pump) is paid once per turn instead of once per request, which is what
 * bounds single-event POST throughput. Each request still gets its own result
 * (position, version, duplicate). Conditional appends (expected version) and
 * batches are not coalesced.
 *
 * If the coalesced call throws (an event the store rejects at encode time,
 * before anything is written), each event is appended again on its own so
 * only the bad one fails. If it stored part of the events (PartialAppendError:
 * a partition failed or the store closed mid-call), the stored ones get their
 * results and only the others are tried again (or rejected, when closing).
 * An event whose outcome is unknown (`RS_ERR_IO_UNKNOWN`: its durable log
 * could not undo a frame whose sync failed) is never tried again: it may be
 * stored, and alone it would only get "not stored" from the failed partition.
 */
import { PartialAppendError } from '../errors.js';
import type { EventStore } from '../store/event-store.js';
import type { AppendResult } from '../store/types.js';
import { nextEventId } from '../ids/event-id.js';

/** Errors answered as they are, never by trying the event again alone. */
const FINAL = new Set(['RS_ERR_CLOSED', 'RS_ERR_IO_UNKNOWN']);

/** Called once with the event's result or its error. */
export type AppendCallback = (err: unknown, result?: AppendResult) => void;

interface Pending<T> {
  event: T;
  id: string | undefined;
  done: AppendCallback;
}

/** One coalescer per store. */
export class AppendCoalescer<T> {
  #queue: Pending<T>[] = [];
  #scheduled = false;
  readonly #store: EventStore<T>;
  readonly #max: number;

  constructor(store: EventStore<T>, maxPerCall = 1024) {
    this.#store = store;
    this.#max = maxPerCall;
  }

  /** Appends one event (optionally with an idempotency id) as part of this turn's batch. */
  append(event: T, id: string | undefined): Promise<AppendResult> {
    return new Promise((resolve, reject) => this.appendWith(event, id, (err, r) => (err === undefined ? resolve(r!) : reject(err))));
  }

  /**
   * {@link append} with a callback: the daemon's single-event route answers from
   * it, without a promise per request (profiled on single-event POSTs).
   */
  appendWith(event: T, id: string | undefined, done: AppendCallback): void {
    this.#queue.push({ event, id, done });
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const all = this.#queue;
    this.#queue = [];
    for (let i = 0; i < all.length; i += this.#max) void this.#run(all.slice(i, i + this.#max));
  };

  async #run(batch: Pending<T>[]): Promise<void> {
    if (batch.length === 1) {
      const p = batch[0];
      // One record (a JSON object, never an array): one result. The cast says so for a generic T.
      await (this.#store.append(p.event, p.id !== undefined ? { id: p.id } : {}) as Promise<AppendResult>).then((r) => p.done(undefined, r), (err) => p.done(err));
      return;
    }
    const anyId = batch.some((p) => p.id !== undefined);
    let ids: string[] | undefined;
    if (anyId) {
      // Ids must be unique within one call: a repeated id (two retries racing) goes on its own.
      const seen = new Set<string>();
      const now = Date.now();
      const solo: Pending<T>[] = [];
      const rest: Pending<T>[] = [];
      for (const p of batch) {
        if (p.id !== undefined && seen.has(p.id)) solo.push(p);
        else {
          if (p.id !== undefined) seen.add(p.id);
          rest.push(p);
        }
      }
      for (const p of solo) void this.#run([p]);
      batch = rest;
      ids = batch.map((p) => p.id ?? nextEventId(now));
    }
    let results: AppendResult[];
    try {
      results = await this.#store.append(batch.map((p) => p.event), ids !== undefined ? { id: ids } : {});
    } catch (err) {
      if (err instanceof PartialAppendError) {
        const again: Pending<T>[] = [];
        for (let i = 0; i < batch.length; i++) {
          const stored = err.results[i];
          const why = err.errors[i] as { code?: string } | undefined;
          if (stored !== undefined) batch[i].done(undefined, stored);
          else if (FINAL.has(why?.code ?? '')) batch[i].done(why);
          else again.push(batch[i]);
        }
        await Promise.all(again.map((p) => this.#run([p])));
        return;
      }
      if (FINAL.has((err as { code?: string }).code ?? '')) {
        for (const p of batch) p.done(err);
        return;
      }
      await Promise.all(batch.map((p) => this.#run([p])));
      return;
    }
    // Outside the try: an answer is given once, whatever a callback does.
    for (let i = 0; i < batch.length; i++) batch[i].done(undefined, results[i]);
  }
}
