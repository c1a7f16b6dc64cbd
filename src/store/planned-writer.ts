/**
 * Claims room for an append() call's planned events and writes them: one
 * claim for a conditional batch or a one-partition batch (its records are
 * adjacent), otherwise a claim per event. How it waits for room is the
 * caller's (the producer queues the call, see append-queue.ts).
 */
import { invalidArgument } from '../errors.js';
import type { InputWriter } from '../ring/input-writer.js';
import { DRAIN_MAX_RECORDS, type PartitionMemory } from '../ring/layout.js';
import { RecFlag } from '../ring/record.js';
import { partitionGone, type AckPump, type Collector } from './ack-pump.js';
import type { EventEncoder, Planned } from './event-encoder.js';

export interface Lane {
  /** The partition. */
  index: number;
  writer: InputWriter;
  mem: PartitionMemory;
}

/** Waits until `bytes` (with `acks` ack slots) can be claimed in the lane; resolves with the claim's offset. */
export type WaitForRoom = (lane: Lane, bytes: number, acks: number) => Promise<number>;

export class PlannedWriter<T> {
  constructor(
    private readonly lanes: Lane[],
    private readonly acks: AckPump,
    private readonly enc: EventEncoder<T>,
  ) {}

  /** Claims and writes the records of a planned call; `wait` is how it waits for room. */
  async write(plan: Planned[], collector: Collector, expected: number | undefined, wait: WaitForRoom): Promise<void> {
    const enc = this.enc;
    if (expected !== undefined) {
      // All-or-nothing: one claim, the first record carries the batch size and the precondition.
      const lane = this.lanes[plan[0].partition];
      const total = plan.reduce((n, p) => n + p.need, 0);
      if (total > lane.mem.geometry.inputBytes / 2) {
        throw invalidArgument('a conditional batch must fit in half of a partition input ring; split it');
      }
      let off = this.tryClaim(lane, total, plan.length);
      if (off < 0) off = await wait(lane, total, plan.length);
      let at = off;
      const first = this.acks.trackRange(lane.index, collector, 0, plan.length);
      for (let i = 0; i < plan.length; i++) {
        const p = plan[i];
        enc.restore(p);
        const flags = RecFlag.ACK | (i === 0 ? RecFlag.EXPECTED : 0) | (p.caller ? RecFlag.CALLER_ID : 0);
        enc.write(lane.mem, at, p.need, flags, (first + i) | 0, i === 0 ? plan.length : 0, expected, p.id, p.vals, p.valsAt);
        at += p.need;
      }
      lane.writer.wake();
      return;
    }
    // A batch for one partition (one key, say) that fits takes one claim: its records are adjacent in the
    // ring, so its events get consecutive positions and versions even while producers on other threads
    // append to that partition. Each record is still its own (batch 1, no precondition).
    const single = plan.length > 1 && plan.length <= DRAIN_MAX_RECORDS && plan.every((p) => p.partition === plan[0].partition);
    const total = single ? plan.reduce((n, p) => n + p.need, 0) : 0;
    if (single && total <= this.lanes[plan[0].partition].mem.geometry.inputBytes / 2) {
      const lane = this.lanes[plan[0].partition];
      let at = this.tryClaim(lane, total, plan.length);
      if (at < 0) at = await wait(lane, total, plan.length);
      // One ticket run for the claim (tryClaim checked the ack room for all of it).
      const first = this.acks.trackRange(lane.index, collector, 0, plan.length);
      for (let i = 0; i < plan.length; i++) {
        const p = plan[i];
        enc.restore(p);
        enc.write(lane.mem, at, p.need, RecFlag.ACK | (p.caller ? RecFlag.CALLER_ID : 0), (first + i) | 0, 1, -1, p.id, p.vals, p.valsAt);
        at += p.need;
      }
      lane.writer.wake();
      return;
    }
    if (plan.length === 1) {
      // One event: what the loop below does, without its bookkeeping (tryClaim checks that the partition runs).
      const p = plan[0];
      const lane = this.lanes[p.partition];
      let off = this.tryClaim(lane, p.need, 1);
      if (off < 0) off = await wait(lane, p.need, 1);
      enc.restore(p);
      const ticket = this.acks.track(lane.index, collector, 0);
      enc.write(lane.mem, off, p.need, RecFlag.ACK | (p.caller ? RecFlag.CALLER_ID : 0), ticket, 1, -1, p.id, p.vals, p.valsAt);
      lane.writer.wake();
      return;
    }
    // Every partition the call touches must be running before anything is written: a call that finds
    // one stopped or failed stores nothing. (One that fails after this rejects with PartialAppendError.)
    const used = new Uint8Array(this.lanes.length);
    for (let i = 0; i < plan.length; i++) used[plan[i].partition] = 1;
    for (let p = 0; p < used.length; p++) {
      const gone = used[p] === 1 ? partitionGone(this.lanes[p].mem, p) : undefined;
      if (gone !== undefined) throw gone;
    }
    // Claim synchronously while there is room (no await per event), and wake each partition once.
    const touched = new Set<Lane>();
    for (let i = 0; i < plan.length; i++) {
      const p = plan[i];
      const lane = this.lanes[p.partition];
      let off = this.tryClaim(lane, p.need, 1);
      if (off < 0) {
        for (const l of touched) l.writer.wake();
        touched.clear();
        off = await wait(lane, p.need, 1);
      }
      enc.restore(p);
      const ticket = this.acks.track(lane.index, collector, i);
      enc.write(lane.mem, off, p.need, RecFlag.ACK | (p.caller ? RecFlag.CALLER_ID : 0), ticket, 1, -1, p.id, p.vals, p.valsAt);
      touched.add(lane);
    }
    for (const l of touched) l.writer.wake();
  }

  /** A claim that succeeds now or returns -1 (ring full, or too many acks outstanding). */
  tryClaim(lane: Lane, bytes: number, acks: number): number {
    const gone = partitionGone(lane.mem, lane.index);
    if (gone !== undefined) throw gone;
    if (!this.acks.hasRoom(lane.index, acks)) return -1;
    return lane.writer.claim(bytes);
  }

  /** Polls for room (and ack slots) until the claim succeeds. */
  async claimWithAcks(lane: Lane, bytes: number, acks: number): Promise<number> {
    for (;;) {
      const off = this.tryClaim(lane, bytes, acks);
      if (off >= 0) return off;
      await this.acks.waitForSpace();
    }
  }
}
