/**
 * The producer's side of the ack rings (ring/ack-ring.ts): which append()
 * calls wait for which ticket, per partition, and the wait on the producer's
 * bell that settles them as partition workers write acks. Also wakes callers
 * waiting for ring space or ack slots (space frees as acks are read).
 *
 * A pending ticket always settles: with its ack; or, when its partition
 * stopped (the store closed) or failed for good, with RS_ERR_CLOSED or
 * RS_ERR_WORKER once every ack the worker wrote has been read, so a rejected
 * append is one whose record was never committed.
 */
import { ClosedError, ConflictError, PartialAppendError, RingstoreError } from '../errors.js';
import { AckRingReader, AckStatus } from '../ring/ack-ring.js';
import { Ctl, PartitionMemory, PartitionState, type ControlMemory } from '../ring/layout.js';
import { PendingTable } from './pending-table.js';
import type { AppendResult } from './types.js';

/** How often a waiting producer re-checks its acks without a notify. */
const ACK_POLL_MS = 20;
/** Idle poll ticks (no acks pending) before the poll timer is dropped: about a second. */
const IDLE_TICKS = 50;
const C_STALLED = PartitionMemory.ctl(Ctl.STALLED);

/**
 * The results of one append() call, settled as its acks arrive. An array's
 * call settles only once every event has an outcome: it resolves if all were
 * stored, rejects with the first error if none was (RS_ERR_IO_UNKNOWN if any
 * event got it: that one may be stored), and with a PartialAppendError naming
 * each stored event otherwise, so a rejection never hides a stored event.
 */
export interface Collector {
  /** The call's events, by index: their ids (for the results) and keys (for a conflict's error). */
  events: readonly TrackedEvent[];
  /** The call's expectedVersion, or -1 (for a conflict's error). */
  expected: number;
  results: AppendResult[];
  /** Why event i was not stored (arrays; created on the first failure). */
  errors: (Error | undefined)[] | undefined;
  /** Events without an outcome yet. */
  remaining: number;
  /** Events given a ticket so far (in index order): the others were never written. */
  tracked: number;
  done: boolean;
  single: boolean;
  resolve: (value: AppendResult | AppendResult[]) => void;
  reject: (err: Error) => void;
}

/** What settling an event needs from the call besides its ack. */
export interface TrackedEvent {
  readonly id: string;
  readonly key: string;
}

/** A collector for an append() call of `events`. */
export function collector(
  events: readonly TrackedEvent[], expected: number, single: boolean, resolve: Collector['resolve'], reject: Collector['reject'],
): Collector {
  const n = events.length;
  return { events, expected, results: new Array(n), errors: undefined, remaining: n, tracked: 0, done: false, single, resolve, reject };
}

/** Events [c.tracked, end) were never written (the call failed before): none of them is stored. */
export function failUnwritten(c: Collector, err: Error): void {
  for (let i = c.tracked; i < c.results.length; i++) fail(c, i, err);
}

/** One partition's ack ring for this producer, and the tickets waiting on it (each: its call and event index). */
interface AckLane {
  readonly mem: PartitionMemory;
  readonly reader: AckRingReader;
  readonly pending: PendingTable<Collector>;
}

/**
 * The error of a partition that will commit nothing more, or undefined while it runs. `pending`: the
 * append was written and waits for its ack (else it is refused before anything is written).
 */
export function partitionGone(mem: PartitionMemory, partition: number, pending = false): RingstoreError | undefined {
  const state = mem.state();
  if (state === PartitionState.RUNNING) return undefined;
  if (state === PartitionState.STOPPED) return new ClosedError(pending ? 'the store was closed while the append was pending' : 'the store is closed');
  return new RingstoreError('RS_ERR_WORKER', `partition ${partition} failed for good (its worker kept dying); the append was not committed`, { partition });
}

/** Tracks the tickets of one producer and settles them from its ack rings. */
export class AckPump {
  private readonly lanes: AckLane[];
  private readonly bell: number;
  private readonly i32: Int32Array;
  /** Rings partition p's worker if it stalled waiting for this producer to read acks. */
  private readonly wakeWorker: (p: number) => void;
  private total = 0;
  private pumping = false;
  private stopped = false;
  private idleTicks = 0;
  /** Poll timer; also what keeps the process alive while acks are pending (see start()). */
  private poll: ReturnType<typeof setInterval> | undefined;
  /** False under the lost-wake-up test (partition-worker.ts, NO_WAKE_POLL): the poll timer only keeps the process alive. */
  private readonly rePoll = process.env.RINGSTORE_TEST_NO_WAKE_POLL !== '1';
  private spaceWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];

  constructor(mems: readonly PartitionMemory[], ctl: ControlMemory, producerId: number, wakeWorker: (p: number) => void) {
    this.lanes = mems.map((mem) => ({ mem, reader: new AckRingReader(mem, producerId), pending: new PendingTable<Collector>() }));
    this.bell = ctl.bellIndex(producerId);
    this.i32 = ctl.i32;
    this.wakeWorker = wakeWorker;
  }

  /** Appends pending a commit, over all partitions. */
  get pending(): number {
    return this.total;
  }

  /** Whether `acks` more tickets fit in partition `p`'s ack ring (one entry always stays free). */
  hasRoom(p: number, acks: number): boolean {
    const lane = this.lanes[p];
    return lane.pending.size + acks <= lane.reader.capacity - 1;
  }

  /** Registers event `index` of `collector` as waiting on partition `p`; returns its ticket. */
  track(p: number, collector: Collector, index: number): number {
    return this.trackRange(p, collector, index, 1);
  }

  /**
   * Registers events [index, index + n) of `collector`, written in one claim
   * to partition `p`, as waiting on n consecutive tickets; returns the first
   * (event index + i has ticket `(first + i) | 0`). The caller checked
   * {@link hasRoom} for n.
   */
  trackRange(p: number, collector: Collector, index: number, n: number): number {
    const lane = this.lanes[p];
    const first = lane.reader.nextTickets(n);
    lane.pending.addRun(first, n, collector, index);
    collector.tracked = index + n;
    this.total += n;
    this.start();
    return first;
  }

  /** Resolves once some ack was read (ring space or ack slots may be free), or after 1 ms. */
  waitForSpace(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.spaceWaiters.push(resolve);
      this.start();
      // Space also frees without acks (tryAppend traffic): poll as a fallback.
      setTimeout(resolve, 1);
    });
  }

  /** Resolves once nothing is pending. */
  whenIdle(): Promise<void> {
    if (this.total === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.idleWaiters.push(resolve);
      this.start();
    });
  }

  /** Stops the pump and its timer (call once nothing is pending). */
  stop(): void {
    this.stopped = true;
    this.releaseSpaceWaiters();
    clearInterval(this.poll);
    this.poll = undefined;
    // End a wait in progress, so the pump (and what it holds) is not left waiting forever.
    Atomics.add(this.i32, this.bell, 1);
    Atomics.notify(this.i32, this.bell);
  }

  private ring(): void {
    Atomics.add(this.i32, this.bell, 1);
    Atomics.notify(this.i32, this.bell);
  }

  private start(): void {
    if (this.pumping || this.stopped) return;
    this.pumping = true;
    // Atomics.waitAsync does not keep the process alive by itself: the poll timer is ref'd
    // while acks are pending. It also re-rings the bell every ACK_POLL_MS, in place of a wait
    // timeout (on Node 20 a timed waitAsync costs a libuv timer per call, ~10 µs per wake-up,
    // measured), so acks are still seen if a notify is ever missed. Kept across waits (a timer
    // per wait would cost what the timeout did), dropped after about a second idle.
    this.poll ??= setInterval(() => {
      if (this.pumping) {
        this.idleTicks = 0;
        if (this.rePoll) this.ring();
      } else if (++this.idleTicks >= IDLE_TICKS) {
        clearInterval(this.poll);
        this.poll = undefined;
      }
    }, ACK_POLL_MS);
    this.poll.ref();
    void this.pump();
  }

  /** Waits on the bell and settles acks until nothing is pending. */
  private async pump(): Promise<void> {
    try {
      while (!this.stopped && (this.total > 0 || this.spaceWaiters.length > 0)) {
        const seen = Atomics.load(this.i32, this.bell);
        this.drain();
        this.releaseSpaceWaiters();
        if (this.total === 0) this.releaseIdleWaiters();
        if (this.total === 0 && this.spaceWaiters.length === 0) break;
        const r = Atomics.waitAsync(this.i32, this.bell, seen);
        if (r.async) await r.value;
      }
    } finally {
      this.pumping = false;
      this.poll?.unref();
    }
  }

  private releaseSpaceWaiters(): void {
    if (this.spaceWaiters.length === 0) return;
    const waiters = this.spaceWaiters;
    this.spaceWaiters = [];
    for (const w of waiters) w();
  }

  private releaseIdleWaiters(): void {
    if (this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Settles every ack the workers wrote (and committed) for this producer. */
  private drain(): void {
    for (let p = 0; p < this.lanes.length; p++) {
      const lane = this.lanes[p];
      if (lane.pending.size === 0 && lane.reader.unread() === 0) continue;
      // The state is read before the acks: acks written before a stop or failure are read below.
      const gone = lane.pending.size > 0 ? partitionGone(lane.mem, p, true) : undefined;
      const pending = lane.pending;
      const read = lane.reader.drain((ticket, status, position, version) => {
        const c = pending.take(ticket);
        if (c === undefined) return; // a re-sent ack after a worker restart
        this.total--;
        settle(c, pending.takenIndex, status, p, position, version);
      });
      if (read > 0 && Atomics.load(lane.mem.i32, C_STALLED) === 1) this.wakeWorker(p);
      if (gone !== undefined && pending.size > 0) {
        this.total -= pending.size;
        pending.clear((c, index) => fail(c, index, gone));
      }
    }
  }
}

/** Event `index` of the call was not stored, because of `err`. */
function fail(c: Collector, index: number, err: Error): void {
  if (c.done) return;
  if (c.single) {
    c.done = true;
    c.reject(err);
    return;
  }
  (c.errors ??= new Array(c.results.length))[index] = err;
  if (--c.remaining === 0) finish(c);
}

/** Every event of an array's call has its outcome. */
function finish(c: Collector): void {
  c.done = true;
  const errors = c.errors;
  if (errors === undefined) {
    c.resolve(c.results);
    return;
  }
  let stored = 0;
  let first: Error | undefined;
  let unknown: Error | undefined;
  for (let i = 0; i < errors.length; i++) {
    const e = errors[i];
    if (e === undefined) stored++;
    else {
      first ??= e;
      if ((e as RingstoreError).code === 'RS_ERR_IO_UNKNOWN') unknown ??= e;
    }
  }
  // None stored: one error for the call. An event that may be stored makes the call's outcome unknown too
  // (the others, not stored, are as safe to retry with the same ids); "not stored" would be false for it.
  c.reject(stored === 0 ? unknown ?? first! : new PartialAppendError(c.results, errors));
}

function settle(c: Collector, index: number, status: number, partition: number, position: number, version: number): void {
  if (c.done) return;
  if (status === AckStatus.CONFLICT) {
    fail(c, index, new ConflictError(c.events[index].key, c.expected, version));
    return;
  }
  if (status === AckStatus.TOO_LARGE) {
    fail(c, index, new RingstoreError('RS_ERR_EVENT_TOO_LARGE', 'the event does not fit in the partition arena', { partition }));
    return;
  }
  if (status === AckStatus.DISK_FULL) {
    fail(c, index, new RingstoreError('RS_ERR_DISK_FULL', `partition ${partition}'s durable log is out of space: nothing was stored (retry later)`, { partition }));
    return;
  }
  if (status === AckStatus.IO_ERROR) {
    fail(c, index, new RingstoreError('RS_ERR_IO', `partition ${partition}'s durable log failed: nothing was stored; the partition takes no writes until the store is reopened`, { partition }));
    return;
  }
  if (status === AckStatus.IO_UNKNOWN) {
    fail(c, index, new RingstoreError('RS_ERR_IO_UNKNOWN', `partition ${partition}'s durable log failed to sync the append, and to cut it off again: the append may or may not have been stored; retry with the same idempotency id once the store is reopened (the partition takes no writes until then)`, { partition }));
    return;
  }
  if (status !== AckStatus.OK && status !== AckStatus.DUPLICATE) {
    // Not "stored": a status this build does not know (attach() refuses descriptors of other builds).
    fail(c, index, new RingstoreError('RS_ERR_WORKER', `partition ${partition}'s worker answered with ack status ${status}, which this build does not know: the outcome is unknown`, { partition, status }));
    return;
  }
  c.results[index] = { id: c.events[index].id, partition, position, version, duplicate: status === AckStatus.DUPLICATE };
  if (--c.remaining > 0) return;
  if (c.single) {
    c.done = true;
    c.resolve(c.results[0]);
  } else finish(c);
}
