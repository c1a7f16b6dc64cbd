/**
 * One replicated ring store: operations are published to its JetStream
 * stream (one message per append batch) and answered once this daemon's
 * {@link Applier} applied them, so that the HTTP answer carries the same
 * positions, versions and duplicates every daemon computes, and a read on
 * this daemon after the answer sees the write.
 */
import { randomBytes } from 'node:crypto';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { EventStore } from '../../store/event-store.js';
import type { AppendResult } from '../../store/types.js';
import { isTransient } from '../../streams/backends/nats-log.js';
import { RingstoreError } from '../../errors.js';
import { HttpError } from '../errors.js';
import { Applier, type Applied } from './applier.js';
import type { SharedCheckpoints } from './shared-checkpoints.js';
import { Checkpointer } from './checkpointer.js';
import { encodeOps, opJson, opKey, type RingOp } from './messages.js';
import { ensureRingLog } from './ring-log.js';
import { seedStore } from './seed.js';

/** Room left in a message for its headers (the message id) and the protocol line. */
const HEADER_ROOM = 512;
/** Publishes in flight per ring store; operations arriving meanwhile share the next message. With 4, a burst of 180 requests still made 180 messages (an ack came back before the next requests were parsed); 1 and 4 did not differ in CPU per request beyond this VM's noise. */
const WINDOW = 2;
/** Most operations in one message. */
const MAX_OPS = 256;

interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** An operation waiting to be published, then applied. */
interface Pending {
  readonly json: string;
  readonly bytes: number;
  readonly deadline: number;
  /** Its waiter key, once in a message. */
  key: string;
  readonly acked: Deferred<number>;
  readonly applied: Deferred<Applied>;
}

/** Options of {@link RingReplica.open}. */
export interface RingReplicaOptions<R> {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** `streams` or `metrics`: names the JetStream stream and subject. */
  readonly name: string;
  readonly store: EventStore<R>;
  readonly replicas: number;
  /** How long a publish is retried through outages, and how long an acknowledged one may take to be applied here, ms. */
  readonly writeTimeoutMs: number;
  /** This ring store's shared checkpoints. */
  readonly checkpoints: SharedCheckpoints;
  /** Log messages between two checkpoints this daemon writes (0: none; undefined: a quarter of the capacity). */
  readonly checkpointEvery: number | undefined;
  readonly checkpointMinMs: number;
  /** The writer's lease on checkpoints, ms. */
  readonly checkpointClaimMs: number;
  /** Called when this daemon, running, finds that retention dropped messages it had not applied. */
  readonly onGap: (stream: string, expected: number, got: number) => void;
  readonly logger: Logger;
}

interface Waiter {
  resolve(outcome: Applied): void;
}

/** See the module comment. */
export class RingReplica<R> {
  readonly subject: string;
  readonly #o: RingReplicaOptions<R>;
  readonly #applier: Applier<R>;
  #checkpointer: Checkpointer<R> | undefined;
  /** Set once a gap showed up while running: this daemon no longer applies the log, so it publishes nothing more. */
  #gap: HttpError | undefined;
  /** Rejects the open when a gap shows up while catching up. */
  #openGap: ((err: Error) => void) | undefined;
  readonly #waiters = new Map<string, Waiter>();
  /** Message ids: unique per daemon run (random origin) and per operation; a retry reuses its id. */
  readonly #origin = randomBytes(6).toString('base64url');
  #next = 0;
  #inflight = 0;
  #publishing = 0;
  readonly #pending: Pending[] = [];

  /** The JetStream stream. */
  readonly stream: string;

  private constructor(options: RingReplicaOptions<R>, stream: string, after: number, recent: readonly string[]) {
    this.#o = options;
    this.stream = stream;
    this.subject = `ringstore.ring.${options.name}`;
    this.#applier = new Applier<R>({
      js: options.js,
      jsm: options.jsm,
      stream,
      store: options.store,
      logger: options.logger,
      after,
      recent,
      onGap: (expected, got) => {
        const err = new HttpError('RS_ERR_REPLICATION_GAP', `the ring-store log ${stream} no longer holds messages ${expected}..${got - 1}, which this daemon had not applied (retention)`, { stream, expected, got });
        if (this.#openGap !== undefined) this.#openGap(err);
        else {
          // Writes are refused from now on, and those waiting for their apply here will never see it.
          this.#gap = err;
          for (const w of this.#waiters.values()) w.resolve({ ok: false, error: err });
          this.#waiters.clear();
          // Those not published yet never will be.
          for (const e of this.#pending.splice(0)) e.acked.reject(err);
          options.logger.error({ stream, expected, got }, 'replication: this daemon fell behind its log by more than the log keeps; its ring store now differs from the other daemons (/ready answers 503 RS_ERR_REPLICATION_GAP): restart it');
          options.onGap(stream, expected, got);
        }
      },
      onApplied: (id, outcome) => {
        const w = this.#waiters.get(id);
        if (w === undefined) return;
        this.#waiters.delete(id);
        w.resolve(outcome);
      },
    });
  }

  /**
   * Creates or checks the stream, then applies every message it holds;
   * resolves once caught up with the stream's last message at the time of the
   * call (logs how many and how long).
   */
  static async open<R>(options: RingReplicaOptions<R>): Promise<RingReplica<R>> {
    const stream = `RINGSTORE_RING_${options.name.toUpperCase()}`;
    const subject = `ringstore.ring.${options.name}`;
    const info = await ensureRingLog(options.jsm, {
      stream,
      subject,
      capacity: options.store.capacity,
      geometry: options.store.geometry,
      replicas: options.replicas,
      duplicateWindowMs: Math.max(120_000, options.writeTimeoutMs * 2),
    });
    const started = performance.now();
    const { messages, first_seq: first, last_seq: last } = info.state;
    const sizing = info.config.description ?? '';
    const logCreated = String(info.created);
    const capacity = options.store.capacity;
    const every = options.checkpointEvery ?? Math.max(1, Math.floor(capacity / 4));
    if (every >= capacity && capacity > 1) throw new RingstoreError('RS_ERR_INVALID_OPTION', `--nats-checkpoint-every (${every}) must be below the capacity (${capacity}): the log keeps ${capacity} messages`);
    // Messages up to `dropped` are gone (retention): start from a checkpoint that covers them, or refuse.
    const seeded = await seedStore({ checkpoints: options.checkpoints, store: options.store, stream, dropped: messages === 0 ? last : first - 1, last, sizing, logCreated, logger: options.logger });
    const r = new RingReplica<R>(options, stream, seeded.after, seeded.recent ?? []);
    r.#checkpointer = new Checkpointer<R>({
      checkpoints: options.checkpoints, applier: r.#applier, store: options.store, every, minIntervalMs: options.checkpointMinMs,
      claimMs: options.checkpointClaimMs, sizing, logCreated, origin: r.#origin, newest: seeded.newest, logger: options.logger,
    });
    r.#applier.start();
    try {
      await new Promise<void>((resolve, reject) => {
        r.#openGap = reject;
        r.#applier.reached(last).then(resolve, reject);
      });
    } catch (err) {
      await r.close();
      throw err;
    } finally {
      r.#openGap = undefined;
    }
    r.#checkpointer.start();
    options.logger.info({ stream, messages, lastSeq: last, fromSeq: seeded.after, ms: Math.round(performance.now() - started) }, 'replication: caught up with the log');
    return r;
  }

  /** Stream sequence of the last message applied here. */
  get applied(): number {
    return this.#applier.applied;
  }

  /** Appends published but not yet answered. */
  get inflight(): number {
    return this.#inflight;
  }

  /**
   * Publishes an append batch and resolves with its results as applied here
   * (rejects with the store's error: a conflict, a bad event).
   */
  async append(records: readonly R[], expectedVersion: number | undefined, ids: readonly string[] | undefined): Promise<AppendResult[]> {
    return (await this.#submit({ k: 'append', r: records, ...(expectedVersion !== undefined ? { e: expectedVersion } : {}), ...(ids !== undefined ? { i: ids } : {}) })) as AppendResult[];
  }

  /** Clears the store on every daemon; resolves with what was removed here. */
  async clear(): Promise<number> {
    return (await this.#submit({ k: 'clear' })) as number;
  }

  /** Purges events older than `before` on every daemon; resolves with what was removed here. */
  async purge(before: number): Promise<number> {
    return (await this.#submit({ k: 'purge', before })) as number;
  }

  async #submit(op: RingOp<R>): Promise<unknown> {
    // It would be applied by the other daemons but never answered here.
    if (this.#gap !== undefined) throw this.#gap;
    const json = opJson(op);
    const bytes = Buffer.byteLength(json);
    if (bytes > this.#maxBody()) {
      throw new HttpError('RS_ERR_BODY_TOO_LARGE', `with --nats an append batch is one JetStream message: this one encodes to ${bytes} bytes, the server takes at most ${this.#maxBody()}; split it`);
    }
    const deadline = Date.now() + this.#o.writeTimeoutMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const entry: Pending = { json, bytes, deadline, key: '', acked: deferred<number>(), applied: deferred<Applied>() };
    this.#pending.push(entry);
    this.#inflight++;
    this.#pump();
    try {
      const seq = await entry.acked.promise;
      const outcome = await Promise.race([
        entry.applied.promise,
        new Promise<undefined>((resolve) => {
          // Counted from the acknowledgement, not from the publish deadline: a publish acknowledged late (it
          // waited for a slot behind slow ones, or its last attempt was answered after the deadline) left
          // this daemon no time to apply a stored append, and its POST answered 503 for nothing.
          // Unref'd: the open request keeps the process alive; after shutdown it must not (up to writeTimeoutMs).
          timer = setTimeout(() => resolve(undefined), this.#o.writeTimeoutMs);
          timer.unref();
        }),
      ]);
      if (outcome === undefined) {
        throw new HttpError('RS_ERR_REPLICATION', `JetStream stored the append (sequence ${seq}) but this daemon has not applied it within ${this.#o.writeTimeoutMs} ms; other daemons may show it`);
      }
      if (!outcome.ok) throw outcome.error;
      return outcome.value;
    } finally {
      clearTimeout(timer);
      this.#waiters.delete(entry.key);
      this.#inflight--;
    }
  }

  /** Largest message body, bytes. */
  #maxBody(): number {
    return (this.#o.nc.info?.max_payload ?? 1_048_576) - HEADER_ROOM;
  }

  /**
   * Starts publishes while fewer than {@link WINDOW} are in flight; each takes
   * every operation waiting (up to the message size), so that requests arriving
   * during a round trip to JetStream share the next message.
   */
  #pump(): void {
    if (this.#gap !== undefined) {
      for (const e of this.#pending.splice(0)) e.acked.reject(this.#gap);
      return;
    }
    while (this.#publishing < WINDOW && this.#pending.length > 0) {
      const max = this.#maxBody() - 32;
      let n = 0;
      let size = 0;
      while (n < this.#pending.length && n < MAX_OPS && (n === 0 || size + this.#pending[n]!.bytes + 1 <= max)) size += this.#pending[n++]!.bytes + 1;
      const group = this.#pending.splice(0, n);
      const msgID = `${this.#origin}.${(this.#next++).toString(36)}`;
      const multi = group.length > 1;
      group.forEach((e, i) => {
        e.key = opKey(msgID, i, multi);
        this.#waiters.set(e.key, { resolve: e.applied.resolve });
      });
      this.#publishing++;
      const deadline = Math.min(...group.map((e) => e.deadline));
      void this.#publish(encodeOps(group.map((e) => e.json)), msgID, deadline).then(
        (seq) => {
          for (const e of group) e.acked.resolve(seq);
        },
        (err: unknown) => {
          for (const e of group) e.acked.reject(err);
        },
      ).finally(() => {
        this.#publishing--;
        this.#pump();
      });
    }
  }

  /** Publishes under one message id until acknowledged (a retry of a stored publish is a duplicate, not a second message). */
  async #publish(payload: Uint8Array, msgID: string, deadline: number): Promise<number> {
    let wait = 50;
    for (let attempt = 1; ; attempt++) {
      try {
        const ack = await this.#o.js.publish(this.subject, payload, { msgID, timeout: Math.max(100, Math.min(5_000, deadline - Date.now())) });
        return ack.seq;
      } catch (err) {
        if (!isTransient(err) || Date.now() + wait >= deadline) {
          this.#o.logger.warn({ err: (err as Error).message, msgID, attempt }, 'replication: publish failed');
          throw new HttpError('RS_ERR_REPLICATION', `JetStream did not acknowledge the append: ${(err as Error).message}; its outcome is unknown, retry with the same idempotency id`);
        }
        await new Promise((r) => setTimeout(r, wait));
        wait = Math.min(wait * 2, 1_000);
      }
    }
  }

  /** Stops following the stream; appends still waiting for their apply answer `RS_ERR_CLOSED` (their outcome is in the log). */
  async close(): Promise<void> {
    await this.#checkpointer?.close();
    await this.#applier.close();
    const error = new HttpError('RS_ERR_CLOSED', 'the daemon is shutting down; the append may be in the log: retry with the same idempotency id');
    for (const w of this.#waiters.values()) w.resolve({ ok: false, error });
    this.#waiters.clear();
  }
}
