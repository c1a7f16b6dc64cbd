import { Ctl, PartitionMemory } from './layout.js';
import { Rec, RecKind } from './record.js';

const TAIL = PartitionMemory.ctl(Ctl.IN_TAIL);
const HEAD = PartitionMemory.ctl(Ctl.IN_HEAD);
const SLEEPING = PartitionMemory.ctl(Ctl.SLEEPING);
const DOORBELL = PartitionMemory.ctl(Ctl.DOORBELL);

/**
 * Producer side of a partition's input ring: a many-to-one byte ring in the
 * style of Aeron's. Producers claim bytes with a CAS on IN_TAIL, write their
 * record with plain stores, then publish it with ONE `Atomics.store` of its
 * length word (record.ts). The worker consumes records in claim order
 * (input-reader.ts) and zeroes what it released, so an unpublished record
 * always reads as length 0.
 *
 * Invariants: `IN_TAIL - IN_HEAD <= inputBytes` (modulo 2^32); a claim never
 * wraps: when a record does not fit before the end of the ring, the claim
 * also takes the rest of the ring and fills it with a PAD record.
 */
export class InputWriter {
  readonly mem: PartitionMemory;
  private readonly i32: Int32Array;
  private readonly inI32: Int32Array;
  private readonly cap: number;
  private readonly mask: number;
  private readonly wakeThreshold: number;
  private wakeScheduled = false;

  constructor(mem: PartitionMemory) {
    this.mem = mem;
    this.i32 = mem.i32;
    this.inI32 = mem.inI32;
    this.cap = mem.geometry.inputBytes;
    this.mask = this.cap - 1;
    this.wakeThreshold = this.cap >> 4;
  }

  /**
   * Claims `bytes` contiguous bytes (a multiple of 8). Returns the byte offset
   * of the claim in the input ring, or -1 when the ring is full of records the
   * worker has not consumed yet. Lock-free: a failed CAS means another
   * producer made progress.
   */
  claim(bytes: number): number {
    const i32 = this.i32;
    const cap = this.cap;
    for (;;) {
      const tail = Atomics.load(i32, TAIL);
      const head = Atomics.load(i32, HEAD);
      const idx = tail & this.mask;
      const contiguous = cap - idx;
      const total = bytes <= contiguous ? bytes : contiguous + bytes;
      if (((tail - head) >>> 0) + total > cap) return -1;
      if (Atomics.compareExchange(i32, TAIL, tail, (tail + total) | 0) === tail) {
        if (total === bytes) return idx;
        // Pad the end of the ring; the real record starts at offset 0.
        const w = idx >> 2;
        this.inI32[w + Rec.KIND] = RecKind.PAD;
        Atomics.store(this.inI32, w + Rec.LENGTH, contiguous);
        return 0;
      }
    }
  }

  /** Publishes a record whose fields are written: its length word goes last. */
  publish(offset: number, length: number): void {
    Atomics.store(this.inI32, (offset >> 2) + Rec.LENGTH, length);
  }

  /**
   * Wakes the worker if it announced it is going to sleep. Call after
   * publishing. A notify is a system call, so a sleeping worker is woken at
   * once only when the ring is 1/16 full; otherwise once, at the end of the
   * current tick (a microtask). Only the producer that flips SLEEPING rings.
   */
  wake(): void {
    if (Atomics.load(this.i32, SLEEPING) !== 1) return;
    if (this.used() >= this.wakeThreshold) this.ring();
    else if (!this.wakeScheduled) {
      this.wakeScheduled = true;
      queueMicrotask(this.ringLater);
    }
  }

  private readonly ringLater = (): void => {
    this.wakeScheduled = false;
    this.ring();
  };

  /** Wakes the worker now if it sleeps (after reading acks it was stalled on). */
  wakeNow(): void {
    this.ring();
  }

  private ring(): void {
    if (Atomics.compareExchange(this.i32, SLEEPING, 1, 0) === 1) {
      Atomics.add(this.i32, DOORBELL, 1);
      Atomics.notify(this.i32, DOORBELL);
    }
  }

  /** Counts a tryAppend refused because the ring was full. */
  countRefused(): void {
    this.mem.countRefused();
  }

  /** Bytes currently claimed and not yet released by the worker. */
  used(): number {
    return (Atomics.load(this.i32, TAIL) - Atomics.load(this.i32, HEAD)) >>> 0;
  }
}
