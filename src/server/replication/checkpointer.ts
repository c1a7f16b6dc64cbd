/**
 * When a daemon writes a shared checkpoint of one ring store: once its log
 * moved on `every` messages since the newest checkpoint, at most once per
 * `minIntervalMs`, and only while it holds the writer's lease (so the
 * daemons do not all do the same work; when the writer dies, another takes
 * over once the lease lapses). The images are taken between two applied
 * messages (Applier.quiesce): the store then holds exactly the log up to a
 * sequence. Compressing and publishing run after applying resumed.
 */
import type { Logger } from 'pino';
import type { EventStore } from '../../store/event-store.js';
import type { Applier } from './applier.js';
import { packImages } from './checkpoint-codec.js';
import type { SharedCheckpoints } from './shared-checkpoints.js';

/** How often the schedule is looked at, ms. */
const TICK_MS = 200;

/** Options of a {@link Checkpointer}. */
export interface CheckpointerOptions<R> {
  readonly checkpoints: SharedCheckpoints;
  readonly applier: Applier<R>;
  readonly store: EventStore<R>;
  /** Log messages between two checkpoints (0: this daemon writes none). */
  readonly every: number;
  readonly minIntervalMs: number;
  /** The writer's lease, ms. */
  readonly claimMs: number;
  /** The log's description and creation time (checked by readers). */
  readonly sizing: string;
  readonly logCreated: string;
  /** This daemon's name in manifests and claims. */
  readonly origin: string;
  /** The newest checkpoint of this log known at start (its sequence; 0: none). */
  readonly newest: number;
  readonly logger: Logger;
}

/** See the module comment. */
export class Checkpointer<R> {
  readonly #o: CheckpointerOptions<R>;
  #newest: number;
  #lastAttempt = -Infinity;
  #running: Promise<void> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(o: CheckpointerOptions<R>) {
    this.#o = o;
    this.#newest = o.newest;
  }

  /** Log sequence of the newest checkpoint this daemon knows of. */
  get newest(): number {
    return this.#newest;
  }

  start(): void {
    if (this.#o.every <= 0 || this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      if (this.#running === undefined && this.#due()) {
        this.#running = this.#write().finally(() => {
          this.#running = undefined;
        });
      }
    }, TICK_MS);
    this.#timer.unref();
  }

  #due(): boolean {
    // A store that may differ from the log's state is not shared: every daemon started later would load it.
    return !this.#closed && !this.#o.applier.diverged && this.#o.applier.applied - this.#newest >= this.#o.every && performance.now() - this.#lastAttempt >= this.#o.minIntervalMs;
  }

  async #write(): Promise<void> {
    const o = this.#o;
    this.#lastAttempt = performance.now();
    try {
      // Another daemon may have written one meanwhile.
      const latest = await o.checkpoints.latest();
      const theirs = latest?.manifest;
      if (theirs != null && theirs.logCreated === o.logCreated && theirs.sizing === o.sizing && theirs.seq > this.#newest) this.#newest = theirs.seq;
      if (!this.#due() || !(await o.checkpoints.claim(o.origin, o.claimMs))) return;
      const t0 = performance.now();
      let taken: { seq: number; recent: string[]; images: Uint8Array[] } | undefined = await o.applier.quiesce(async (at) =>
        (o.applier.diverged ? undefined : { seq: at, recent: o.applier.recentIds(), images: await o.store.exportImages() }));
      const pausedMs = performance.now() - t0;
      if (taken === undefined) return;
      const { seq, recent } = taken;
      if (seq <= this.#newest) return;
      const packed = await packImages(taken.images);
      // Not held during the upload: only the compressed bytes are.
      taken = undefined;
      const m = await o.checkpoints.publish({ seq, sizing: o.sizing, logCreated: o.logCreated, by: o.origin, recent }, packed, latest);
      if (m === undefined) {
        o.logger.info({ seq }, 'replication: another daemon stored a checkpoint first');
        return;
      }
      this.#newest = seq;
      o.logger.info({ seq, bytes: m.bytes, raw: m.sizes.reduce((a, b) => a + b, 0), chunks: m.chunks.length, pausedMs: Math.round(pausedMs), ms: Math.round(performance.now() - t0) }, 'replication: checkpoint stored');
    } catch (err) {
      if (!this.#closed) o.logger.warn({ err: (err as Error).message }, 'replication: could not store a checkpoint; trying again later');
    }
  }

  /** Stops the schedule; a checkpoint being written finishes (or fails) first. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#running;
  }
}
