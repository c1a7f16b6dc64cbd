/**
 * Consumes a ring store's JetStream stream into the daemon's own EventStore,
 * one message at a time, in stream order. Every daemon does the same with the
 * same store geometry, and the partition committer is deterministic, so each
 * one reaches the same state: positions, versions, conflicts (an expected
 * version is checked at its place in the log) and duplicates (ids travel in
 * the message). Messages are applied one after the other (each append is
 * awaited) because two appends in flight could be claimed out of order when a
 * partition's input ring is full.
 */
import { DeliverPolicy, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import type { EventStore } from '../../store/event-store.js';
import { decodeOp, type RingOp } from './messages.js';

/** The outcome of one applied message, for the daemon that published it. */
export type Applied = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

/** Errors of an append that every daemon gets the same way (decided by the committer or the producer's checks). */
const DETERMINISTIC = new Set(['RS_ERR_CONFLICT', 'RS_ERR_INVALID_ARGUMENT', 'RS_ERR_EVENT_TOO_LARGE', 'RS_ERR_ENCODE', 'RS_ERR_NON_FINITE']);

/** Options of an {@link Applier}. */
export interface ApplierOptions<R> {
  readonly js: JetStreamClient;
  readonly stream: string;
  readonly store: EventStore<R>;
  readonly logger: Logger;
  /** Called once per applied message that carries a `Nats-Msg-Id`. */
  readonly onApplied: (msgId: string, outcome: Applied) => void;
}

/** Runs an operation on the local store. */
async function run<R>(store: EventStore<R>, op: RingOp<R>): Promise<unknown> {
  switch (op.k) {
    case 'append':
      return store.append(op.r, { ...(op.e !== undefined ? { expectedVersion: op.e } : {}), ...(op.i !== undefined ? { id: op.i } : {}) });
    case 'clear':
      return store.clear();
    case 'purge':
      return store.purge({ olderThan: op.before });
  }
}

/** Follows one stream; see the module comment. */
export class Applier<R> {
  readonly #o: ApplierOptions<R>;
  #applied = 0;
  #closed = false;
  #stop: (() => void) | undefined;
  #running: Promise<void> | undefined;
  readonly #targets: { seq: number; resolve: () => void }[] = [];

  constructor(options: ApplierOptions<R>) {
    this.#o = options;
  }

  /** Stream sequence of the last message applied (0 before the first). */
  get applied(): number {
    return this.#applied;
  }

  /** Starts consuming from the stream's first message. */
  start(): void {
    this.#running ??= this.#loop();
  }

  /** Resolves once every message up to stream sequence `seq` is applied (at once for 0). */
  reached(seq: number): Promise<void> {
    if (seq <= this.#applied) return Promise.resolve();
    return new Promise((resolve) => this.#targets.push({ seq, resolve }));
  }

  /** Stops consuming (the message being applied finishes first). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#stop?.();
    await this.#running;
  }

  async #loop(): Promise<void> {
    const { js, stream, logger } = this.#o;
    let wait = 100;
    while (!this.#closed) {
      try {
        // An ordered consumer: the client recreates it from the last delivered sequence when the server loses it.
        const consumer = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.#applied + 1 });
        // A small `expires`: after a server restart an ordered consumer stalls until its pull expires (jetstream-notes §8).
        const messages = await consumer.consume({ max_messages: 1_000, expires: 2_000 });
        this.#stop = () => void messages.stop();
        if (this.#closed) messages.stop();
        for await (const m of messages) {
          if (m.seq <= this.#applied) continue;
          await this.#apply(m);
          wait = 100;
          if (this.#closed) break;
        }
      } catch (err) {
        if (this.#closed) break;
        logger.warn({ err: (err as Error).message, applied: this.#applied }, 'replication: consumer failed; following again');
      }
      if (!this.#closed) {
        await new Promise((r) => setTimeout(r, wait));
        wait = Math.min(wait * 2, 2_000);
      }
    }
  }

  async #apply(m: JsMsg): Promise<void> {
    const msgId = m.headers?.get('Nats-Msg-Id') ?? '';
    const op = decodeOp<R>(m.data);
    let outcome: Applied;
    if (op === undefined) {
      this.#o.logger.warn({ seq: m.seq, subject: m.subject }, 'replication: skipped a message that is not a ring-store operation');
      outcome = { ok: false, error: new Error('not a ring-store operation') };
    } else {
      try {
        outcome = { ok: true, value: await run(this.#o.store, op) };
      } catch (error) {
        outcome = { ok: false, error };
        const code = (error as { code?: string }).code;
        if (code === 'RS_ERR_CLOSED') {
          // The daemon is closing: this message is not applied here (a restart replays it).
          this.#closed = true;
          this.#o.onApplied(msgId, outcome);
          return;
        }
        if (code === undefined || !DETERMINISTIC.has(code)) {
          // Another daemon may have applied it: this one now differs from them.
          this.#o.logger.error({ err: error, seq: m.seq }, 'replication: a message failed here for a reason of this daemon only; its state may now differ from the other daemons (restart it to rebuild from the log)');
        }
      }
    }
    this.#applied = m.seq;
    if (msgId !== '') this.#o.onApplied(msgId, outcome);
    for (let i = this.#targets.length - 1; i >= 0; i--) {
      const t = this.#targets[i]!;
      if (t.seq <= this.#applied) {
        this.#targets.splice(i, 1);
        t.resolve();
      }
    }
  }
}
