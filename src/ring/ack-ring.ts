/**
 * The ack rings: how a partition worker tells each producer what became of
 * its `append()` records. One single-producer single-consumer ring per
 * (partition, producer slot): the worker writes entries, the producer reads
 * them. Entries are `[ticket, status, position, version]` (Float64).
 *
 * ```
 * header line 0 (producer): [0] head   [1] next ticket
 * header line 1 (worker):   [16] tail
 * entries: ackCapacity × 4 Float64
 * ```
 *
 * Invariants (checked by test/stress):
 * - Full and empty differ: at most `capacity - 1` unread entries. The worker
 *   checks room before it takes on a record that needs an ack (it leaves the
 *   record in the input ring until the producer reads), so an ack is never
 *   overwritten; the producer keeps at most `capacity - 1` tickets
 *   outstanding, so it never waits on itself.
 * - Acks are written before the commit point that makes them true. The
 *   producer settles OK and DUPLICATE entries only when their position is
 *   below the committed tail (Ctl.TAIL_HI/TAIL_LO); a worker that dies before its
 *   commit point re-commits the same records to the same positions and
 *   versions (the committer is deterministic from the committed state), and
 *   a partition that fails for good rejects what was never committed.
 * - Tickets never restart: the next ticket lives in shared memory with the
 *   slot, so a reused producer slot cannot be handed an earlier owner's ack.
 *   A ticket with no pending call (a re-sent ack) is skipped.
 */
import { ControlMemory, LINE_INTS, PartitionMemory } from './layout.js';

export const ACK_FIELDS = 4;
/**
 * An ack's outcome. DISK_FULL and IO_ERROR: the durable log refused the append, nothing was stored;
 * IO_UNKNOWN: the sync of the append's frame failed and so did cutting it off again (segment-log.ts):
 * a reopen may or may not replay it.
 */
export const AckStatus = { OK: 1, DUPLICATE: 2, CONFLICT: 3, TOO_LARGE: 4, DISK_FULL: 5, IO_ERROR: 6, IO_UNKNOWN: 7 } as const;

const HEAD = 0;
const NEXT_TICKET = 1;
const TAIL = LINE_INTS;

/** Int32 view of producer `p`'s ack ring header. */
function header(mem: PartitionMemory, p: number): Int32Array {
  return new Int32Array(mem.sab, mem.offsets.acks + p * mem.offsets.ackStride, 2 * LINE_INTS);
}

/** Float64 entries of producer `p`'s ack ring. */
function entries(mem: PartitionMemory, p: number): Float64Array {
  return new Float64Array(mem.sab, mem.offsets.acks + p * mem.offsets.ackStride + 2 * LINE_INTS * 4, mem.geometry.ackCapacity * ACK_FIELDS);
}

/** Worker side: writes acks into every producer's ring of one partition, then rings their bells. */
export class AckRingWriter {
  private readonly headers: Int32Array[] = [];
  private readonly rings: Float64Array[] = [];
  private readonly tails: Int32Array;
  private readonly touched: Uint8Array;
  private readonly cap: number;
  private readonly ctl: ControlMemory;

  constructor(mem: PartitionMemory, ctl: ControlMemory) {
    const n = mem.geometry.maxProducers;
    this.cap = mem.geometry.ackCapacity;
    this.ctl = ctl;
    this.tails = new Int32Array(n);
    this.touched = new Uint8Array(n);
    for (let p = 0; p < n; p++) {
      this.headers.push(header(mem, p));
      this.rings.push(entries(mem, p));
      this.tails[p] = Atomics.load(this.headers[p], TAIL);
    }
  }

  /** Entries producer `p`'s ring can take now (only grows while the producer reads). */
  room(p: number): number {
    const used = (this.tails[p] - Atomics.load(this.headers[p], HEAD) + this.cap) % this.cap;
    return this.cap - 1 - used;
  }

  /** Writes one ack; the caller checked {@link room}. */
  write(p: number, ticket: number, status: number, position: number, version: number): void {
    const e = this.rings[p];
    const tail = this.tails[p];
    const o = tail * ACK_FIELDS;
    e[o] = ticket;
    e[o + 1] = status;
    e[o + 2] = position;
    e[o + 3] = version;
    const next = tail + 1 === this.cap ? 0 : tail + 1;
    this.tails[p] = next;
    Atomics.store(this.headers[p], TAIL, next);
    this.touched[p] = 1;
  }

  /**
   * After a drain was rolled back in place (its log write failed): every
   * unread OK or DUPLICATE ack at or past the committed tail now says
   * `status` instead, so no producer settles it once other events take those
   * positions. A producer reading concurrently sees either status; it never
   * consumes the old one (its position is not committed).
   */
  invalidateFrom(committedTail: number, status: number): void {
    for (let p = 0; p < this.rings.length; p++) {
      const e = this.rings[p];
      const head = Atomics.load(this.headers[p], HEAD);
      for (let i = head; i !== this.tails[p]; i = i + 1 === this.cap ? 0 : i + 1) {
        const o = i * ACK_FIELDS;
        if ((e[o + 1] === AckStatus.OK || e[o + 1] === AckStatus.DUPLICATE) && e[o + 2] >= committedTail) {
          e[o + 1] = status;
          this.touched[p] = 1;
        }
      }
    }
  }

  /** Rings the bell of every producer that got acks since the last call. */
  notify(): void {
    const t = this.touched;
    for (let p = 0; p < t.length; p++) {
      if (t[p] === 0) continue;
      t[p] = 0;
      ringBell(this.ctl, p);
    }
  }

  /** Rings every producer's bell (state changes: stopped, failed, recovered). */
  notifyAll(): void {
    for (let p = 0; p < this.touched.length; p++) ringBell(this.ctl, p);
  }
}

/** Wakes producer `p`'s ack pump. */
export function ringBell(ctl: ControlMemory, p: number): void {
  const bell = ctl.bellIndex(p);
  Atomics.add(ctl.i32, bell, 1);
  Atomics.notify(ctl.i32, bell);
}

/** Producer side: one partition's ack ring of one producer slot. */
export class AckRingReader {
  readonly capacity: number;
  private readonly hdr: Int32Array;
  private readonly e: Float64Array;
  private readonly mem: PartitionMemory;

  constructor(mem: PartitionMemory, p: number) {
    this.capacity = mem.geometry.ackCapacity;
    this.hdr = header(mem, p);
    this.e = entries(mem, p);
    this.mem = mem;
  }

  /** The next ticket of this slot (persisted, so a later owner of the slot continues the sequence). */
  nextTicket(): number {
    return this.nextTickets(1);
  }

  /**
   * A run of `n` consecutive tickets (int32 arithmetic: a run may cross from
   * 2^31 - 1 to -2^31), for the `n` records of one claim; returns the first.
   * No ticket of a run is 0 ("no ticket" in records): a run that would hold
   * it starts at 1 instead. `n` is at most the ack ring's capacity.
   */
  nextTickets(n: number): number {
    let first = (this.hdr[NEXT_TICKET] + 1) | 0;
    if (first === 0) first = 1;
    let last = (first + n - 1) | 0;
    // Only a run starting below 0 can reach 0 (one from above wraps to -2^31, past it).
    if (first < 0 && last >= 0) {
      first = 1;
      last = n;
    }
    this.hdr[NEXT_TICKET] = last;
    return first;
  }

  /** Unread entries (including re-sent acks nobody waits for). */
  unread(): number {
    return (Atomics.load(this.hdr, TAIL) - Atomics.load(this.hdr, HEAD) + this.capacity) % this.capacity;
  }

  /** Skips every unread entry (a new owner of the slot starts from an empty ring). */
  skipAll(): void {
    Atomics.store(this.hdr, HEAD, Atomics.load(this.hdr, TAIL));
  }

  /**
   * Visits unread entries in order and consumes them. Stops at an OK or
   * DUPLICATE entry whose position is not committed yet (it stays unread).
   * Returns the number of entries consumed.
   */
  drain(visit: (ticket: number, status: number, position: number, version: number) => void): number {
    const hdr = this.hdr;
    const head = Atomics.load(hdr, HEAD);
    const tail = Atomics.load(hdr, TAIL);
    if (head === tail) return 0;
    const committed = this.mem.committedTail();
    const cap = this.capacity;
    const e = this.e;
    let i = head;
    let n = 0;
    while (i !== tail) {
      const o = i * ACK_FIELDS;
      const status = e[o + 1];
      const position = e[o + 2];
      if ((status === AckStatus.OK || status === AckStatus.DUPLICATE) && position >= committed) break;
      visit(e[o], status, position, e[o + 3]);
      i = i + 1 === cap ? 0 : i + 1;
      n++;
    }
    if (n > 0) Atomics.store(hdr, HEAD, i);
    return n;
  }
}
