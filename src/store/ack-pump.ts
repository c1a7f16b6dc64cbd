/**
 * The producer's side of the ack rings: which append() calls wait for which
 * ticket, per partition, and the wait on the producer's bell that settles
 * them as partition workers write acks. Also wakes callers waiting for ring
 * space or ack slots (space frees as acks are read).
 */
import { ClosedError, ConflictError } from '../errors.js';
import { ACK_FIELDS, AckStatus, type ControlMemory, type PartitionMemory } from '../ring/layout.js';
import type { AppendResult } from './types.js';

/** How often a waiting producer re-checks its acks without a notify. */
const ACK_POLL_MS = 20;
/** Idle poll ticks (no acks pending) before the poll timer is dropped: about a second. */
const IDLE_TICKS = 50;

/** The results of one append() call, settled as its acks arrive. */
export interface Collector {
  results: AppendResult[];
  remaining: number;
  done: boolean;
  single: boolean;
  resolve: (value: AppendResult | AppendResult[]) => void;
  reject: (err: Error) => void;
}

interface Pending {
  collector: Collector;
  index: number;
  id: string;
  key: string;
  expected: number;
}

/** One partition's ack ring for this producer, and the tickets waiting on it. */
interface AckLane {
  readonly header: Int32Array;
  readonly entries: Float64Array;
  readonly capacity: number;
  ticket: number;
  readonly pending: Map<number, Pending>;
}

/** Tracks the tickets of one producer and settles them from its ack rings. */
export class AckPump {
  private readonly lanes: AckLane[];
  private readonly bell: number;
  private readonly i32: Int32Array;
  private total = 0;
  private pumping = false;
  private closed = false;
  private idleTicks = 0;
  /** Poll timer; also what keeps the process alive while acks are pending (see start()). */
  private poll: ReturnType<typeof setInterval> | undefined;
  private spaceWaiters: (() => void)[] = [];

  constructor(mems: readonly PartitionMemory[], ctl: ControlMemory, producerId: number) {
    this.lanes = mems.map((mem) => ({
      header: mem.ackHeader(producerId),
      entries: mem.ackEntries(producerId),
      capacity: mem.geometry.ackCapacity,
      ticket: 0,
      pending: new Map(),
    }));
    this.bell = ctl.bellIndex(producerId);
    this.i32 = ctl.i32;
  }

  /** Appends pending a commit, over all partitions. */
  get pending(): number {
    return this.total;
  }

  /** Whether `acks` more tickets fit in partition `p`'s ack ring. */
  hasRoom(p: number, acks: number): boolean {
    const lane = this.lanes[p];
    return lane.pending.size + acks <= lane.capacity;
  }

  /** Registers result `index` of `collector` as waiting on partition `p`; returns its ticket. */
  track(p: number, collector: Collector, index: number, id: string, key: string, expected: number): number {
    const lane = this.lanes[p];
    lane.ticket = (lane.ticket + 1) | 0;
    lane.pending.set(lane.ticket, { collector, index, id, key, expected });
    this.total++;
    this.start();
    return lane.ticket;
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

  /** Rejects everything pending with `reason`; later waits end at once. */
  close(reason: Error = new ClosedError('the store was closed while the append was pending')): void {
    if (this.closed) return;
    this.closed = true;
    for (const lane of this.lanes) {
      for (const p of lane.pending.values()) {
        if (!p.collector.done) {
          p.collector.done = true;
          p.collector.reject(reason);
        }
      }
      lane.pending.clear();
    }
    this.total = 0;
    this.releaseSpaceWaiters();
    clearInterval(this.poll);
    this.poll = undefined;
    // End a wait in progress, so the pump (and what it holds) is not left waiting forever.
    this.ring();
  }

  private ring(): void {
    Atomics.add(this.i32, this.bell, 1);
    Atomics.notify(this.i32, this.bell);
  }

  private start(): void {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    // Atomics.waitAsync does not keep the process alive by itself: the poll timer is ref'd
    // while acks are pending. It also re-rings the bell every ACK_POLL_MS, in place of a wait
    // timeout (on Node 20 a timed waitAsync costs a libuv timer per call, ~10 µs per wake-up,
    // measured), so acks are still seen if a notify is ever missed. Kept across waits (a timer
    // per wait would cost what the timeout did), dropped after about a second idle.
    this.poll ??= setInterval(() => {
      if (this.pumping) {
        this.idleTicks = 0;
        this.ring();
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
      while (!this.closed && (this.total > 0 || this.spaceWaiters.length > 0)) {
        const seen = Atomics.load(this.i32, this.bell);
        this.drain();
        this.releaseSpaceWaiters();
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

  /** Settles every ack the workers wrote for this producer. */
  private drain(): void {
    for (let p = 0; p < this.lanes.length; p++) {
      const lane = this.lanes[p];
      if (lane.pending.size === 0) continue;
      const hdr = lane.header;
      const head = Atomics.load(hdr, 0);
      const tail = Atomics.load(hdr, 16);
      const cap = lane.capacity;
      const e = lane.entries;
      for (let i = head; i !== tail; i = (i + 1) % cap) {
        const o = i * ACK_FIELDS;
        const ticket = e[o] | 0;
        const pending = lane.pending.get(ticket);
        if (pending === undefined) continue; // a re-sent ack after a worker restart
        lane.pending.delete(ticket);
        this.total--;
        settle(pending, e[o + 1], p, e[o + 2], e[o + 3]);
      }
      Atomics.store(hdr, 0, tail);
    }
  }
}

function settle(p: Pending, status: number, partition: number, position: number, version: number): void {
  const c = p.collector;
  if (c.done) return;
  if (status === AckStatus.CONFLICT) {
    c.done = true;
    c.reject(new ConflictError(p.key, p.expected, version));
    return;
  }
  c.results[p.index] = { id: p.id, partition, position, version, duplicate: status === AckStatus.DUPLICATE };
  if (--c.remaining === 0) {
    c.done = true;
    c.resolve(c.single ? c.results[0] : c.results);
  }
}
