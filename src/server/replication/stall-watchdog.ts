/**
 * Keeps an {@link Applier} applying its log whatever its consumer or its
 * drain do: a daemon that stops answers every write with RS_ERR_REPLICATION
 * until it is restarted. Looks every third of a stall period at two things:
 * - messages received but none applied for a stall period: a drain that
 *   should run and does not is started again; a store call that does not
 *   answer is reported (nothing else is safe: the messages of a call in
 *   flight may be stored already, so they cannot be received again);
 * - an ordered consumer can stop delivering without ending (seen after a
 *   stream leader was killed, and after a server restart: jetstream-notes
 *   §8): when nothing new came for a stall period but the stream holds more,
 *   or the stream's info cannot be had for several periods (an election, a
 *   reconnect), a new consumer follows from the last message received (the
 *   applier's queue holds the rest up to it).
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from 'pino';

/** A consumer that delivered nothing new for this long while the stream holds more is replaced, ms (default). */
export const STALL_MS = 3_000;
/** Stall periods a stream info request may take (bounded here: one that never settled stopped the watchdog for good). */
const INFO_STALLS = 2;
/** Stall periods without the stream's info and without deliveries after which the consumer is replaced anyway. */
const BLIND_STALLS = 4;

/** What the watchdog reads from and does to its applier. */
export interface Watched {
  /** Closed, or stopped following (a gap): nothing to watch. */
  readonly stopped: boolean;
  /** Last sequence taken from the consumer, and last applied to the store. */
  readonly received: number;
  readonly applied: number;
  /** Operations waiting in the queue. */
  readonly queued: number;
  /** A drain is running. */
  readonly draining: boolean;
  /** A quiesce holds the store (applying is paused on purpose). */
  readonly held: boolean;
  /** When the consumer last delivered a message not received before (or was created), ms. */
  readonly lastDelivery: number;
  /** A consumer is open (not while the applier makes a new one: a creation that times out takes 5 s). */
  readonly following: boolean;
  /** Starts a drain of the queue. */
  restartDrain(): void;
  /** Stops the consumer: the applier follows again from the last message received. */
  refollow(): void;
}

/** Options of a {@link StallWatchdog}. */
export interface StallWatchdogOptions {
  readonly jsm: JetStreamManager;
  readonly stream: string;
  readonly logger: Logger;
  readonly stallMs: number;
}

/** See the module comment. */
export class StallWatchdog {
  readonly #w: Watched;
  readonly #o: StallWatchdogOptions;
  #timer: ReturnType<typeof setInterval> | undefined;
  #asking = false;
  /** Since when the stream's info could not be had (undefined: it could at the last look). */
  #blindSince: number | undefined;
  /** `applied` at the last look, and since when it has not moved while messages wait. */
  #seenApplied = -1;
  #appliedAt = Date.now();
  /** The current apply stall was reported. */
  #slowReported = false;

  constructor(watched: Watched, options: StallWatchdogOptions) {
    this.#w = watched;
    this.#o = options;
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.check(), Math.max(10, Math.round(this.#o.stallMs / 3)));
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** One look (the timer's). */
  async check(): Promise<void> {
    if (this.#w.stopped) return;
    this.#checkApplying();
    if (this.#asking || !this.#w.following || Date.now() - this.#w.lastDelivery < this.#o.stallMs) return;
    this.#asking = true;
    try {
      await this.#checkConsumer();
    } finally {
      this.#asking = false;
    }
  }

  #checkApplying(): void {
    const w = this.#w;
    const now = Date.now();
    if (w.applied !== this.#seenApplied || w.received === w.applied || w.held) {
      this.#seenApplied = w.applied;
      this.#appliedAt = now;
      this.#slowReported = false;
      return;
    }
    if (now - this.#appliedAt < this.#o.stallMs) return;
    if (!w.draining && w.queued > 0) {
      this.#o.logger.warn({ applied: w.applied, received: w.received, queued: w.queued }, 'replication: received messages were not being applied; applying again');
      this.#appliedAt = now;
      w.restartDrain();
    } else if (!this.#slowReported) {
      this.#slowReported = true;
      this.#o.logger.warn({ applied: w.applied, received: w.received, queued: w.queued, ms: now - this.#appliedAt }, 'replication: the local store has not answered a call for a while; writes wait for it');
    }
  }

  async #checkConsumer(): Promise<void> {
    const { jsm, stream, stallMs } = this.#o;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const info = await Promise.race([
        jsm.streams.info(stream),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('no stream info')), stallMs * INFO_STALLS);
        }),
      ]);
      this.#blindSince = undefined;
      if (info.state.last_seq > this.#w.received && info.state.messages > 0 && Date.now() - this.#w.lastDelivery >= stallMs) {
        this.#refollow({ lastSeq: info.state.last_seq }, 'replication: the consumer stalled; following again from the last message received');
      }
    } catch (err) {
      // Asked again at the next look; not waited for forever.
      const now = Date.now();
      this.#blindSince ??= now;
      if (now - this.#blindSince >= stallMs * BLIND_STALLS && now - this.#w.lastDelivery >= stallMs * BLIND_STALLS) {
        this.#blindSince = undefined;
        this.#refollow({ err: (err as Error).message }, 'replication: the consumer delivered nothing while the stream could not be asked; following again from the last message received');
      }
    } finally {
      clearTimeout(timer);
    }
  }

  #refollow(details: object, msg: string): void {
    if (this.#w.stopped) return;
    this.#o.logger.warn({ received: this.#w.received, applied: this.#w.applied, ...details }, msg);
    this.#w.refollow();
  }
}
