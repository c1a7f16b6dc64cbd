/**
 * Consumer side of a partition's input ring (the producer side is
 * input-writer.ts, the record framing record.ts). Only the partition worker
 * reads: records in claim order, each once its length word is published.
 *
 * Invariants:
 * - `head` is the cursor after the last record of the last commit point;
 *   bytes before it are released (zeroed, then IN_HEAD stored), so an
 *   unpublished record always reads as length 0.
 * - A drain never reads more than one ring of bytes past `head`: consumed
 *   bytes are zeroed only at release, so going further would read this
 *   drain's first record again.
 * - Release happens only after the commit point: a worker that dies before
 *   it re-reads the records from the committed cursor (recovery).
 */
import { Ctl, PartitionMemory } from './layout.js';
import { Rec } from './record.js';

const C_IN_HEAD = PartitionMemory.ctl(Ctl.IN_HEAD);

export class InputReader {
  private readonly mem: PartitionMemory;
  private readonly inI32: Int32Array;
  readonly mask: number;
  readonly capacity: number;
  /** Cursor after the last released record (modulo 2^32). */
  head = 0;

  constructor(mem: PartitionMemory) {
    this.mem = mem;
    this.inI32 = mem.inI32;
    this.capacity = mem.geometry.inputBytes;
    this.mask = this.capacity - 1;
  }

  /** Published length of the record at `cursor` (0: not published yet). */
  lengthAt(cursor: number): number {
    return Atomics.load(this.inI32, ((cursor & this.mask) >> 2) + Rec.LENGTH);
  }

  /** True when a published record waits at the head of the ring. */
  hasWork(): boolean {
    return this.lengthAt(this.head) !== 0;
  }

  /** Cursor after a batch of `count` records starting at `cursor`, or null if one is unpublished. */
  batchEnd(cursor: number, count: number): number | null {
    let at = cursor;
    for (let i = 0; i < count; i++) {
      const len = this.lengthAt(at);
      if (len === 0) return null;
      at = (at + len) | 0;
    }
    return at;
  }

  /** Zeroes the bytes in [head, to), then frees them for producers. */
  release(to: number): void {
    const from = this.head;
    const used = (to - from) >>> 0;
    if (used > 0) {
      const u8 = this.mem.inU8;
      const a = from & this.mask;
      if (a + used <= this.capacity) u8.fill(0, a, a + used);
      else {
        u8.fill(0, a, this.capacity);
        u8.fill(0, 0, a + used - this.capacity);
      }
    }
    this.head = to;
    Atomics.store(this.mem.i32, C_IN_HEAD, to);
  }

  /**
   * Moves both cursors to `cursor` on an empty ring (a durable partition
   * replaying its log at start, before any producer appends).
   */
  reset(cursor: number): void {
    this.head = cursor;
    Atomics.store(this.mem.i32, C_IN_HEAD, cursor);
    Atomics.store(this.mem.i32, PartitionMemory.ctl(Ctl.IN_TAIL), cursor);
  }

  /**
   * After a restart: the committed cursor is `committed`. Bytes between the
   * last release and it were consumed by a committed drain whose release did
   * not happen: zero and free them now.
   */
  recover(committed: number): void {
    this.head = Atomics.load(this.mem.i32, C_IN_HEAD);
    this.release(committed);
  }
}
