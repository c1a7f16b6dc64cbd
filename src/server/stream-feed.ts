/**
 * One shared follower per partition of the `/streams` store for the SSE
 * subscriptions (routes/subscribe.ts). A feed waits for its partition's
 * commits once, however many subscribers it has, and after each commit reads
 * each subscribed stream once, from the lowest next version of that stream's
 * ready subscribers; every subscriber takes what is new to it. 500
 * subscribers to 50 streams make 50 reads per commit, not 500, and a feed
 * with no subscriber stops.
 *
 * Reads are at least `pollMs` apart (at once again after a full page), which
 * bounds the cost of a busy partition. A subscriber whose socket does not
 * take what it was given (a slow client) is paused: it gets nothing more
 * until its socket drains, so what the daemon holds for it is bounded by one
 * read (at most {@link PAGE} events) plus the socket's buffer; it then
 * resumes from its own next version, skipping what the ring evicted
 * meanwhile (a version gap), and does not hold back the others.
 */
import type { EventStore } from '../store/event-store.js';
import type { StoredEvent } from '../store/types.js';
import type { StreamRecord } from './stores.js';

/** Most events one read returns. */
export const PAGE = 1000;
/** Longest wait for a commit before the feed looks at its subscribers again. */
const WAIT_MS = 5_000;

/** One SSE subscription, as the feed sees it. */
export interface FeedSubscriber {
  readonly stream: string;
  /** The next version this subscriber needs (it updates it as it takes events). */
  readonly next: number;
  /** False while the subscriber's socket is full: it is not read for. */
  readonly ready: boolean;
  /** Events of its stream from the group's lowest next version, in version order: it keeps those >= its own next. */
  take(events: readonly StoredEvent<StreamRecord>[]): void;
  /** The store failed or closed under the feed. */
  fail(err: unknown): void;
}

/** Counters the feeds report to (the daemon's metrics). */
export interface FeedCounters {
  /** One read of one stream for its subscribers. */
  read(): void;
}

class PartitionFeed {
  readonly subscribers = new Set<FeedSubscriber>();
  #running = false;
  #kick: (() => void) | undefined;
  #kicked = false;
  /** Streams to read without a commit (a subscriber joined, or its socket drained). */
  readonly #dirty = new Set<string>();
  /** The commit count at the last read of every stream (-1: none yet). */
  #readAll = -1;

  constructor(
    private readonly store: EventStore<StreamRecord>,
    private readonly partition: number,
    private readonly pollMs: number,
    private readonly counters: FeedCounters,
    private readonly isClosed: () => boolean,
  ) {}

  add(s: FeedSubscriber): void {
    this.subscribers.add(s);
    this.wake(s.stream);
  }

  /**
   * Reads `stream` now (a subscriber joined or its socket drained) instead of
   * waiting for the next commit; with no stream, only restarts a stopped feed.
   */
  wake(stream?: string): void {
    if (stream !== undefined) this.#dirty.add(stream);
    this.#kicked = true;
    this.#kick?.();
    if (!this.#running) {
      this.#running = true;
      void this.#run();
    }
  }

  async #run(): Promise<void> {
    try {
      while (this.subscribers.size > 0 && !this.isClosed()) {
        this.#kicked = false;
        const since = this.store.commitCount(this.partition);
        const readAt = Date.now();
        // After a commit every stream is read; otherwise only those a subscriber is waiting on.
        const all = since !== this.#readAll;
        this.#readAll = since;
        const only = all ? undefined : new Set(this.#dirty);
        this.#dirty.clear();
        const full = await this.#readOnce(only);
        if (full || this.#kicked) continue;
        if (this.subscribers.size === 0) break;
        await this.#nextCommit(since);
        const gap = this.pollMs - (Date.now() - readAt);
        if (gap > 0) await new Promise((r) => setTimeout(r, gap));
      }
    } catch (err) {
      // The store closed or failed under the feed: every subscriber is told, and the feed stops.
      for (const s of [...this.subscribers]) s.fail(err);
      this.subscribers.clear();
    } finally {
      this.#running = false;
    }
    // A subscriber that came while the loop was ending.
    if (this.subscribers.size > 0 && !this.isClosed()) this.wake();
  }

  /** One read per stream with ready subscribers (of `only`, if given); true if any read filled a page. */
  async #readOnce(only: ReadonlySet<string> | undefined): Promise<boolean> {
    const groups = new Map<string, FeedSubscriber[]>();
    for (const s of this.subscribers) {
      if (!s.ready || (only !== undefined && !only.has(s.stream))) continue;
      const g = groups.get(s.stream);
      if (g === undefined) groups.set(s.stream, [s]);
      else g.push(s);
    }
    let full = false;
    await Promise.all([...groups].map(async ([stream, group]) => {
      let from = Infinity;
      for (const s of group) from = Math.min(from, s.next);
      this.counters.read();
      let events: StoredEvent<StreamRecord>[];
      try {
        events = await this.store.snapshot({ keys: [stream], fromVersion: from, limit: PAGE, partitions: [this.partition] });
      } catch (err) {
        for (const s of group) if (this.subscribers.has(s)) s.fail(err);
        return;
      }
      if (events.length >= PAGE) {
        // More to read at once, commit or not.
        full = true;
        this.#dirty.add(stream);
      }
      events.sort((a, b) => a.version - b.version);
      for (const s of group) if (this.subscribers.has(s)) s.take(events);
    }));
    return full;
  }

  /** Until the partition commits after `since`, a wake(), or WAIT_MS. */
  #nextCommit(since: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.#kick = undefined;
        resolve();
      };
      this.#kick = done;
      if (this.#kicked) {
        done();
        return;
      }
      // waitForCommit settles within WAIT_MS, so the reaction it holds is short-lived.
      this.store.waitForCommit(this.partition, since, WAIT_MS).then(() => this.#kick === done && done(), () => this.#kick === done && done());
    });
  }
}

/** The feeds of one store, one per partition, made when a first subscriber comes. */
export class StreamFeeds {
  readonly #feeds = new Map<number, PartitionFeed>();
  #closed = false;

  constructor(
    private readonly store: EventStore<StreamRecord>,
    private readonly pollMs: number,
    private readonly counters: FeedCounters,
  ) {}

  /** Follows `s.stream` for `s`; returns what ends it, and what wakes its feed (its socket drained). */
  subscribe(s: FeedSubscriber): { unsubscribe: () => void; wake: () => void } {
    const p = this.store.partitionOf(s.stream);
    let feed = this.#feeds.get(p);
    if (feed === undefined) {
      feed = new PartitionFeed(this.store, p, this.pollMs, this.counters, () => this.#closed);
      this.#feeds.set(p, feed);
    }
    const f = feed;
    f.add(s);
    return { unsubscribe: () => void f.subscribers.delete(s), wake: () => f.wake(s.stream) };
  }

  /** Subscribers following the store now (every feed). */
  get size(): number {
    let n = 0;
    for (const f of this.#feeds.values()) n += f.subscribers.size;
    return n;
  }

  /** Stops every feed (the daemon closes). */
  close(): void {
    this.#closed = true;
    for (const f of this.#feeds.values()) f.wake();
  }
}
