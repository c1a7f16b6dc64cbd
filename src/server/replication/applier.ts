/**
 * Consumes a ring store's JetStream stream into the daemon's own EventStore,
 * in stream order. Every daemon does the same with the same store geometry,
 * and the partition committer is deterministic, so each one reaches the same
 * state: positions, versions, conflicts (an expected version is checked at its
 * place in the log) and duplicates (ids travel in the message).
 *
 * Store calls are made one after the other (each awaited): two calls in
 * flight could be claimed out of order when a partition's input ring is full.
 * To keep that cheap, consecutive unconditional appends waiting in the queue
 * go to the store as ONE call: their records are committed one by one in the
 * same order either way (an unconditional record is its own commit unit), so
 * the state is the same whatever the grouping, and each daemon may group
 * differently.
 */
import { DeliverPolicy, type Consumer, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { PartialAppendError } from '../../errors.js';
import type { EventStore } from '../../store/event-store.js';
import type { AppendResult } from '../../store/types.js';
import { decodeOps, opKey, type RingOp } from './messages.js';
import { STALL_MS, StallWatchdog } from './stall-watchdog.js';

/** The outcome of one applied message, for the daemon that published it. */
export type Applied = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

/** Errors of an append that every daemon gets the same way (decided by the committer or the producer's checks). */
const DETERMINISTIC = new Set(['RS_ERR_CONFLICT', 'RS_ERR_INVALID_ARGUMENT', 'RS_ERR_EVENT_TOO_LARGE', 'RS_ERR_ENCODE', 'RS_ERR_NON_FINITE']);
/** Most records in one grouped store call. */
const GROUP_RECORDS = 4_096;
/** Messages queued before the consumer waits for the store. */
const QUEUE_HIGH = 20_000;
/** Consumers asked for at once when following (see #newConsumer). */
const CONSUMER_ASKS = 2;
/** Consumer notifications not logged (routine: heartbeats, pulls); the others tell what the client did when a daemon stopped applying. */
const ROUTINE = new Set(['heartbeat', 'next', 'discard', 'debug']);
/**
 * A message whose `Nats-Msg-Id` was among the last this many messages with
 * an id is skipped (see {@link Applier}: recent ids). Bounded memory (a few
 * hundred KiB of ids), carried in shared checkpoints.
 */
export const RECENT_IDS = 4_096;

/** Options of an {@link Applier}. */
export interface ApplierOptions<R> {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly stream: string;
  readonly store: EventStore<R>;
  readonly logger: Logger;
  /** Called once per applied operation of a message that carries a `Nats-Msg-Id`, with its {@link opKey}. */
  readonly onApplied: (key: string, outcome: Applied) => void;
  /** Log sequence the store already holds (a loaded checkpoint's): following starts after it (default 0). */
  readonly after?: number;
  /** The message ids recent at `after`, oldest first (a loaded checkpoint's {@link Applier.recentIds}). */
  readonly recent?: readonly string[];
  /**
   * The consumer delivered `got` when `expected` was next: retention dropped
   * messages this daemon never applied. Nothing from `got` on is applied.
   */
  readonly onGap: (expected: number, got: number) => void;
  /** See {@link STALL_MS} (default; tests shorten it). */
  readonly stallMs?: number;
}

interface Queued<R> {
  /** Stream sequence applied once this operation is (the previous one for all but a message's last). */
  readonly seq: number;
  /** Where its publisher waits (see opKey), or ''. */
  readonly key: string;
  readonly op: RingOp<R> | undefined;
  /** The last operation of its message. */
  readonly last: boolean;
  /** A message whose id was applied already (a publish stored twice): nothing to apply. */
  readonly skip?: boolean;
}

/** A message id in the recent window: its rank among the messages with an id, and its log sequence. */
interface RecentId {
  readonly id: string;
  readonly ord: number;
  readonly seq: number;
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

/** An append that can share a store call with its neighbours. */
const groupable = <R>(q: Queued<R>): boolean => q.op !== undefined && q.op.k === 'append' && q.op.e === undefined;

/** Follows one stream; see the module comment. */
export class Applier<R> {
  readonly #o: ApplierOptions<R>;
  #applied = 0;
  /** Last sequence taken from the consumer (applied or queued). */
  #received = 0;
  readonly #queue: Queued<R>[] = [];
  #draining: Promise<void> | undefined;
  #closed = false;
  #stop: (() => void) | undefined;
  /** When the consumer last delivered a message not received before (or was created). */
  #lastDelivery = Date.now();
  readonly #watchdog: StallWatchdog;
  #running: Promise<void> | undefined;
  readonly #targets: { seq: number; resolve: () => void }[] = [];
  /** The last operation settled ended its message: the store holds whole messages up to {@link applied}. */
  #whole = true;
  /** A {@link quiesce} waiting for the drain to reach a whole message. */
  #pauseAt: { reached: () => void; held: Promise<void> } | undefined;
  /** While set, no store call starts (a quiesce runs). */
  #held: Promise<void> | undefined;
  /** Set once a gap was found: nothing more is received or applied. */
  #gap = false;
  /**
   * Recent message ids (decided at receipt, in log order, so every daemon
   * skips the same messages), oldest first; entries stay while a checkpoint
   * at {@link applied} still needs them (see {@link recentIds}).
   */
  readonly #recent: RecentId[] = [];
  readonly #recentById = new Map<string, RecentId>();
  /** Messages with an id received so far (ranks in {@link #recent}). */
  #ord = 0;
  /** Set once a message failed here for a reason of this daemon only: the store may differ from the log's state. */
  #diverged = false;

  constructor(options: ApplierOptions<R>) {
    this.#o = options;
    // What it reads is live (getters): it looks at the applier as it is at each look.
    const self = this;
    this.#watchdog = new StallWatchdog({
      get stopped() { return self.#closed || self.#gap; },
      get received() { return self.#received; },
      get applied() { return self.#applied; },
      get queued() { return self.#queue.length; },
      get draining() { return self.#draining !== undefined; },
      get held() { return self.#held !== undefined; },
      get lastDelivery() { return self.#lastDelivery; },
      get following() { return self.#stop !== undefined; },
      restartDrain: () => this.#startDrain(),
      refollow: () => {
        this.#lastDelivery = Date.now();
        this.#stop?.();
      },
    }, { jsm: options.jsm, stream: options.stream, logger: options.logger, stallMs: options.stallMs ?? STALL_MS });
    this.#applied = options.after ?? 0;
    this.#received = this.#applied;
    for (const id of options.recent ?? []) this.#remember(id, this.#applied);
  }

  #remember(id: string, seq: number): void {
    const e = { id, ord: ++this.#ord, seq };
    this.#recent.push(e);
    this.#recentById.set(id, e);
    // Dropped once out of the window both at receipt and at the last applied message (what a checkpoint
    // taken now carries, see recentIds): ranks are consecutive, so the entry RECENT_IDS places later
    // being applied means this one is out of the window at the last applied message too (which
    // implies out of the window at receipt, where the newest rank is even higher).
    while (this.#recent.length > RECENT_IDS && this.#recent[RECENT_IDS]!.seq <= this.#applied) {
      const old = this.#recent.shift()!;
      if (this.#recentById.get(old.id) === old) this.#recentById.delete(old.id);
    }
  }

  /**
   * The message ids in the window as of {@link applied} (oldest first): what
   * a checkpoint taken now carries, so that a daemon starting from it skips
   * the same duplicates as one that applied the whole log. Call it inside
   * {@link quiesce}.
   */
  recentIds(): string[] {
    let upto = this.#recent.length;
    while (upto > 0 && this.#recent[upto - 1]!.seq > this.#applied) upto--;
    if (upto === 0) return [];
    const lastOrd = this.#recent[upto - 1]!.ord;
    const out: string[] = [];
    for (let i = 0; i < upto; i++) if (this.#recent[i]!.ord > lastOrd - RECENT_IDS) out.push(this.#recent[i]!.id);
    return out;
  }

  /**
   * A message failed here for a reason of this daemon only (not one every
   * daemon decides alike): from then on the store may not be the log's state
   * up to {@link applied}, so no shared checkpoint may be taken of it.
   */
  get diverged(): boolean {
    return this.#diverged;
  }

  /** Stream sequence of the last message applied (0 before the first). */
  get applied(): number {
    return this.#applied;
  }

  /**
   * Runs `fn` while no store call is in flight and the store holds exactly
   * the messages up to the sequence it is given (never part of a message),
   * e.g. to take a checkpoint; applying resumes when it settles.
   */
  async quiesce<T>(fn: (seq: number) => Promise<T>): Promise<T> {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    await new Promise<void>((reached) => {
      if (this.#draining === undefined) {
        this.#held = held;
        reached();
      } else this.#pauseAt = { reached, held };
    });
    try {
      return await fn(this.#applied);
    } finally {
      this.#held = undefined;
      release();
      if (this.#queue.length > 0) this.#startDrain();
    }
  }

  /** Starts consuming after {@link ApplierOptions.after} (the stream's first message by default). */
  start(): void {
    this.#running ??= this.#loop();
    this.#watchdog.start();
  }

  /** Resolves once every message up to stream sequence `seq` is applied (at once for 0). */
  reached(seq: number): Promise<void> {
    if (seq <= this.#applied) return Promise.resolve();
    return new Promise((resolve) => this.#targets.push({ seq, resolve }));
  }

  /** Stops consuming; what is queued is applied first. */
  async close(): Promise<void> {
    this.#closed = true;
    // A quiesce waiting for a whole message that will not come (the queue was dropped) runs now, and fails on the closed store.
    if (this.#pauseAt !== undefined) {
      this.#pauseAt.reached();
      this.#pauseAt = undefined;
    }
    this.#watchdog.stop();
    this.#stop?.();
    await this.#running;
    await this.#draining;
  }

  async #loop(): Promise<void> {
    const { js, stream, logger } = this.#o;
    let wait = 100;
    while (!this.#closed && !this.#gap) {
      try {
        const consumer = await this.#newConsumer();
        // A small `expires`: after a server restart an ordered consumer stalls until its pull expires (jetstream-notes §8).
        const messages = await consumer.consume({ max_messages: 1_000, expires: 2_000 });
        void this.#logEvents(messages);
        this.#stop = () => void messages.stop();
        if (this.#closed) messages.stop();
        this.#lastDelivery = Date.now();
        for await (const m of messages) {
          // Only news counts: a consumer delivering messages received before is not following.
          if (m.seq <= this.#received) continue;
          this.#lastDelivery = Date.now();
          if (m.seq !== this.#received + 1) {
            // Retention dropped what this daemon had not applied yet: applying on would diverge, so it stops following.
            this.#gap = true;
            this.#o.onGap(this.#received + 1, m.seq);
            messages.stop();
            break;
          }
          this.#enqueue(m);
          wait = 100;
          if (this.#queue.length >= QUEUE_HIGH) await this.#draining;
          if (this.#closed) break;
        }
      } catch (err) {
        if (this.#closed) break;
        logger.warn({ err: (err as Error).message, applied: this.#applied }, 'replication: consumer failed; following again');
      }
      // No consumer until the next one is made (the watchdog then has nothing to replace).
      this.#stop = undefined;
      if (!this.#closed && !this.#gap) {
        await new Promise((r) => setTimeout(r, wait));
        wait = Math.min(wait * 2, 2_000);
      }
    }
  }

  /**
   * An ordered consumer from the message after the last received (the client recreates it from the last
   * delivered sequence when the server loses it). nats-server 2.9.10 places it on any of the stream's
   * peers, a killed one included (one in three in a 3-node cluster): that creation times out after 5 s,
   * and several in a row kept a daemon from applying for 30 s. Two are asked for at once and the first
   * made is used (the other is deleted; one never made is dropped by the server).
   */
  async #newConsumer(): Promise<Consumer> {
    const { js, stream } = this.#o;
    const asks = Array.from({ length: CONSUMER_ASKS }, () => js.consumers.get(stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.#received + 1 }));
    let first: Consumer;
    try {
      first = await Promise.any(asks);
    } catch (err) {
      throw err instanceof AggregateError ? (err.errors[0] as Error) : err;
    }
    for (const a of asks) void a.then((c) => (c === first ? undefined : c.delete()), () => undefined).catch(() => undefined);
    return first;
  }

  async #logEvents(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const s of messages.status()) {
        if (ROUTINE.has(s.type)) continue;
        // Reported every second while they go on (an idle stream's stalled consumer): at 2, 4, 8, ... only.
        if (s.type === 'heartbeats_missed' && (s.count & (s.count - 1)) !== 0) continue;
        this.#o.logger.info({ event: s, received: this.#received, applied: this.#applied }, 'replication: consumer event');
      }
    } catch {
      // Ends with the consumer.
    }
  }

  #enqueue(m: JsMsg): void {
    const msgId = m.headers?.get('Nats-Msg-Id') ?? '';
    const seen = msgId === '' ? undefined : this.#recentById.get(msgId);
    if (seen !== undefined && this.#ord - seen.ord < RECENT_IDS) {
      // The same publish stored twice (a retry the server did not deduplicate, e.g. after a leader change): applied once.
      this.#o.logger.warn({ seq: m.seq, msgId, first: seen.seq }, 'replication: skipped a message whose id was applied already');
      this.#queue.push({ seq: m.seq, key: '', op: undefined, last: true, skip: true });
      this.#received = m.seq;
      if (this.#held === undefined) this.#startDrain();
      return;
    }
    if (msgId !== '') this.#remember(msgId, m.seq);
    const decoded = decodeOps<R>(m.data);
    if (decoded === undefined) {
      this.#o.logger.warn({ seq: m.seq, subject: m.subject }, 'replication: skipped a message that is not a ring-store operation');
      this.#queue.push({ seq: m.seq, key: msgId, op: undefined, last: true });
    } else {
      const { ops, multi } = decoded;
      // Only the message's last operation completes its sequence.
      for (let i = 0; i < ops.length; i++) {
        const last = i === ops.length - 1;
        this.#queue.push({ seq: last ? m.seq : m.seq - 1, key: msgId === '' ? '' : opKey(msgId, i, multi), op: ops[i], last });
      }
    }
    this.#received = m.seq;
    if (this.#held === undefined) this.#startDrain();
  }

  #startDrain(): void {
    if (this.#draining !== undefined) return;
    this.#draining = this.#drain();
  }

  /** Hands the store to a waiting {@link quiesce} (at a whole message); true if there was one. */
  #pause(): Promise<void> | undefined {
    const p = this.#pauseAt;
    if (p === undefined || !this.#whole) return undefined;
    this.#pauseAt = undefined;
    this.#held = p.held; // before anyone else runs: no drain may start meanwhile
    p.reached();
    return p.held;
  }

  async #drain(): Promise<void> {
    // Begins once #startDrain stored it, and unsets #draining itself in the same step as its last look at
    // the queue (no await between): unset in a callback after it ended, a message queued (or a quiesce
    // asked) in between would find a drain that no longer looks, and wait for the next message to start one.
    await undefined;
    try {
      // An empty queue ends the drain at a whole message: a waiting quiesce runs then.
      for (;;) {
        const paused = this.#pause();
        if (paused !== undefined) {
          if (this.#queue.length === 0) return;
          await paused;
        }
        if (this.#queue.length === 0) return;
        const head = this.#queue[0]!;
        let n = 1;
        if (groupable(head)) {
          let records = (head.op as { r: readonly R[] }).r.length;
          while (n < this.#queue.length && groupable(this.#queue[n]!)) {
            const more = (this.#queue[n]!.op as { r: readonly R[] }).r.length;
            if (records + more > GROUP_RECORDS) break;
            records += more;
            n++;
          }
        }
        const group = this.#queue.splice(0, n);
        if (group.length > 1 && (await this.#applyGroup(group))) continue;
        for (const q of group) await this.#applyOne(q);
      }
    } finally {
      this.#draining = undefined;
    }
  }

  /** Applies unconditional appends as one store call; false (nothing stored) when one of them is refused. */
  async #applyGroup(group: Queued<R>[]): Promise<boolean> {
    const records: R[] = [];
    const ids: string[] = [];
    let without = false;
    for (const q of group) {
      const op = q.op as { r: readonly R[]; i?: readonly string[] };
      for (const r of op.r) records.push(r);
      if (op.i === undefined) without = true;
      else for (const id of op.i) ids.push(id);
    }
    // Ids for some messages and not others: apply them one by one (never from this daemon's routes).
    if (without && ids.length > 0) return false;
    let results: AppendResult[];
    try {
      results = await this.#o.store.append(records, without ? {} : { id: ids });
    } catch (error) {
      // Events are checked before any is written: one message's bad event refused the whole call.
      if (DETERMINISTIC.has((error as { code?: string }).code ?? '')) return false;
      // Part stored (a partition failed or the store closed mid-call): a message whose events were all stored
      // is applied; one with none stored fails with their error; the others with a PartialAppendError of
      // their own events (indexes into the message, as a call of its own would have named them).
      const partial = error instanceof PartialAppendError ? error : undefined;
      let at = 0;
      for (const q of group) {
        const count = (q.op as { r: readonly R[] }).r.length;
        const mine = partial?.results.slice(at, at + count);
        const why = partial?.errors.slice(at, at + count);
        at += count;
        if (mine === undefined || why === undefined) this.#settle(q, { ok: false, error });
        else if (mine.every((r) => r !== undefined)) this.#settle(q, { ok: true, value: mine });
        else if (mine.every((r) => r === undefined)) this.#settle(q, { ok: false, error: why.find((e) => e !== undefined) ?? error });
        else this.#settle(q, { ok: false, error: new PartialAppendError(mine, why) });
      }
      return true;
    }
    let at = 0;
    for (const q of group) {
      const count = (q.op as { r: readonly R[] }).r.length;
      this.#settle(q, { ok: true, value: results.slice(at, at + count) });
      at += count;
    }
    return true;
  }

  async #applyOne(q: Queued<R>): Promise<void> {
    let outcome: Applied;
    if (q.skip === true) outcome = { ok: true, value: undefined };
    else if (q.op === undefined) outcome = { ok: false, error: new Error('not a ring-store operation') };
    else {
      try {
        outcome = { ok: true, value: await run(this.#o.store, q.op) };
      } catch (error) {
        outcome = { ok: false, error };
      }
    }
    this.#settle(q, outcome);
  }

  #settle(q: Queued<R>, outcome: Applied): void {
    if (!outcome.ok) {
      const code = (outcome.error as { code?: string }).code;
      if (code === 'RS_ERR_CLOSED') {
        // The daemon is closing: not applied here (a restart replays it).
        this.#closed = true;
        this.#queue.length = 0;
      } else if (q.op !== undefined && (code === undefined || !DETERMINISTIC.has(code))) {
        // Another daemon may have applied it: this one now differs from them. (An error without a code is
        // thrown by a selector on the record itself, e.g. a foreign publisher's: every daemon throws it alike.)
        if (code !== undefined) this.#diverged = true;
        this.#o.logger.error({ err: outcome.error, seq: q.seq }, 'replication: a message failed here for a reason of this daemon only; its state may now differ from the other daemons (restart it to rebuild from the log)');
      }
    }
    if (!this.#closed && q.seq > this.#applied) this.#applied = q.seq;
    this.#whole = q.last;
    if (q.key !== '') this.#o.onApplied(q.key, outcome);
    for (let i = this.#targets.length - 1; i >= 0; i--) {
      const t = this.#targets[i]!;
      if (t.seq <= this.#applied) {
        this.#targets.splice(i, 1);
        t.resolve();
      }
    }
  }
}
